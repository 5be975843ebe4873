//! OAuth sign-in that must not go through, and how it fails: a tampered,
//! missing, replayed or other-provider `state`, `next` leading off-site,
//! denied consent and a provider that errs or is down — each a clear page
//! that signs nobody in. Run against the fake provider on 127.0.0.1.

use crate::common;

use common::oauth::{FakeProvider, FakeUser, TokenMode};
use common::oauth_flow::*;
use common::{get, get_with, TestApp};
use rocket::http::Status;

// ------------------------------------------------------------- state

#[rocket::async_test]
async fn a_tampered_state_is_refused() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let url = begin(&app.client, "/auth/github").await;
    let callback = at_provider(&url, "login_as=1001").await;
    let state = query(&format!("{ORIGIN}{callback}"), "state").unwrap();
    let forged = callback.replace(&state, "AAAAforgedstateAAAA");
    let r = get(&app.client, &forged).await;
    assert_eq!(r.status, Status::BadRequest);
    assert!(r.set_cookie("gw_session").is_none());
    assert_eq!(whoami(&app.client).await, None);
    assert_eq!(fake.token_requests(), 0, "the code was never exchanged");
    // The genuine callback no longer works either: the flow was used up.
    assert_eq!(get(&app.client, &callback).await.status, Status::BadRequest);
}

#[rocket::async_test]
async fn a_missing_state_is_refused() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let url = begin(&app.client, "/auth/github").await;
    let callback = at_provider(&url, "login_as=1001").await;
    let code = query(&format!("{ORIGIN}{callback}"), "code").unwrap();
    let r = get(&app.client, &format!("/auth/github/callback?code={code}")).await;
    assert_eq!(r.status, Status::BadRequest);
    assert_eq!(whoami(&app.client).await, None);
    assert_eq!(fake.token_requests(), 0);
}

#[rocket::async_test]
async fn a_callback_without_a_started_flow_is_refused() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    // Login CSRF: an attacker's own code and state, delivered to a
    // browser that never started a flow.
    let attacker = app.another_browser().await;
    let url = begin(&attacker, "/auth/github").await;
    let callback = at_provider(&url, "login_as=1001").await;
    let r = get(&app.client, &callback).await;
    assert_eq!(r.status, Status::BadRequest);
    assert_eq!(whoami(&app.client).await, None);
}

#[rocket::async_test]
async fn a_replayed_callback_is_refused() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let start = get(&app.client, "/auth/github").await;
    let flow_cookie = start
        .set_cookie("gw_oauth")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let callback = at_provider(start.location().unwrap(), "login_as=1001").await;
    assert_eq!(get(&app.client, &callback).await.status, Status::SeeOther);
    // Same browser: the flow cookie is gone.
    let again = get(&app.client, &callback).await;
    assert_eq!(again.status, Status::BadRequest);
    // Another browser replaying the captured cookie too: the code was
    // single-use, so nobody is signed in.
    let thief = app.another_browser().await;
    let r = get_with(&thief, &callback, &[("cookie", &flow_cookie)]).await;
    assert!(r.status.code >= 400 && r.status.code != 500, "{}", r.status);
    assert!(r.set_cookie("gw_session").is_none());
    assert_eq!(whoami(&thief).await, None);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);
}

#[rocket::async_test]
async fn a_state_issued_for_another_provider_is_refused() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let url = begin(&app.client, "/auth/google").await;
    let callback = at_provider(&url, "login_as=1001").await;
    let crossed = callback.replace("/auth/google/", "/auth/github/");
    let r = get(&app.client, &crossed).await;
    assert_eq!(r.status, Status::BadRequest);
    assert_eq!(whoami(&app.client).await, None);
    assert_eq!(fake.token_requests(), 0);
}

