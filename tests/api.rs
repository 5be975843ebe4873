//! The JSON API: the seed's four paths serving HTML and JSON side by side,
//! every bearer-token case of SECURITY.md §API tokens, the JSON error
//! statuses, shared sign-in limits, and CORS.

mod common;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use groundwork::api::token::Claims;
use groundwork::api::TokenKeys;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

const BASE_URL: &str = "http://localhost:8000";

async fn spawn() -> TestApp {
    TestApp::spawn_with(|f| f.merge(("signups_per_address_per_hour", 100))).await
}

/// Sign `username` up through the form (in its own browser), optionally as
/// an admin, and get a token for them through `POST /login`.
async fn user_with_token(app: &TestApp, username: &str, admin: bool) -> (i64, String) {
    let browser = app.another_browser().await;
    let email = format!("{username}@example.org");
    let r = signup(&browser, username, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    if admin {
        app.exec(&format!(
            "UPDATE users SET role = 'admin' WHERE username = '{username}'"
        ))
        .await;
    }
    let id = app
        .scalar(&format!(
            "SELECT id FROM users WHERE username = '{username}'"
        ))
        .await;
    (id, token_for(&app.client, &email).await)
}

async fn token_for(client: &Client, email: &str) -> String {
    let body = json!({"email": email, "password": PASSWORD}).to_string();
    let r = api(client, Method::Post, "/login", None, Some(&body), &[]).await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    r.json()["token"].as_str().expect("a token").to_string()
}

async fn me(client: &Client, token: &str) -> Resp {
    api(client, Method::Get, "/me", Some(token), None, &[]).await
}

/// The response is a JSON error with this status and code.
fn assert_json_error(r: &Resp, status: Status, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "not JSON: {:?} {}",
        r.header("content-type"),
        r.body
    );
    let v = r.json();
    assert_eq!(v["error"], code, "{}", r.body);
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
}

fn claims_of(token: &str) -> Claims {
    let payload = token.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("claims")
}

fn keys(app: &TestApp) -> TokenKeys {
    TokenKeys::from_figment(&app.figment(), BASE_URL)
}

#[rocket::async_test]
async fn json_login_returns_a_token_bound_to_an_api_session() {
    let app = spawn().await;
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
async fn the_four_seed_paths_serve_html_and_json_side_by_side() {
    let app = spawn().await;
    let (_, admin_token) = user_with_token(&app, "boss", true).await;
    let (carol, carol_token) = user_with_token(&app, "carol", false).await;

    // POST /login: the form signs a browser in, JSON returns a token.
    let r = login(&app.client, "boss@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.set_cookie("gw_session").is_some());
    let body = json!({"email": "boss@example.org", "password": PASSWORD}).to_string();
    let r = api(&app.client, Method::Post, "/login", None, Some(&body), &[]).await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.json()["token"].is_string());
    assert!(r.set_cookie("gw_session").is_none());

    // GET /users: a page for the signed-in admin's browser, JSON for the token.
    let r = get_with(&app.client, "/users", &[("Accept", "text/html")]).await;
    assert_eq!(r.status, Status::Ok);
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/html"));
    let r = api(
        &app.client,
        Method::Get,
        "/users",
        Some(&admin_token),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["total"], 2);

    // PUT /update-profile: the form, then JSON.
    let token = app.get("/profile").await.csrf();
    let r = app
        .client
        .put("/update-profile")
        .header(ContentType::Form)
        .body(encode(&[
            ("csrf_token", &token),
            ("display_name", "Boss"),
            ("bio", ""),
            ("avatar_url", ""),
        ]))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let body = json!({"display_name": "Carol C."}).to_string();
    let r = api(
        &app.client,
        Method::Put,
        "/update-profile",
        Some(&carol_token),
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["display_name"], "Carol C.");
    let names = app
        .text("SELECT display_name FROM users WHERE username = 'boss'")
        .await;
    assert_eq!(names.as_deref(), Some("Boss"));

    // DELETE /user/<id>: JSON here (the admin tests confirm the form).
    let r = api(
        &app.client,
        Method::Delete,
        &format!("/user/{carol}"),
        Some(&admin_token),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::NoContent, "{}", r.body);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM users WHERE id = {carol}"))
            .await,
        0
    );
    // ... and the form route is still there behind it.
    let r = app
        .post_raw(&format!("/user/{carol}"), &[("_method", "delete")])
        .await;
    assert_ne!(r.status, Status::NoContent);
    assert!(!r.header("content-type").unwrap_or("").contains("json"));
}

