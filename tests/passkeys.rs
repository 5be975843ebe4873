//! Passkeys (WebAuthn, issue 20): adding, listing, renaming and removing
//! them on the profile, signing in with one on its own and as the second
//! step, and the rules the server keeps: a ceremony is used once and
//! expires, a passkey signs into its own account only, removing one needs
//! the password, every change is mailed. The browser's side is played by
//! a software authenticator (tests/common/passkey.rs).

use crate::common;
use common::accounts::*;
use common::passkey::*;
use common::twostep::*;
use common::*;

use rocket::http::{ContentType, Cookie, Header, Status};
use serde_json::json;

/// How many mails to `to` with `subject` wait in the outbox.
async fn queued(app: &TestApp, to: &str, subject: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = $1 AND subject = $2")
        .bind(to)
        .bind(subject)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

fn assert_done(r: &Resp, body: &serde_json::Value, to: &str) {
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(body["redirect"], to, "{}", r.body);
}

fn assert_signed_in(r: &Resp, body: &serde_json::Value) {
    assert_done(r, body, "/");
    assert!(r.set_cookie(SESSION).is_some(), "no session cookie");
}

fn assert_refused(r: &Resp, status: Status) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.set_cookie(SESSION).is_none(), "a session: {}", r.body);
}

#[rocket::async_test]
async fn a_member_adds_a_passkey_signs_out_and_signs_in_with_it() {
    let app = TestApp::spawn().await;
    let (browser, email) = user_in_own_browser(&app, "pia").await;
    let (mut key, done) = add_passkey(&browser, "Phone").await;
    let body: serde_json::Value = serde_json::from_str(&done.body).unwrap();
    assert_done(&done, &body, "/account/passkeys");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 1);
    // The ceremony is gone once used.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM passkey_ceremonies").await,
        0
    );
    let subject = "A passkey named \"Phone\" was added to your account";
    assert_eq!(queued(&app, &email, subject).await, 1);
    let page = get(&browser, "/account/passkeys").await;
    assert!(page.body.contains("<h3>Phone</h3>"), "{}", page.body);
    assert!(page.body.contains("Last used: never"));

    logout(&browser).await;
    let (r, body) = sign_in_with(&browser, &mut key).await;
    assert_signed_in(&r, &body);
    let profile = get(&browser, "/profile").await;
    assert_eq!(profile.status, Status::Ok);
    assert!(profile.body.contains("pia"));
    assert!(
        app.scalar("SELECT last_used_at FROM passkeys").await > 0,
        "last use not noted"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user.passkey_sign_in'")
            .await,
        1
    );
    // A passkey sign-in is a fresh sign-in: a second one works as well,
    // with the authenticator's counter moving on.
    logout(&browser).await;
    let (r, body) = sign_in_with(&browser, &mut key).await;
    assert_signed_in(&r, &body);
}

#[rocket::async_test]
async fn a_ceremony_is_used_once_even_with_its_cookie_copied() {
    let app = TestApp::spawn().await;
    let (browser, _) = user_in_own_browser(&app, "quinn").await;
    let (mut key, _) = add_passkey(&browser, "Laptop").await;
    logout(&browser).await;

    let (start, options) = post_json(&browser, "/login", "/login/passkey", &json!({})).await;
    assert_eq!(start.status, Status::Ok, "{}", start.body);
    let cookie = start
        .set_cookie("gw_passkey_signin")
        .expect("the ceremony's cookie")
        .to_string();
    let answer = key.get(&options);
    let (r, body) = post_json(&browser, "/login", "/login/passkey/finish", &answer).await;
    assert_signed_in(&r, &body);

    // The same answer with the same (copied) cookie, from elsewhere.
    let thief = app.another_browser().await;
    let token = get(&thief, "/login").await.csrf();
    let replay = thief
        .post("/login/passkey/finish")
        .header(ContentType::JSON)
        .header(Header::new("X-CSRF-Token", token))
        .cookie(Cookie::new("gw_passkey_signin", cookie))
        .body(answer.to_string())
        .dispatch()
        .await;
    let replay = Resp::read(replay).await;
    assert_refused(&replay, Status::BadRequest);
    assert!(replay.body.contains("try again"), "{}", replay.body);
}

