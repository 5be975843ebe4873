//! RealWorld (Conduit) users under /api: registering and signing in with
//! the token scheme, the 401, 403 and 422 answers, updating the user, and
//! a front end on a configured origin. Articles are in conduit.rs.

use crate::common;
use common::conduit::*;
use common::*;
use rocket::http::{Header, Method, Status};
use serde_json::{json, Value};

#[rocket::async_test]
async fn registering_gives_a_token_that_works_with_the_token_scheme() {
    let app = TestApp::spawn().await;
    let token = register(&app, "jake").await;
    let r = rw(&app, Method::Get, "/api/user", Some(&token), None).await;
    assert_eq!(r.status, Status::Ok);
    let user = &r.json()["user"];
    assert_eq!(user["username"], "jake");
    assert_eq!(user["email"], "jake@example.org");
    assert_eq!(user["bio"], "");
    assert_eq!(user["image"], "");
    assert_eq!(user["token"], token.as_str());
    // Our own account: the same users table, a hashed password, and the
    // sign-up's verification mail queued.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users WHERE username = 'jake' AND password_hash LIKE '$argon2id$%'").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = 'jake@example.org'")
            .await,
        1
    );
    // Signing in gives another token, bound to its own session.
    let r = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "JAKE@example.org", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_ne!(r.json()["user"]["token"], token.as_str());
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions WHERE kind = 'api'")
            .await,
        2
    );
}