#[rocket::async_test]
async fn missing_malformed_unsigned_forged_and_expired_tokens_get_401() {
    let app = spawn().await;
    let (_, token) = user_with_token(&app, "alice", false).await;
    let claims = claims_of(&token);
    let keys = keys(&app);

    let r = api(&app.client, Method::Get, "/me", None, None, &[]).await;
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
    let app = spawn().await;
    let (_, token) = user_with_token(&app, "alice", false).await;
    let (_, other) = user_with_token(&app, "bob", false).await;
    let r = api(
        &app.client,
        Method::Post,
        "/logout",
        Some(&token),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::NoContent, "{}", r.body);
    assert_json_error(
        &me(&app.client, &token).await,
        Status::Unauthorized,
        "unauthorized",
    );
    let r = api(
        &app.client,
        Method::Post,
        "/logout",
        Some(&token),
        None,
        &[],
    )
    .await;
    assert_json_error(&r, Status::Unauthorized, "unauthorized");
    // Only that session ended.
    assert_eq!(me(&app.client, &other).await.status, Status::Ok);
}

#[rocket::async_test]
async fn signing_out_everywhere_from_the_profile_revokes_tokens() {
    let app = spawn().await;
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
    let app = spawn().await;
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
    let r = api(
        &app.client,
        Method::Delete,
        &format!("/user/{alice}"),
        Some(&admin_token),
        None,
        &[],
    )
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
    let app = spawn().await;
    let (alice, _) = user_with_token(&app, "alice", false).await;
    app.exec(&format!("UPDATE users SET disabled = 1 WHERE id = {alice}"))
        .await;
    let body = json!({"email": "alice@example.org", "password": PASSWORD}).to_string();
    let r = api(&app.client, Method::Post, "/login", None, Some(&body), &[]).await;
    assert_json_error(&r, Status::Forbidden, "account_disabled");
}

