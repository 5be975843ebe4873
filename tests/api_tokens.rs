//! JSON API tokens (SECURITY.md §API tokens): what a token is bound to,
//! every missing, malformed, forged or expired token, revocation by
//! signing out, disabling or deleting, and tokens and session cookies each
//! staying on their own side (JSON and HTML forms).

use crate::common;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::json_api::*;
use common::*;
use groundwork::api::token::Claims;
use groundwork::api::TokenKeys;
use rocket::http::{ContentType, Header, Method, Status};
use serde_json::json;

const BASE_URL: &str = "http://localhost:8000";

fn claims_of(token: &str) -> Claims {
    let payload = token.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("claims")
}

fn keys(app: &TestApp) -> TokenKeys {
    TokenKeys::from_figment(&app.figment(), BASE_URL)
}

#[rocket::async_test]
async fn json_login_returns_a_token_bound_to_an_api_session() {
    let app = TestApp::spawn_for_members().await;
    let (id, token) = user_with_token(&app, "alice", false).await;
    let claims = claims_of(&token);
    assert_eq!(claims.iss, BASE_URL);
    assert_eq!(claims.aud, "groundwork-api");
    assert_eq!(claims.sub, id.to_string());
    assert!(claims.exp > claims.iat && claims.exp - claims.iat <= 15 * 60);
    let kind = app
        .text(&format!(
            "SELECT kind FROM sessions WHERE id = {}",
            claims.sid
        ))
        .await;
    assert_eq!(kind.as_deref(), Some("api"));
    let r = me(&app.client, &token).await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.json()["username"], "alice");
    assert_eq!(r.json()["email_verified"], false);
}

#[rocket::async_test]
async fn missing_malformed_unsigned_forged_and_expired_tokens_get_401() {
    let app = TestApp::spawn_for_members().await;
    let (_, token) = user_with_token(&app, "alice", false).await;
    let claims = claims_of(&token);
    let keys = keys(&app);

    let r = app.api(Method::Get, "/me").send().await;
    assert_json_error(&r, Status::Unauthorized, "unauthorized");
    for bad in ["", "garbage", "a.b.c", "Bearer", &token[..token.len() - 4]] {
        assert_json_error(
            &me(&app.client, bad).await,
            Status::Unauthorized,
            "unauthorized",
        );
    }
    let r = get_with(
        &app.client,
        "/me",
        &[("Authorization", &format!("Basic {token}"))],
    )
    .await;
    assert_eq!(r.status, Status::Unauthorized);

    // alg: none, with the real claims and no signature.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = token.split('.').nth(1).unwrap();
    for unsigned in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert_json_error(
            &me(&app.client, &unsigned).await,
            Status::Unauthorized,
            "unauthorized",
        );
    }
    // Another algorithm, even with the right key.
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"whatever"),
    )
    .unwrap();
    assert_json_error(
        &me(&app.client, &hs512).await,
        Status::Unauthorized,
        "unauthorized",
    );
    // A bad signature: the same claims signed with another key.
    let forged = TokenKeys::from_key(b"not the site's key", BASE_URL)
        .sign(&claims)
        .unwrap();
    assert_json_error(
        &me(&app.client, &forged).await,
        Status::Unauthorized,
        "unauthorized",
    );
    // Tampered claims under the original signature.
    let mut parts: Vec<&str> = token.split('.').collect();
    let mut other = claims.clone();
    other.sub = "999".into();
    let tampered_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
    parts[1] = &tampered_payload;
    assert_json_error(
        &me(&app.client, &parts.join(".")).await,
        Status::Unauthorized,
        "unauthorized",
    );
    // Expired, though well signed and bound to a live session.
    let mut expired = claims.clone();
    expired.iat -= 3600;
    expired.exp = groundwork::db::now() - 1;
    let expired = keys.sign(&expired).unwrap();
    assert_json_error(
        &me(&app.client, &expired).await,
        Status::Unauthorized,
        "unauthorized",
    );
    // Wrong audience or issuer.
    let mut aud = claims.clone();
    aud.aud = "another-api".into();
    let aud = keys.sign(&aud).unwrap();
    assert_json_error(
        &me(&app.client, &aud).await,
        Status::Unauthorized,
        "unauthorized",
    );
    let elsewhere = TokenKeys::from_figment(&app.figment(), "https://elsewhere.example");
    let mut iss = claims.clone();
    iss.iss = "https://elsewhere.example".into();
    let iss = elsewhere.sign(&iss).unwrap();
    assert_json_error(
        &me(&app.client, &iss).await,
        Status::Unauthorized,
        "unauthorized",
    );

    // The real token still works: nothing above was refused by accident.
    assert_eq!(me(&app.client, &token).await.status, Status::Ok);
}

#[rocket::async_test]
async fn signing_out_revokes_the_token_at_once() {
    let app = TestApp::spawn_for_members().await;
    let (_, token) = user_with_token(&app, "alice", false).await;
    let (_, other) = user_with_token(&app, "bob", false).await;
    let r = app.api(Method::Post, "/logout").token(&token).send().await;
    assert_eq!(r.status, Status::NoContent, "{}", r.body);
    assert_json_error(
        &me(&app.client, &token).await,
        Status::Unauthorized,
        "unauthorized",
    );
    let r = app.api(Method::Post, "/logout").token(&token).send().await;
    assert_json_error(&r, Status::Unauthorized, "unauthorized");
    // Only that session ended.
    assert_eq!(me(&app.client, &other).await.status, Status::Ok);
}

