//! The JSON API: the seed's four paths serving HTML and JSON side by side,
//! the JSON error statuses, shared sign-in limits, sign-up, profile
//! updates, deletion, the user list, and CORS. Tokens are in api_tokens.rs.

use crate::common;
use common::json_api::*;
use common::*;
use rocket::http::{ContentType, Header, Method, Status};
use serde_json::{json, Value};

#[rocket::async_test]
async fn the_four_seed_paths_serve_html_and_json_side_by_side() {
    let app = TestApp::spawn_for_members().await;
    let (_, admin_token) = user_with_token(&app, "boss", true).await;
    let (carol, carol_token) = user_with_token(&app, "carol", false).await;

    // POST /login: the form signs a browser in, JSON returns a token.
    let r = login(&app.client, "boss@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.set_cookie("gw_session").is_some());
    let body = json!({"email": "boss@example.org", "password": PASSWORD}).to_string();
    let r = app.api(Method::Post, "/login").json(&body).send().await;
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
    let r = app
        .api(Method::Get, "/users")
        .token(&admin_token)
        .send()
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
    let r = app
        .api(Method::Put, "/update-profile")
        .token(&carol_token)
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["display_name"], "Carol C.");
    let names = app
        .text("SELECT display_name FROM users WHERE username = 'boss'")
        .await;
    assert_eq!(names.as_deref(), Some("Boss"));

    // DELETE /user/<id>: JSON here (the admin tests confirm the form).
    let r = app
        .api(Method::Delete, &format!("/user/{carol}"))
        .token(&admin_token)
        .send()
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
async fn json_errors_have_the_right_status_and_shape() {
    let app = TestApp::spawn_for_members().await;
    let (boss, admin) = user_with_token(&app, "boss", true).await;
    let (alice, user) = user_with_token(&app, "alice", false).await;
    let (bob, _) = user_with_token(&app, "bob", false).await;
    let c = &app.client;

    // 400: malformed JSON.
    for bad in ["{", "{\"email\": }", "nope", "{} {}", ""] {
        let r = app.api(Method::Post, "/login").json(bad).send().await;
        assert_json_error(&r, Status::BadRequest, "bad_request");
    }
    // 401: no valid token.
    assert_json_error(
        &app.api(Method::Get, "/users").send().await,
        Status::Unauthorized,
        "unauthorized",
    );
    // 403: wrong role, and another user's account.
    assert_json_error(
        &app.api(Method::Get, "/users").token(&user).send().await,
        Status::Forbidden,
        "forbidden",
    );
    for target in [bob, boss, 999_999] {
        let r = app
            .api(Method::Delete, &format!("/user/{target}"))
            .token(&user)
            .send()
            .await;
        assert_json_error(&r, Status::Forbidden, "forbidden");
    }
    // 404: unknown id (for an admin).
    let r = app
        .api(Method::Delete, "/user/999999")
        .token(&admin)
        .send()
        .await;
    assert_json_error(&r, Status::NotFound, "not_found");
    // 409: the last admin, and a taken username.
    let r = app
        .api(Method::Delete, &format!("/user/{boss}"))
        .token(&admin)
        .json(&json!({"password": PASSWORD}).to_string())
        .send()
        .await;
    assert_json_error(&r, Status::Conflict, "conflict");
    let body =
        json!({"username": "alice", "email": "new@example.org", "password": PASSWORD}).to_string();
    let r = app.api(Method::Post, "/signup").json(&body).send().await;
    assert_json_error(&r, Status::Conflict, "conflict");
    // 413: over the json limit (1 MiB).
    let big = format!("{{\"bio\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let r = app
        .api(Method::Put, "/update-profile")
        .token(&user)
        .json(&big)
        .send()
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
    let r = app
        .api(Method::Post, "/login")
        .json(r#"{"email": 5, "password": "x"}"#)
        .send()
        .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    assert!(r.json()["fields"]["email"].is_string(), "{}", r.body);
    let r = app
        .api(Method::Post, "/login")
        .json(r#"{"email": "a@example.org"}"#)
        .send()
        .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    assert!(r.json()["fields"]["password"].is_string(), "{}", r.body);
    let r = app.api(Method::Post, "/login").json("[1, 2]").send().await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    let body = r#"{"username": "x", "email": "nope", "password": "short"}"#;
    let r = app.api(Method::Post, "/signup").json(body).send().await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    for field in ["username", "email", "password"] {
        assert!(r.json()["fields"][field].is_string(), "{field}: {}", r.body);
    }
    let body = r#"{"avatar_url": "javascript:alert(1)", "display_name": "ok"}"#;
    let r = app
        .api(Method::Put, "/update-profile")
        .token(&user)
        .json(body)
        .send()
        .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    assert!(r.json()["fields"]["avatar_url"].is_string());
    let r = app
        .api(Method::Get, "/users?per_page=1000&sort=shoe")
        .token(&admin)
        .send()
        .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    assert!(r.json()["fields"]["per_page"].is_string() && r.json()["fields"]["sort"].is_string());
    // 429: rate limited, with Retry-After.
    let body = json!({"email": "alice@example.org", "password": "wrong password"}).to_string();
    let mut last = None;
    for _ in 0..6 {
        last = Some(app.api(Method::Post, "/login").json(&body).send().await);
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
        let r = app.api(Method::Post, "/login").json(&wrong).send().await;
        assert_json_error(&r, Status::Unauthorized, "invalid_credentials");
    }
    // Now even the right password is refused, by JSON and by the form.
    let right = json!({"email": "ALICE@example.org ", "password": PASSWORD}).to_string();
    let r = app.api(Method::Post, "/login").json(&right).send().await;
    assert_json_error(&r, Status::TooManyRequests, "rate_limited");
    let r = login(&browser, "alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::TooManyRequests);
}

#[rocket::async_test]
async fn unknown_email_and_wrong_password_look_the_same() {
    let app = TestApp::spawn_for_members().await;
    user_with_token(&app, "alice", false).await;
    let a = json!({"email": "alice@example.org", "password": "wrong password"}).to_string();
    let b = json!({"email": "nobody@example.org", "password": "wrong password"}).to_string();
    let ra = app.api(Method::Post, "/login").json(&a).send().await;
    let rb = app.api(Method::Post, "/login").json(&b).send().await;
    assert_eq!(ra.status, Status::Unauthorized);
    assert_eq!((ra.status, ra.body), (rb.status, rb.body));
}

#[rocket::async_test]
async fn json_signup_creates_a_plain_user_queues_verification_and_returns_a_token() {
    let app = TestApp::spawn_for_members().await;
    let body = json!({
        "username": "dora",
        "email": "Dora@Example.org",
        "password": PASSWORD,
        "role": "admin",
        "email_verified": true
    })
    .to_string();
    let r = app.api(Method::Post, "/signup").json(&body).send().await;
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
    let app = TestApp::spawn_for_members().await;
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
    let r = app
        .api(Method::Put, "/update-profile")
        .token(&token)
        .json(&body)
        .send()
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
    let r = app
        .api(Method::Put, "/update-profile")
        .token(&token)
        .json(r#"{"display_name":"A"}"#)
        .send()
        .await;
    assert_eq!(r.json()["bio"], "Hello <b>there</b> % _ \\ 🙂");
    assert_eq!(r.json()["display_name"], "A");
}

#[rocket::async_test]
async fn users_may_delete_only_themselves_and_admins_anyone_but_the_last_admin() {
    let app = TestApp::spawn_for_members().await;
    let (boss, admin) = user_with_token(&app, "boss", true).await;
    let (alice, alice_token) = user_with_token(&app, "alice", false).await;
    let (bob, _) = user_with_token(&app, "bob", false).await;
    let r = app
        .api(Method::Delete, &format!("/user/{bob}"))
        .token(&alice_token)
        .send()
        .await;
    assert_json_error(&r, Status::Forbidden, "forbidden");
    let r = app
        .api(Method::Delete, &format!("/user/{alice}"))
        .token(&alice_token)
        .json(&json!({"password": PASSWORD}).to_string())
        .send()
        .await;
    assert_eq!(r.status, Status::NoContent);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 2);
    let r = app
        .api(Method::Delete, &format!("/user/{boss}"))
        .token(&admin)
        .json(&json!({"password": PASSWORD}).to_string())
        .send()
        .await;
    assert_json_error(&r, Status::Conflict, "conflict");
    let r = app
        .api(Method::Delete, &format!("/user/{bob}"))
        .token(&admin)
        .send()
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
    let app = TestApp::spawn_for_members().await;
    let (_, admin) = user_with_token(&app, "boss", true).await;
    for name in ["anna", "ben", "cleo"] {
        user_with_token(&app, name, false).await;
    }
    let r = app
        .api(Method::Get, "/users?per_page=2&page=2&sort=username")
        .token(&admin)
        .send()
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
    let r = app
        .api(Method::Get, "/users?q=EN")
        .token(&admin)
        .send()
        .await;
    assert_eq!(r.json()["total"], 1);
    assert_eq!(r.json()["users"][0]["username"], "ben");
    let r = app
        .api(Method::Get, "/users?q=%25")
        .token(&admin)
        .send()
        .await;
    assert_eq!(r.json()["total"], 0);
    // NUL cannot be stored or compared in Postgres text: refused, not a 500.
    let r = app
        .api(Method::Get, "/users?q=a%00b")
        .token(&admin)
        .send()
        .await;
    assert_json_error(&r, Status::BadRequest, "bad_request");
    // Every order works on every database.
    for sort in ["newest", "oldest", "username", "email", "last_seen"] {
        let uri = format!("/users?sort={sort}");
        let r = app.api(Method::Get, &uri).token(&admin).send().await;
        assert_eq!(r.status, Status::Ok, "{sort}: {}", r.body);
        assert_eq!(r.json()["total"], 4);
    }
    // A role change takes effect on the very next request.
    app.exec("UPDATE users SET role = 'user' WHERE username = 'boss'")
        .await;
    let r = app.api(Method::Get, "/users").token(&admin).send().await;
    assert_json_error(&r, Status::Forbidden, "forbidden");
}

#[rocket::async_test]
async fn no_cors_header_unless_the_origin_is_configured() {
    let app = TestApp::spawn_for_members().await;
    let (_, token) = user_with_token(&app, "alice", false).await;
    let r = app
        .api(Method::Get, "/me")
        .token(&token)
        .header("Origin", "https://app.example")
        .send()
        .await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.header("access-control-allow-origin").is_none());
    let r = app
        .api(Method::Options, "/me")
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await;
    assert!(r.header("access-control-allow-origin").is_none());

    let app =
        TestApp::spawn_with(|f| f.merge(("cors_allowed_origins", vec!["https://app.example"])))
            .await;
    let (_, token) = user_with_token(&app, "alice", false).await;
    let r = app
        .api(Method::Get, "/me")
        .token(&token)
        .header("Origin", "https://app.example")
        .send()
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(r.header("access-control-allow-credentials").is_none());
    let r = app
        .api(Method::Get, "/me")
        .token(&token)
        .header("Origin", "https://evil.example")
        .send()
        .await;
    assert!(r.header("access-control-allow-origin").is_none());
    let r = app
        .api(Method::Options, "/update-profile")
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "PUT")
        .send()
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
    let r = app
        .api(Method::Options, "/update-profile")
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "PUT")
        .send()
        .await;
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(r.header("access-control-allow-methods").is_none());
}