#[rocket::async_test]
async fn a_session_cookie_alone_never_authorizes_a_json_request() {
    let app = spawn().await;
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
        let r = api(&app.client, method, uri, None, body, &[]).await;
        assert_json_error(&r, Status::Unauthorized, "unauthorized");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(app.get("/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn a_bearer_token_never_authorizes_an_html_form() {
    let app = spawn().await;
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
async fn json_errors_have_the_right_status_and_shape() {
    let app = spawn().await;
    let (boss, admin) = user_with_token(&app, "boss", true).await;
    let (alice, user) = user_with_token(&app, "alice", false).await;
    let (bob, _) = user_with_token(&app, "bob", false).await;
    let c = &app.client;

    // 400: malformed JSON.
    for bad in ["{", "{\"email\": }", "nope", "{} {}", ""] {
        let r = api(c, Method::Post, "/login", None, Some(bad), &[]).await;
        assert_json_error(&r, Status::BadRequest, "bad_request");
    }
    // 401: no valid token.
    assert_json_error(
        &api(c, Method::Get, "/users", None, None, &[]).await,
        Status::Unauthorized,
        "unauthorized",
    );
    // 403: wrong role, and another user's account.
    assert_json_error(
        &api(c, Method::Get, "/users", Some(&user), None, &[]).await,
        Status::Forbidden,
        "forbidden",
    );
    for target in [bob, boss, 999_999] {
        let r = api(
            c,
            Method::Delete,
            &format!("/user/{target}"),
            Some(&user),
            None,
            &[],
        )
        .await;
        assert_json_error(&r, Status::Forbidden, "forbidden");
    }
    // 404: unknown id (for an admin).
    let r = api(c, Method::Delete, "/user/999999", Some(&admin), None, &[]).await;
    assert_json_error(&r, Status::NotFound, "not_found");
    // 409: the last admin, and a taken username.
    let r = api(
        c,
        Method::Delete,
        &format!("/user/{boss}"),
        Some(&admin),
        Some(&json!({"password": PASSWORD}).to_string()),
        &[],
    )
    .await;
    assert_json_error(&r, Status::Conflict, "conflict");
    let body =
        json!({"username": "alice", "email": "new@example.org", "password": PASSWORD}).to_string();
    let r = api(c, Method::Post, "/signup", None, Some(&body), &[]).await;
    assert_json_error(&r, Status::Conflict, "conflict");
    // 413: over the json limit (1 MiB).
    let big = format!("{{\"bio\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let r = api(
        c,
        Method::Put,
        "/update-profile",
        Some(&user),
        Some(&big),
        &[],
    )
    .await;
    assert_json_error(&r, Status::PayloadTooLarge, "payload_too_large");
    // 415: not JSON, to a route that only takes JSON.
    let r = c
        .post("/login")
        .header(ContentType::Plain)
        .header(Header::new("Accept", "application/json"))
        .body("email=a&password=b")
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::UnsupportedMediaType);
    let v: Value = serde_json::from_str(&r.into_string().await.unwrap()).unwrap();
    assert_eq!(v["error"], "unsupported_media_type");
    let r = c
        .put("/update-profile")
        .header(ContentType::Plain)
        .header(Header::new("Authorization", format!("Bearer {user}")))
        .body("{\"bio\": \"x\"}")
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::UnsupportedMediaType);
    // 422: wrong types, missing fields, invalid values, with per-field messages.
    let r = api(
        c,
        Method::Post,
        "/login",
        None,
        Some(r#"{"email": 5, "password": "x"}"#),
        &[],
    )
    .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    assert!(r.json()["fields"]["email"].is_string(), "{}", r.body);
    let r = api(
        c,
        Method::Post,
        "/login",
        None,
        Some(r#"{"email": "a@example.org"}"#),
        &[],
    )
    .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    assert!(r.json()["fields"]["password"].is_string(), "{}", r.body);
    let r = api(c, Method::Post, "/login", None, Some("[1, 2]"), &[]).await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    let body = r#"{"username": "x", "email": "nope", "password": "short"}"#;
    let r = api(c, Method::Post, "/signup", None, Some(body), &[]).await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    for field in ["username", "email", "password"] {
        assert!(r.json()["fields"][field].is_string(), "{field}: {}", r.body);
    }
    let body = r#"{"avatar_url": "javascript:alert(1)", "display_name": "ok"}"#;
    let r = api(
        c,
        Method::Put,
        "/update-profile",
        Some(&user),
        Some(body),
        &[],
    )
    .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    assert!(r.json()["fields"]["avatar_url"].is_string());
    let r = api(
        c,
        Method::Get,
        "/users?per_page=1000&sort=shoe",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    assert!(r.json()["fields"]["per_page"].is_string() && r.json()["fields"]["sort"].is_string());
    // 429: rate limited, with Retry-After.
    let body = json!({"email": "alice@example.org", "password": "wrong password"}).to_string();
    let mut last = None;
    for _ in 0..6 {
        last = Some(api(c, Method::Post, "/login", None, Some(&body), &[]).await);
    }
    let r = last.unwrap();
    assert_json_error(&r, Status::TooManyRequests, "rate_limited");
    assert!(r.header("retry-after").is_some());
    // Nothing was changed by any of it.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 3);
    let _ = alice;
}

#[rocket::async_test]
async fn json_sign_ins_count_against_the_same_limits_as_the_form() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_account", 4))).await;
    let (_, _) = user_with_token(&app, "alice", false).await;
    let browser = app.another_browser().await;
    // Two wrong passwords by form, two by JSON: the account's budget is spent.
    for _ in 0..2 {
        let r = login(&browser, "alice@example.org", "wrong password").await;
        assert_eq!(r.status, Status::Unauthorized);
    }
    let wrong = json!({"email": "alice@example.org", "password": "wrong password"}).to_string();
    for _ in 0..2 {
        let r = api(&app.client, Method::Post, "/login", None, Some(&wrong), &[]).await;
        assert_json_error(&r, Status::Unauthorized, "invalid_credentials");
    }
    // Now even the right password is refused, by JSON and by the form.
    let right = json!({"email": "ALICE@example.org ", "password": PASSWORD}).to_string();
    let r = api(&app.client, Method::Post, "/login", None, Some(&right), &[]).await;
    assert_json_error(&r, Status::TooManyRequests, "rate_limited");
    let r = login(&browser, "alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::TooManyRequests);
}

#[rocket::async_test]
async fn unknown_email_and_wrong_password_look_the_same() {
    let app = spawn().await;
    user_with_token(&app, "alice", false).await;
    let a = json!({"email": "alice@example.org", "password": "wrong password"}).to_string();
    let b = json!({"email": "nobody@example.org", "password": "wrong password"}).to_string();
    let ra = api(&app.client, Method::Post, "/login", None, Some(&a), &[]).await;
    let rb = api(&app.client, Method::Post, "/login", None, Some(&b), &[]).await;
    assert_eq!(ra.status, Status::Unauthorized);
    assert_eq!((ra.status, ra.body), (rb.status, rb.body));
}

#[rocket::async_test]
async fn json_signup_creates_a_plain_user_queues_verification_and_returns_a_token() {
    let app = spawn().await;
    let body = json!({
        "username": "dora",
        "email": "Dora@Example.org",
        "password": PASSWORD,
        "role": "admin",
        "email_verified": true
    })
    .to_string();
    let r = api(&app.client, Method::Post, "/signup", None, Some(&body), &[]).await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let v = r.json();
    assert_eq!(v["user"]["email"], "dora@example.org");
    assert_eq!(v["user"]["role"], "user");
    assert_eq!(v["user"]["email_verified"], false);
    let token = v["token"].as_str().unwrap();
    assert_eq!(me(&app.client, token).await.json()["username"], "dora");
    let queued = app
        .scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = 'dora@example.org'")
        .await;
    assert_eq!(queued, 1);
    assert!(r.set_cookie("gw_session").is_none());
}

#[rocket::async_test]
async fn profile_updates_touch_only_the_tokens_own_profile_fields() {
    let app = spawn().await;
    let (_, token) = user_with_token(&app, "alice", false).await;
    let (bob, _) = user_with_token(&app, "bob", false).await;
    let body = json!({
        "bio": "Hello <b>there</b> % _ \\ 🙂",
        "role": "admin",
        "user_id": bob,
        "id": bob,
        "email": "evil@example.org"
    })
    .to_string();
    let r = api(
        &app.client,
        Method::Put,
        "/update-profile",
        Some(&token),
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let v = r.json();
    assert_eq!(v["username"], "alice");
    assert_eq!(v["role"], "user");
    assert_eq!(v["email"], "alice@example.org");
    assert_eq!(v["bio"], "Hello <b>there</b> % _ \\ 🙂");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
            .await,
        0
    );
    assert_eq!(
        app.text(&format!("SELECT bio FROM users WHERE id = {bob}"))
            .await
            .as_deref(),
        Some("")
    );
    // Fields left out keep their value.
    let r = api(
        &app.client,
        Method::Put,
        "/update-profile",
        Some(&token),
        Some(r#"{"display_name":"A"}"#),
        &[],
    )
    .await;
    assert_eq!(r.json()["bio"], "Hello <b>there</b> % _ \\ 🙂");
    assert_eq!(r.json()["display_name"], "A");
}

#[rocket::async_test]
async fn users_may_delete_only_themselves_and_admins_anyone_but_the_last_admin() {
    let app = spawn().await;
    let (boss, admin) = user_with_token(&app, "boss", true).await;
    let (alice, alice_token) = user_with_token(&app, "alice", false).await;
    let (bob, _) = user_with_token(&app, "bob", false).await;
    let r = api(
        &app.client,
        Method::Delete,
        &format!("/user/{bob}"),
        Some(&alice_token),
        None,
        &[],
    )
    .await;
    assert_json_error(&r, Status::Forbidden, "forbidden");
    let r = api(
        &app.client,
        Method::Delete,
        &format!("/user/{alice}"),
        Some(&alice_token),
        Some(&json!({"password": PASSWORD}).to_string()),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::NoContent);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 2);
    let r = api(
        &app.client,
        Method::Delete,
        &format!("/user/{boss}"),
        Some(&admin),
        Some(&json!({"password": PASSWORD}).to_string()),
        &[],
    )
    .await;
    assert_json_error(&r, Status::Conflict, "conflict");
    let r = api(
        &app.client,
        Method::Delete,
        &format!("/user/{bob}"),
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::NoContent);
    let audited = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'user.delete' AND target_id = {bob} AND actor_id = {boss}"
        ))
        .await;
    assert_eq!(audited, 1);
}

#[rocket::async_test]
async fn the_user_list_pages_searches_and_sorts_as_json() {
    let app = spawn().await;
    let (_, admin) = user_with_token(&app, "boss", true).await;
    for name in ["anna", "ben", "cleo"] {
        user_with_token(&app, name, false).await;
    }
    let r = api(
        &app.client,
        Method::Get,
        "/users?per_page=2&page=2&sort=username",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let v = r.json();
    assert_eq!(v["total"], 4);
    let names: Vec<&str> = v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["boss", "cleo"]);
    let r = api(
        &app.client,
        Method::Get,
        "/users?q=EN",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(r.json()["total"], 1);
    assert_eq!(r.json()["users"][0]["username"], "ben");
    let r = api(
        &app.client,
        Method::Get,
        "/users?q=%25",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(r.json()["total"], 0);
    // NUL cannot be stored or compared in Postgres text: refused, not a 500.
    let r = api(
        &app.client,
        Method::Get,
        "/users?q=a%00b",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_json_error(&r, Status::BadRequest, "bad_request");
    // Every order works on every database.
    for sort in ["newest", "oldest", "username", "email", "last_seen"] {
        let uri = format!("/users?sort={sort}");
        let r = api(&app.client, Method::Get, &uri, Some(&admin), None, &[]).await;
        assert_eq!(r.status, Status::Ok, "{sort}: {}", r.body);
        assert_eq!(r.json()["total"], 4);
    }
    // A role change takes effect on the very next request.
    app.exec("UPDATE users SET role = 'user' WHERE username = 'boss'")
        .await;
    let r = api(&app.client, Method::Get, "/users", Some(&admin), None, &[]).await;
    assert_json_error(&r, Status::Forbidden, "forbidden");
}

#[rocket::async_test]
async fn no_cors_header_unless_the_origin_is_configured() {
    let app = spawn().await;
    let (_, token) = user_with_token(&app, "alice", false).await;
    let r = api(
        &app.client,
        Method::Get,
        "/me",
        Some(&token),
        None,
        &[("Origin", "https://app.example")],
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.header("access-control-allow-origin").is_none());
    let r = api(
        &app.client,
        Method::Options,
        "/me",
        None,
        None,
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
    )
    .await;
    assert!(r.header("access-control-allow-origin").is_none());

    let app =
        TestApp::spawn_with(|f| f.merge(("cors_allowed_origins", vec!["https://app.example"])))
            .await;
    let (_, token) = user_with_token(&app, "alice", false).await;
    let r = api(
        &app.client,
        Method::Get,
        "/me",
        Some(&token),
        None,
        &[("Origin", "https://app.example")],
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(r.header("access-control-allow-credentials").is_none());
    let r = api(
        &app.client,
        Method::Get,
        "/me",
        Some(&token),
        None,
        &[("Origin", "https://evil.example")],
    )
    .await;
    assert!(r.header("access-control-allow-origin").is_none());
    let r = api(
        &app.client,
        Method::Options,
        "/update-profile",
        None,
        None,
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "PUT"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::NoContent);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(r
        .header("access-control-allow-headers")
        .unwrap_or("")
        .contains("Authorization"));
    let r = api(
        &app.client,
        Method::Options,
        "/update-profile",
        None,
        None,
        &[
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "PUT"),
        ],
    )
    .await;
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(r.header("access-control-allow-methods").is_none());
}

#[rocket::async_test]
async fn api_sessions_are_listed_on_the_profile() {
    let app = spawn().await;
    let email = app.signed_in_user("alice").await;
    token_for(&app.another_browser().await, &email).await;
    let page = app.get("/profile").await;
    assert!(page.body.contains("API token"), "{}", page.body);
}