#[rocket::async_test]
async fn signing_out_everywhere_from_the_profile_revokes_tokens() {
    let app = TestApp::spawn_for_members().await;
    let email = app.signed_in_user("alice").await;
    let token = token_for(&app.client, &email).await;
    assert_eq!(me(&app.client, &token).await.status, Status::Ok);
    let r = app.submit("/profile", "/sessions/end-others", &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_json_error(
        &me(&app.client, &token).await,
        Status::Unauthorized,
        "unauthorized",
    );
    // The browser that pressed the button is still signed in.
    assert_eq!(app.get("/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn disabling_or_deleting_the_user_revokes_their_tokens() {
    let app = TestApp::spawn_for_members().await;
    let (admin_id, admin_token) = user_with_token(&app, "boss", true).await;
    let (alice, token) = user_with_token(&app, "alice", false).await;
    let actor = groundwork::audit::Actor {
        id: admin_id,
        name: "boss".into(),
        ip: "127.0.0.1".into(),
    };
    groundwork::admin::actions::set_disabled(&app.db, &actor, alice, true)
        .await
        .unwrap();
    assert_json_error(
        &me(&app.client, &token).await,
        Status::Unauthorized,
        "unauthorized",
    );
    // Re-enabling does not bring an old token back, and a disabled user's
    // row alone (sessions kept) would not pass either.
    groundwork::admin::actions::set_disabled(&app.db, &actor, alice, false)
        .await
        .unwrap();
    assert_eq!(me(&app.client, &token).await.status, Status::Unauthorized);
    let token = token_for(&app.client, "alice@example.org").await;
    app.exec(&format!("UPDATE users SET disabled = 1 WHERE id = {alice}"))
        .await;
    assert_eq!(me(&app.client, &token).await.status, Status::Unauthorized);
    app.exec(&format!("UPDATE users SET disabled = 0 WHERE id = {alice}"))
        .await;
    assert_eq!(me(&app.client, &token).await.status, Status::Ok);

    // Deleted through the API by the admin: the token dies with the account.
    let r = app
        .api(Method::Delete, &format!("/user/{alice}"))
        .token(&admin_token)
        .send()
        .await;
    assert_eq!(r.status, Status::NoContent);
    assert_json_error(
        &me(&app.client, &token).await,
        Status::Unauthorized,
        "unauthorized",
    );
}

#[rocket::async_test]
async fn a_disabled_user_cannot_get_a_token() {
    let app = TestApp::spawn_for_members().await;
    let (alice, _) = user_with_token(&app, "alice", false).await;
    app.exec(&format!("UPDATE users SET disabled = 1 WHERE id = {alice}"))
        .await;
    let body = json!({"email": "alice@example.org", "password": PASSWORD}).to_string();
    let r = app.api(Method::Post, "/login").json(&body).send().await;
    assert_json_error(&r, Status::Forbidden, "account_disabled");
}

#[rocket::async_test]
async fn a_session_cookie_alone_never_authorizes_a_json_request() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("boss").await;
    app.exec("UPDATE users SET role = 'admin' WHERE username = 'boss'")
        .await;
    // The browser is signed in as an admin; its JSON requests still need a token.
    for (method, uri, body) in [
        (Method::Get, "/me", None),
        (Method::Get, "/users", None),
        (Method::Put, "/update-profile", Some(r#"{"bio":"x"}"#)),
        (Method::Delete, "/user/1", None),
        (Method::Post, "/logout", Some("{}")),
    ] {
        let mut req = app.api(method, uri);
        if let Some(body) = body {
            req = req.json(body);
        }
        let r = req.send().await;
        assert_json_error(&r, Status::Unauthorized, "unauthorized");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(app.get("/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn a_bearer_token_never_authorizes_an_html_form() {
    let app = TestApp::spawn_for_members().await;
    let (alice, token) = user_with_token(&app, "alice", false).await;
    let anonymous = app.another_browser().await;
    let bearer = format!("Bearer {token}");
    // A profile form with a token and no session: refused, nothing saved.
    let r = anonymous
        .put("/update-profile")
        .header(ContentType::Form)
        .header(Header::new("Authorization", bearer.clone()))
        .body(encode(&[
            ("display_name", "Hacked"),
            ("bio", ""),
            ("avatar_url", ""),
        ]))
        .dispatch()
        .await;
    assert!(r.status().code >= 300 && r.status() != Status::Ok);
    // Sign-out and deletion forms with the token: the token's session lives on.
    let r = post_raw(&anonymous, "/logout", &[], &[("Authorization", &bearer)]).await;
    assert_ne!(r.status, Status::NoContent);
    let r = post_raw(
        &anonymous,
        &format!("/user/{alice}"),
        &[("_method", "delete")],
        &[("Authorization", &bearer)],
    )
    .await;
    assert_ne!(r.status, Status::NoContent);
    let r = post_raw(
        &anonymous,
        "/account/delete",
        &[("password", PASSWORD)],
        &[("Authorization", &bearer)],
    )
    .await;
    assert_ne!(r.location(), Some("/"));
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM users WHERE id = {alice}"))
            .await,
        1
    );
    assert_eq!(
        app.text(&format!(
            "SELECT display_name FROM users WHERE id = {alice}"
        ))
        .await
        .as_deref(),
        Some("")
    );
    assert_eq!(me(&app.client, &token).await.status, Status::Ok);
}

#[rocket::async_test]
async fn api_sessions_are_listed_on_the_profile() {
    let app = TestApp::spawn_for_members().await;
    let email = app.signed_in_user("alice").await;
    token_for(&app.another_browser().await, &email).await;
    let page = app.get("/profile").await;
    assert!(page.body.contains("API token"), "{}", page.body);
}