#[rocket::async_test]
async fn registration_problems_are_422_with_a_message_per_field() {
    let app = TestApp::spawn().await;
    let r = rw(
        &app,
        Method::Post,
        "/api/users",
        None,
        Some(json!({"user": {}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    for field in ["username", "email", "password"] {
        assert_eq!(field_error(&r, field), "can't be blank");
    }
    let r = rw(
        &app,
        Method::Post,
        "/api/users",
        None,
        Some(json!({"user": {"username": "x y", "email": "nope", "password": "password"}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "username");
    field_error(&r, "email");
    assert!(field_error(&r, "password").contains("common"), "{}", r.body);
    register(&app, "jake").await;
    let r = rw(&app, Method::Post, "/api/users", None, Some(json!({"user": {"username": "JAKE", "email": "jake@example.org", "password": PASSWORD}}))).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "username");
    field_error(&r, "email");
    let r = rw(
        &app,
        Method::Post,
        "/api/users",
        None,
        Some(json!({"user": {"username": 5}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "username");
    let r = rw(
        &app,
        Method::Post,
        "/api/users",
        None,
        Some(json!({"username": "a"})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "user");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);
}

#[rocket::async_test]
async fn wrong_credentials_are_refused_and_a_disabled_account_is_403() {
    let app = TestApp::spawn().await;
    register(&app, "jake").await;
    let r = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "jake@example.org", "password": "wrong password!"}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(field_error(&r, "email or password"), "is invalid");
    assert!(!r.body.contains("token"));
    let r = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "jake@example.org"}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "password");
    app.exec("UPDATE users SET disabled = 1 WHERE username = 'jake'")
        .await;
    let r = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "jake@example.org", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
}

#[rocket::async_test]
async fn endpoints_that_need_a_token_answer_401_without_a_valid_one() {
    let app = TestApp::spawn().await;
    let token = register(&app, "jake").await;
    let slug = post_article(&app, &token, "Hello", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let needs_token = [
        (Method::Get, "/api/user".to_string()),
        (Method::Put, "/api/user".to_string()),
        (Method::Get, "/api/articles/feed".to_string()),
        (Method::Post, "/api/articles".to_string()),
        (Method::Put, format!("/api/articles/{slug}")),
        (Method::Delete, format!("/api/articles/{slug}")),
        (Method::Post, format!("/api/articles/{slug}/favorite")),
        (Method::Delete, format!("/api/articles/{slug}/favorite")),
        (Method::Post, format!("/api/articles/{slug}/comments")),
        (Method::Delete, format!("/api/articles/{slug}/comments/1")),
        (Method::Post, "/api/profiles/jake/follow".to_string()),
        (Method::Delete, "/api/profiles/jake/follow".to_string()),
    ];
    for (method, uri) in &needs_token {
        for token in [None, Some("not-a-jwt")] {
            let r = rw(&app, *method, uri, token, Some(json!({}))).await;
            assert_eq!(
                r.status,
                Status::Unauthorized,
                "{method} {uri} with {token:?}"
            );
            assert!(r.json()["errors"]["body"][0].is_string(), "{}", r.body);
            assert_eq!(r.header("www-authenticate"), Some("Token"));
        }
    }
    // Where signing in is optional, a bad token is still refused.
    let r = rw(&app, Method::Get, "/api/articles", Some("not-a-jwt"), None).await;
    assert_eq!(r.status, Status::Unauthorized);
    // A signed-out token stops working at once.
    let r = app.api(Method::Post, "/logout").token(&token).send().await;
    assert_eq!(r.status, Status::NoContent);
    let r = rw(&app, Method::Get, "/api/user", Some(&token), None).await;
    assert_eq!(r.status, Status::Unauthorized);
    // A browser session cookie never authorizes the API.
    app.signup("kim", "kim@example.org", PASSWORD).await;
    let r = rw(&app, Method::Get, "/api/user", None, None).await;
    assert_eq!(r.status, Status::Unauthorized);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM articles").await, 1);
}

#[rocket::async_test]
async fn updating_the_user_changes_the_profile_and_guards_email_and_password() {
    let app = TestApp::spawn().await;
    let token = register(&app, "jake").await;
    let other = register(&app, "kim").await;
    let put = |body: Value| {
        let token = token.clone();
        let app = &app;
        async move { rw(app, Method::Put, "/api/user", Some(&token), Some(body)).await }
    };
    let r = put(json!({"user": {"bio": "I like dragons", "image": "https://example.org/me.png", "username": "jacob"}})).await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let user = &r.json()["user"];
    assert_eq!(
        (
            user["bio"].clone(),
            user["image"].clone(),
            user["username"].clone()
        ),
        (
            json!("I like dragons"),
            json!("https://example.org/me.png"),
            json!("jacob")
        )
    );
    assert_eq!(user["token"], token.as_str());
    let r = put(json!({"user": {"image": "javascript:alert(1)"}})).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "image");
    let r = put(json!({"user": {"username": "KIM"}})).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "username");
    // An update with a taken address changes nothing at all.
    let r = put(json!({"user": {"username": "renamed", "bio": "changed",
        "email": "kim@example.org", "currentPassword": PASSWORD}}))
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "email");
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM users WHERE username = 'jacob' AND bio = 'I like dragons'"
        )
        .await,
        1
    );
    // The same email is no change; a new one needs the current password.
    let r = put(json!({"user": {"email": "jake@example.org"}})).await;
    assert_eq!(r.status, Status::Ok);
    let r = put(json!({"user": {"email": "new@example.org"}})).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "currentPassword");
    let r = put(json!({"user": {"email": "new@example.org", "currentPassword": "not it at all"}}))
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "currentPassword");
    let r = put(json!({"user": {"email": "new@example.org", "currentPassword": PASSWORD}})).await;
    assert_eq!(r.status, Status::Ok);
    // Changed once the link mailed to the new address is opened.
    assert_eq!(r.json()["user"]["email"], "jake@example.org");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = 'new@example.org'")
            .await,
        1
    );
    // A new password: the old one stops working, other sessions end.
    let second = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "jake@example.org", "password": PASSWORD}})),
    )
    .await
    .json()["user"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r =
        put(json!({"user": {"password": "a brand new passphrase", "currentPassword": PASSWORD}}))
            .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(
        rw(&app, Method::Get, "/api/user", Some(&second), None)
            .await
            .status,
        Status::Unauthorized
    );
    assert_eq!(
        rw(&app, Method::Get, "/api/user", Some(&token), None)
            .await
            .status,
        Status::Ok
    );
    assert_eq!(
        rw(&app, Method::Get, "/api/user", Some(&other), None)
            .await
            .status,
        Status::Ok
    );
    let r = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "jake@example.org", "password": "a brand new passphrase"}})),
    )
    .await;
    assert_eq!(r.status, Status::Ok);
}

#[rocket::async_test]
async fn a_front_end_on_a_configured_origin_may_call_the_api() {
    let app =
        TestApp::spawn_with(|f| f.merge(("cors_allowed_origins", vec!["https://conduit.example"])))
            .await;
    let r = app
        .client
        .options("/api/articles/feed")
        .header(Header::new("Origin", "https://conduit.example"))
        .header(Header::new("Access-Control-Request-Method", "GET"))
        .header(Header::new(
            "Access-Control-Request-Headers",
            "authorization",
        ))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::NoContent);
    let allowed = r
        .headers()
        .get_one("Access-Control-Allow-Headers")
        .unwrap_or("");
    assert!(allowed.contains("Authorization"), "{allowed}");
    let r = app
        .client
        .get("/api/tags")
        .header(Header::new("Origin", "https://conduit.example"))
        .dispatch()
        .await;
    assert_eq!(
        r.headers().get_one("Access-Control-Allow-Origin"),
        Some("https://conduit.example")
    );
    let r = app
        .client
        .get("/api/tags")
        .header(Header::new("Origin", "https://evil.example"))
        .dispatch()
        .await;
    assert_eq!(r.headers().get_one("Access-Control-Allow-Origin"), None);
}