#[rocket::async_test]
async fn a_ceremony_expires() {
    let app = TestApp::spawn().await;
    let (browser, _) = user_in_own_browser(&app, "rosa").await;
    let (mut key, _) = add_passkey(&browser, "Key").await;
    logout(&browser).await;
    let (_, options) = post_json(&browser, "/login", "/login/passkey", &json!({})).await;
    app.exec("UPDATE passkey_ceremonies SET expires_at = 1")
        .await;
    let (r, _) = post_json(
        &browser,
        "/login",
        "/login/passkey/finish",
        &key.get(&options),
    )
    .await;
    assert_refused(&r, Status::BadRequest);
    // An expired ceremony is swept when the next one starts.
    post_json(&browser, "/login", "/login/passkey", &json!({})).await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM passkey_ceremonies WHERE expires_at = 1")
            .await,
        0
    );
}

#[rocket::async_test]
async fn a_passkey_registered_to_one_account_cannot_sign_into_another() {
    let app = TestApp::spawn().await;
    let (alice, _) = user_in_own_browser(&app, "alice").await;
    let (bob, _) = user_in_own_browser(&app, "bob").await;
    let (mut alices, _) = add_passkey(&alice, "Alice's phone").await;
    let (bobs, _) = add_passkey(&bob, "Bob's phone").await;
    let stranger = app.another_browser().await;

    // Alice's key claiming to be Bob (his user handle).
    alices.user_handle = bobs.user_handle.clone();
    let (r, body) = sign_in_with(&stranger, &mut alices).await;
    assert_refused(&r, Status::Unauthorized);
    assert!(body["message"].as_str().unwrap().contains("not accepted"));

    // A passkey for another site (its origin) is refused too.
    let (mut key, _) = add_passkey(&alice, "Second").await;
    key.origin = "http://evil.example".into();
    let (r, _) = sign_in_with(&stranger, &mut key).await;
    assert_refused(&r, Status::Unauthorized);
    assert_eq!(session_count(&app, "alice").await, 1);
    assert_eq!(session_count(&app, "bob").await, 1);
}

