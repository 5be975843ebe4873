//! Two-step sign-in beyond the password form (issue 20): the JSON API's
//! challenge, and sign-in with a provider into an account with two-step
//! sign-in on (an account without a password turns it off with a code).

use crate::common;
use common::accounts::*;
use common::oauth::FakeUser;
use common::oauth_flow::*;
use common::twostep::*;
use common::*;

use rocket::http::{Method, Status};
use serde_json::json;

async fn api_login(app: &TestApp, email: &str, password: &str) -> Resp {
    app.api(Method::Post, "/login")
        .json(&json!({"email": email, "password": password}).to_string())
        .send()
        .await
}

async fn api_second_step(app: &TestApp, challenge: &str, code: &str) -> Resp {
    app.api(Method::Post, "/login/two-step")
        .json(&json!({"challenge": challenge, "code": code}).to_string())
        .send()
        .await
}

#[rocket::async_test]
async fn the_api_answers_the_password_with_a_challenge_and_the_code_with_a_token() {
    let app = TestApp::spawn().await;
    let (browser, email) = user_in_own_browser(&app, "bea").await;
    let enrolled = enrol(&browser).await;

    let r = api_login(&app, &email, PASSWORD).await;
    assert_eq!(r.status, Status::Accepted, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    assert!(body.get("token").is_none(), "a token before the code");
    assert_eq!(body["expires_in"], 300);
    let challenge = body["challenge"].as_str().unwrap().to_string();
    // The challenge is no bearer token.
    let me = app.api(Method::Get, "/me").token(&challenge).send().await;
    assert_eq!(me.status, Status::Unauthorized);
    assert_eq!(session_count(&app, "bea").await, 1, "only the browser's");

    // A wrong code, a made-up challenge, then the right code.
    let wrong = api_second_step(&app, &challenge, "abcd-efgh-jkmn").await;
    assert_eq!(wrong.status, Status::Unauthorized);
    assert_eq!(wrong.json()["error"], "invalid_code");
    let unknown = api_second_step(&app, "not-a-challenge", &code_now(&enrolled.secret, 1)).await;
    assert_eq!(unknown.status, Status::Unauthorized);
    assert_eq!(unknown.json()["error"], "invalid_challenge");
    let code = code_now(&enrolled.secret, 1);
    let ok = api_second_step(&app, &challenge, &code).await;
    assert_eq!(ok.status, Status::Ok, "{}", ok.body);
    let token = ok.json()["token"].as_str().unwrap().to_string();
    let me = app.api(Method::Get, "/me").token(&token).send().await;
    assert_eq!(me.status, Status::Ok);
    assert_eq!(me.json()["username"], "bea");
    // The challenge is spent; the code too.
    let again = api_second_step(&app, &challenge, &code).await;
    assert_eq!(again.json()["error"], "invalid_challenge");
    let fresh = api_login(&app, &email, PASSWORD).await.json()["challenge"]
        .as_str()
        .unwrap()
        .to_string();
    let replay = api_second_step(&app, &fresh, &code).await;
    assert_eq!(replay.json()["error"], "invalid_code");
    // A recovery code works too.
    let r = api_second_step(&app, &fresh, &enrolled.codes[9]).await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
}

#[rocket::async_test]
async fn too_many_wrong_codes_void_the_api_challenge() {
    let app = TestApp::spawn().await;
    let (browser, email) = user_in_own_browser(&app, "cleo").await;
    let enrolled = enrol(&browser).await;
    let challenge = api_login(&app, &email, PASSWORD).await.json()["challenge"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..5 {
        let r = api_second_step(&app, &challenge, "zzzz-zzzz-zzzz").await;
        assert_eq!(r.status, Status::Unauthorized);
    }
    let r = api_second_step(&app, &challenge, &code_now(&enrolled.secret, 1)).await;
    assert_eq!(r.status, Status::TooManyRequests);
    assert_eq!(r.json()["error"], "too_many_codes");
    let r = api_second_step(&app, &challenge, &code_now(&enrolled.secret, 1)).await;
    assert_eq!(r.json()["error"], "invalid_challenge");
}

#[rocket::async_test]
async fn a_provider_sign_in_asks_for_the_code_too() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let browser = app.another_browser().await;
    let r = sign_in_with(&browser, "github", "1001").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let enrolled = enrol(&browser).await;
    logout(&browser).await;

    let r = sign_in_with(&browser, "github", "1001").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/login/two-step"));
    assert!(r.set_cookie(SESSION).is_none());
    assert_eq!(whoami(&browser).await, None);
    let r = send_code(&browser, &code_now(&enrolled.secret, 1)).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(whoami(&browser).await.as_deref(), Some("octocat"));

    // Without a password, turning it off takes a current code (or a
    // recovery code) instead.
    let page = get(&browser, "/account/two-step").await;
    assert!(page.body.contains("name=\"code\""));
    let refused = submit(
        &browser,
        "/account/two-step",
        "/account/two-step/disable",
        &[("code", "zzzz-zzzz-zzzz")],
    )
    .await;
    assert_eq!(refused.status, Status::UnprocessableEntity);
    let r = submit(
        &browser,
        "/account/two-step",
        "/account/two-step/disable",
        &[("code", &enrolled.codes[0])],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM twostep_totp").await, 0);
}

/// Finish the second step with "Trust this browser" ticked.
async fn send_code_and_trust(browser: &rocket::local::asynchronous::Client, code: &str) -> Resp {
    let token = get(browser, "/login").await.csrf();
    post_raw(
        browser,
        "/login/two-step",
        &[("csrf_token", &token), ("code", code), ("trust", "true")],
        &[],
    )
    .await
}

fn assert_second_step(r: &Resp) {
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/login/two-step"));
}

#[rocket::async_test]
async fn a_trusted_browser_skips_the_code_until_sessions_end_everywhere() {
    let app = TestApp::spawn().await;
    let (browser, email) = user_in_own_browser(&app, "dora").await;
    let enrolled = enrol(&browser).await;
    logout(&browser).await;
    assert_second_step(&login(&browser, &email, PASSWORD).await);
    let r = send_code_and_trust(&browser, &code_now(&enrolled.secret, 1)).await;
    assert_eq!(r.location(), Some("/"), "{}", r.body);
    assert!(r.set_cookie("gw_trusted").is_some());

    // This browser now needs only the password; another still needs the code.
    logout(&browser).await;
    let r = login(&browser, &email, PASSWORD).await;
    assert_eq!(r.location(), Some("/"), "{}", r.body);
    assert!(r.set_cookie(SESSION).is_some());
    let (other, r) = login_elsewhere(&app, &email, PASSWORD).await;
    assert_second_step(&r);
    assert_eq!(
        send_code(&other, &enrolled.codes[0]).await.location(),
        Some("/")
    );

    // "Sign out all other sessions" forgets every trusted browser.
    let r = submit(&other, "/profile", "/sessions/end-others", &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    logout(&other).await;
    assert_eq!(get(&browser, "/profile").await.status, Status::SeeOther);
    assert_second_step(&login(&browser, &email, PASSWORD).await);

    // Trusted again, then a password change: asked again.
    let r = send_code_and_trust(&browser, &enrolled.codes[1]).await;
    assert_eq!(r.location(), Some("/"), "{}", r.body);
    let new_password = "a completely different passphrase";
    let r = submit(
        &browser,
        "/profile",
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", new_password),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    logout(&browser).await;
    assert_second_step(&login(&browser, &email, new_password).await);
}

#[rocket::async_test]
async fn an_admin_sees_and_resets_two_step_sign_in_audited_and_mailed() {
    let app = TestApp::spawn_for_members().await;
    let (browser, email) = user_in_own_browser(&app, "ezra").await;
    enrol(&browser).await;
    let admin = app.admin_browser("root").await;
    let id = app
        .scalar("SELECT id FROM users WHERE username = 'ezra'")
        .await;
    let page = get(&admin, &format!("/admin/users/{id}")).await;
    assert!(
        page.body.contains("<dt>Two-step sign-in</dt><dd>on</dd>"),
        "{}",
        page.body
    );
    let reset = format!("/admin/users/{id}/two-step/reset");
    // A member cannot.
    let r = submit(&browser, "/profile", &reset, &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM twostep_totp").await, 1);
    let r = submit(&admin, &format!("/admin/users/{id}"), &reset, &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM twostep_totp").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM twostep_recovery_codes")
            .await,
        0
    );
    assert_eq!(
        app.text("SELECT actor_name FROM audit_log WHERE action = 'user.twostep_reset'")
            .await
            .as_deref(),
        Some("root")
    );
    let mailed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = $1 AND subject = $2")
            .bind(&email)
            .bind("An administrator turned two-step sign-in off for your account")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(mailed, 1);
    let page = get(&admin, &format!("/admin/users/{id}")).await;
    assert!(page.body.contains("<dt>Two-step sign-in</dt><dd>off</dd>"));
    logout(&browser).await;
    assert_eq!(
        login(&browser, &email, PASSWORD).await.location(),
        Some("/")
    );
}