#[rocket::async_test]
async fn next_only_ever_leads_to_a_local_path() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    for (next, expected) in [
        ("/profile?tab=1", "/profile?tab=1"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ] {
        let browser = app.another_browser().await;
        let path = format!(
            "/auth/github?next={}",
            rocket::http::RawStr::new(next).percent_encode()
        );
        let url = begin(&browser, &path).await;
        let callback = at_provider(&url, "login_as=1001").await;
        let r = get(&browser, &callback).await;
        assert_eq!(r.location(), Some(expected), "next={next}");
    }
    // The sign-in page passes `next` on to the provider buttons.
    let login = get(&app.client, "/login?next=/profile").await;
    assert!(
        login.body.contains("/auth/github?next=%2Fprofile"),
        "{}",
        login.body
    );
}

// ------------------------------------------------------------- failures

#[rocket::async_test]
async fn denied_consent_gets_a_clear_page() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let url = begin(&app.client, "/auth/github").await;
    let callback = at_provider(&url, "deny=1").await;
    assert!(callback.contains("error=access_denied"));
    let r = get(&app.client, &callback).await;
    assert_eq!(r.status, Status::BadRequest);
    assert!(r.body.contains("was cancelled"), "{}", r.body);
    assert_no_internals(&r);
    assert_eq!(whoami(&app.client).await, None);
    assert_eq!(fake.token_requests(), 0);
}

#[rocket::async_test]
async fn a_failing_token_endpoint_gets_a_clear_page() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    fake.set_token_mode(TokenMode::ServerError);
    let r = sign_in_with(&app.client, "github", "1001").await;
    assert_eq!(r.status, Status::BadGateway);
    assert!(
        r.body.contains("GitHub did not answer as expected"),
        "{}",
        r.body
    );
    assert_no_internals(&r);
    assert_eq!(whoami(&app.client).await, None);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
}

#[rocket::async_test]
async fn bad_json_from_the_token_endpoint_gets_a_clear_page() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("2002", "ada", "ada@example.org"));
    fake.set_token_mode(TokenMode::BadJson);
    let r = sign_in_with(&app.client, "google", "2002").await;
    assert_eq!(r.status, Status::BadGateway);
    assert!(
        r.body.contains("Google did not answer as expected"),
        "{}",
        r.body
    );
    assert_no_internals(&r);
    assert_eq!(whoami(&app.client).await, None);
}

#[rocket::async_test]
async fn a_provider_that_is_down_gets_a_clear_page() {
    let fake = FakeProvider::start().await;
    let app = TestApp::spawn_with(|f| {
        fake.configure(f)
            .merge(("oauth.github.token_url", "http://127.0.0.1:9/token"))
    })
    .await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let r = sign_in_with(&app.client, "github", "1001").await;
    assert_eq!(r.status, Status::BadGateway);
    assert_no_internals(&r);
}

// ------------------------------------------------------------- suspension

#[rocket::async_test]
async fn a_suspended_member_cannot_sign_in_through_a_provider_either() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let browser = app.another_browser().await;
    let r = sign_in_with(&browser, "github", "1001").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    common::accounts::logout(&browser).await;
    // A moderator suspends the account (src/moderation sets these).
    app.exec(
        "UPDATE users SET suspended_until = 4102444800, suspension_reason = 'Spamming <b>links</b>' \
         WHERE username = 'octocat'",
    )
    .await;
    let r = sign_in_with(&browser, "github", "1001").await;
    assert_eq!(r.status, Status::BadRequest, "{}", r.body);
    assert!(
        r.body.contains("This account is suspended until"),
        "{}",
        r.body
    );
    assert!(r.body.contains("Spamming &#60;b&#62;links"), "{}", r.body);
    assert!(!r.body.contains("<b>links"));
    assert!(r.set_cookie("gw_session").is_none());
    assert_eq!(whoami(&browser).await, None);
    // When the suspension is over, the provider signs them in again.
    app.exec("UPDATE users SET suspended_until = 1 WHERE username = 'octocat'")
        .await;
    let r = sign_in_with(&browser, "github", "1001").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(whoami(&browser).await.as_deref(), Some("octocat"));
}