#[rocket::async_test]
async fn removing_a_passkey_needs_the_password_and_is_mailed() {
    let app = TestApp::spawn().await;
    let (browser, email) = user_in_own_browser(&app, "sam").await;
    add_passkey(&browser, "Tablet").await;
    let id = app.scalar("SELECT id FROM passkeys").await;
    let action = format!("/account/passkeys/{id}/remove");

    let r = submit(
        &browser,
        "/account/passkeys",
        &action,
        &[("password", "wrong")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    assert!(r.body.contains("That is not your password."));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 1);

    // Another member cannot remove it, even with their own password.
    let other = app.member("tom").await;
    let r = submit(&other, "/profile", &action, &[("password", PASSWORD)]).await;
    assert_eq!(r.status, Status::NotFound);

    let r = submit(
        &browser,
        "/account/passkeys",
        &action,
        &[("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 0);
    let subject = "The passkey \"Tablet\" was removed from your account";
    assert_eq!(queued(&app, &email, subject).await, 1);
}

#[rocket::async_test]
async fn renaming_a_passkey_is_shown_and_mailed() {
    let app = TestApp::spawn().await;
    let (browser, email) = user_in_own_browser(&app, "uma").await;
    add_passkey(&browser, "Phone").await;
    let id = app.scalar("SELECT id FROM passkeys").await;
    let action = format!("/account/passkeys/{id}/rename");
    let r = submit(&browser, "/account/passkeys", &action, &[("name", "  ")]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        app.text("SELECT name FROM passkeys").await.unwrap(),
        "Phone"
    );
    let r = submit(
        &browser,
        "/account/passkeys",
        &action,
        &[("name", "Old phone")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let page = get(&browser, "/account/passkeys").await;
    assert!(page.body.contains("<h3>Old phone</h3>"), "{}", page.body);
    let subject = "Your passkey \"Phone\" was renamed to \"Old phone\"";
    assert_eq!(queued(&app, &email, subject).await, 1);
}

#[rocket::async_test]
async fn the_pages_render_with_and_without_passkeys() {
    let app = TestApp::spawn().await;
    let login = app.get("/login").await;
    assert!(login.body.contains("Sign in with a passkey"));
    assert!(login
        .body
        .contains("<script src=\"/static/js/passkeys.js\" defer></script>"));
    let script = app.get("/static/js/passkeys.js").await;
    assert_eq!(script.status, Status::Ok);
    assert!(script.body.contains("navigator.credentials"));

    let (browser, _) = user_in_own_browser(&app, "vera").await;
    let profile = get(&browser, "/profile").await;
    assert!(profile.body.contains("You have no passkeys."));
    let page = get(&browser, "/account/passkeys").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("You have no passkeys yet."));
    assert!(page.body.contains("data-passkey=\"register\""));

    add_passkey(&browser, "Phone").await;
    add_passkey(&browser, "Key <b>2</b>").await;
    let profile = get(&browser, "/profile").await;
    assert!(profile.body.contains("<strong>2</strong> passkeys"));
    let page = get(&browser, "/account/passkeys").await;
    assert!(page.body.contains("<h3>Phone</h3>"));
    assert!(
        page.body.contains("Key &#60;b&#62;2&#60;/b&#62;")
            || page.body.contains("Key &lt;b&gt;2&lt;/b&gt;")
    );
    assert!(page.body.contains("Your password, to remove Phone"));

    // Signed out, the page asks for a sign-in first.
    let anonymous = app.another_browser().await;
    assert_sent_to_login(&get(&anonymous, "/account/passkeys").await);
}

#[rocket::async_test]
async fn a_name_is_required_and_the_json_requests_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let (browser, _) = user_in_own_browser(&app, "walt").await;
    let (r, body) = post_json(
        &browser,
        "/account/passkeys",
        "/account/passkeys/register",
        &json!({ "name": " " }),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    assert!(body["fields"]["name"].as_str().is_some(), "{}", r.body);

    let r = browser
        .post("/account/passkeys/register")
        .header(ContentType::JSON)
        .body(json!({ "name": "Phone" }).to_string())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM passkey_ceremonies").await,
        0
    );
}

#[rocket::async_test]
async fn a_passkey_serves_as_the_second_step_after_the_password() {
    let app = TestApp::spawn().await;
    let (browser, email) = user_in_own_browser(&app, "xena").await;
    enrol(&browser).await;
    let (mut key, _) = add_passkey(&browser, "Phone").await;
    logout(&browser).await;

    let r = login(&browser, &email, PASSWORD).await;
    assert_eq!(r.location(), Some("/login/two-step"));
    let page = get(&browser, "/login/two-step").await;
    assert!(page.body.contains("Use a passkey"), "{}", page.body);
    let (r, options) = post_json(&browser, "/login", "/login/two-step/passkey", &json!({})).await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(
        options["publicKey"]["allowCredentials"][0]["id"],
        b64(&key.credential_id)
    );
    let answer = key.get(&options);
    let (r, body) = post_json(
        &browser,
        "/login",
        "/login/two-step/passkey/finish",
        &answer,
    )
    .await;
    assert_signed_in(&r, &body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM twostep_pending").await, 0);
}

#[rocket::async_test]
async fn another_accounts_passkey_is_no_second_step() {
    let app = TestApp::spawn().await;
    let (yan, yan_email) = user_in_own_browser(&app, "yan").await;
    enrol(&yan).await;
    add_passkey(&yan, "Yan's").await;
    let (zoe, _) = user_in_own_browser(&app, "zoe").await;
    let (mut zoes, _) = add_passkey(&zoe, "Zoe's").await;
    logout(&yan).await;

    login(&yan, &yan_email, PASSWORD).await;
    let (_, options) = post_json(&yan, "/login", "/login/two-step/passkey", &json!({})).await;
    let (r, _) = post_json(
        &yan,
        "/login",
        "/login/two-step/passkey/finish",
        &zoes.get(&options),
    )
    .await;
    assert_refused(&r, Status::Unauthorized);
    assert_eq!(session_count(&app, "yan").await, 0);
}

#[rocket::async_test]
async fn a_disabled_or_suspended_account_does_not_sign_in_with_its_passkey() {
    let app = TestApp::spawn().await;
    let (browser, _) = user_in_own_browser(&app, "ada").await;
    let (mut key, _) = add_passkey(&browser, "Phone").await;
    logout(&browser).await;

    app.exec("UPDATE users SET suspended_until = 4102444800, suspension_reason = 'spam' WHERE username = 'ada'")
        .await;
    let (r, body) = sign_in_with(&browser, &mut key).await;
    assert_refused(&r, Status::Forbidden);
    assert!(body["message"].as_str().unwrap().contains("suspended"));

    app.exec("UPDATE users SET suspended_until = 0, disabled = 1 WHERE username = 'ada'")
        .await;
    let (r, body) = sign_in_with(&browser, &mut key).await;
    assert_refused(&r, Status::Forbidden);
    assert!(body["message"].as_str().unwrap().contains("disabled"));
}

#[rocket::async_test]
async fn passkeys_that_do_not_sign_in_count_against_the_address_limit() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_address", 2))).await;
    let (browser, _) = user_in_own_browser(&app, "bodil").await;
    let (mut key, _) = add_passkey(&browser, "Phone").await;
    logout(&browser).await;
    key.origin = "http://evil.example".into();
    for _ in 0..2 {
        let (r, _) = sign_in_with(&browser, &mut key).await;
        assert_refused(&r, Status::Unauthorized);
    }
    let (r, _) = post_json(&browser, "/login", "/login/passkey", &json!({})).await;
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
}

#[rocket::async_test]
async fn a_site_whose_address_is_an_ip_address_says_passkeys_are_unavailable() {
    let app = TestApp::spawn_with(|f| f.merge(("base_url", "http://127.0.0.1:8000"))).await;
    let (browser, _) = user_in_own_browser(&app, "cleo").await;
    let page = get(&browser, "/account/passkeys").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page
        .body
        .contains("Passkeys are not available on this site"));
    assert!(!page.body.contains("data-passkey=\"register\""));
    let (r, body) = post_json(&browser, "/profile", "/login/passkey", &json!({})).await;
    assert_eq!(r.status, Status::BadRequest, "{}", r.body);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not available"),
        "{}",
        r.body
    );
}

#[rocket::async_test]
async fn an_account_without_a_password_removes_a_passkey_within_minutes_of_signing_in() {
    use common::oauth::FakeUser;
    let (fake, app) = common::oauth_flow::setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let r = common::oauth_flow::sign_in_with(&app.client, "github", "1001").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let (mut key, _) = add_passkey(&app.client, "Phone").await;
    let id = app.scalar("SELECT id FROM passkeys").await;
    let action = format!("/account/passkeys/{id}/remove");
    let page = get(&app.client, "/account/passkeys").await;
    assert!(
        page.body.contains("Your account has no password"),
        "{}",
        page.body
    );

    // Long after signing in: a fresh sign-in is needed first.
    app.exec("UPDATE sessions SET reauth_at = 1").await;
    let r = submit(&app.client, "/account/passkeys", &action, &[]).await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 1);

    // Signed in again, with the passkey itself: that counts.
    logout(&app.client).await;
    let (r, body) = sign_in_with(&app.client, &mut key).await;
    assert_signed_in(&r, &body);
    let r = submit(&app.client, "/account/passkeys", &action, &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 0);
}
