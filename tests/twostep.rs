//! Two-step sign-in with an authenticator app and recovery codes (issue
//! 20): enrolment, the second step after the password, replay, skew,
//! wrong codes, recovery codes, expiry, turning it off. Codes are computed
//! here from the secret the setup page shows, as an app would.

use crate::common;
use common::accounts::*;
use common::twostep::*;
use common::*;

use rocket::http::Status;

/// How many mails to `to` with `subject` wait in the outbox.
async fn queued(app: &TestApp, to: &str, subject: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = $1 AND subject = $2")
        .bind(to)
        .bind(subject)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// A member with two-step sign-in on, signed out; their browser and what
/// enrolling gave them.
async fn enrolled_member(
    app: &TestApp,
    username: &str,
) -> (rocket::local::asynchronous::Client, String, Enrolled) {
    let (browser, email) = user_in_own_browser(app, username).await;
    let enrolled = enrol(&browser).await;
    let r = logout(&browser).await;
    assert_eq!(r.status, Status::SeeOther);
    (browser, email, enrolled)
}

fn assert_sent_to_second_step(r: &Resp) {
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/login/two-step"));
    assert!(r.set_cookie(SESSION).is_none(), "a session before the code");
}

fn assert_signed_in(r: &Resp) {
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/"));
    assert!(r.set_cookie(SESSION).is_some(), "no session cookie");
}

#[rocket::async_test]
async fn enrolment_turns_it_on_only_after_a_valid_code() {
    let app = TestApp::spawn().await;
    let (browser, email) = user_in_own_browser(&app, "tina").await;
    let page = get(&browser, "/profile").await;
    assert!(page
        .body
        .contains("Two-step sign-in is <strong>off</strong>"));
    let setup = submit(
        &browser,
        "/account/two-step",
        "/account/two-step/setup",
        &[],
    )
    .await;
    assert_eq!(setup.status, Status::Ok, "{}", setup.body);
    assert!(setup.body.contains("<svg"));
    let typed = secret_on_page(&setup.body);
    let secret = base32_decode(&typed);
    // The secret is stored sealed, never as the member sees it.
    let sealed = app
        .text("SELECT secret_sealed FROM twostep_totp")
        .await
        .unwrap();
    assert!(!sealed.contains(&typed.replace(' ', "")));

    // A wrong first code: the page again, and it stays off.
    let wrong = code_now(&secret, 5);
    let r = post_raw(
        &browser,
        "/account/two-step/enable",
        &[("csrf_token", &setup.csrf()), ("code", &wrong)],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("That code is not right"));
    assert_eq!(
        secret_on_page(&r.body),
        typed,
        "the same secret is offered again"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM twostep_totp WHERE enabled = 1")
            .await,
        0
    );
    logout(&browser).await;
    assert_signed_in(&login(&browser, &email, PASSWORD).await);

    // A right one: on, and ten recovery codes shown once, stored hashed.
    let r = post_raw(
        &browser,
        "/account/two-step/enable",
        &[
            (
                "csrf_token",
                &get(&browser, "/account/two-step").await.csrf(),
            ),
            ("code", &code_now(&secret, 0)),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let codes = codes_on_page(&r.body);
    assert_eq!(codes.len(), 10);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM twostep_totp WHERE enabled = 1")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM twostep_recovery_codes")
            .await,
        10
    );
    for code in &codes {
        let stored = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM twostep_recovery_codes WHERE code_hash LIKE '%{}%'",
                code.replace('-', "")
            ))
            .await;
        assert_eq!(stored, 0, "a recovery code stored as is");
    }
    assert_eq!(
        queued(
            &app,
            &email,
            "Two-step sign-in was turned on for your account"
        )
        .await,
        1
    );
    let page = get(&browser, "/account/two-step").await;
    assert!(page.body.contains("Two-step sign-in is on"));
    assert!(page
        .body
        .contains("<strong>10</strong> unused recovery codes"));
    assert!(!page.body.contains(&codes[0]), "codes are shown only once");
    // Setting up again while it is on is refused.
    let again = submit(
        &browser,
        "/account/two-step",
        "/account/two-step/setup",
        &[],
    )
    .await;
    assert_eq!(again.status, Status::SeeOther);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM twostep_totp WHERE enabled = 1")
            .await,
        1
    );
}

#[rocket::async_test]
async fn the_codes_download_as_text_and_nothing_else_does() {
    let app = TestApp::spawn().await;
    let (browser, _) = user_in_own_browser(&app, "uma").await;
    let enrolled = enrol(&browser).await;
    let token = get(&browser, "/account/two-step").await.csrf();
    let all = enrolled.codes.join(" ");
    let r = post_raw(
        &browser,
        "/account/two-step/recovery-codes.txt",
        &[("csrf_token", &token), ("codes", &all)],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("attachment"));
    for code in &enrolled.codes {
        assert!(r.body.contains(code.as_str()));
    }
    let forged = post_raw(
        &browser,
        "/account/two-step/recovery-codes.txt",
        &[("csrf_token", &token), ("codes", "abcd-efgh-jkmn <script>")],
        &[],
    )
    .await;
    assert_eq!(forged.status, Status::BadRequest);
    assert!(!forged.body.contains("<script>"));
}

#[rocket::async_test]
async fn the_password_leads_to_a_second_step_that_grants_nothing_until_the_code() {
    let app = TestApp::spawn().await;
    let (browser, email, enrolled) = enrolled_member(&app, "vic").await;
    let r = login(&browser, &email, PASSWORD).await;
    assert_sent_to_second_step(&r);
    assert!(r.set_cookie("gw_twostep").is_some());
    let page = get(&browser, "/login/two-step").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("autocomplete=\"one-time-code\""));
    // Halfway through is not signed in.
    assert_sent_to_login(&get(&browser, "/profile").await);
    assert_eq!(session_count(&app, "vic").await, 0);
    // Another browser cannot finish this browser's sign-in.
    let other = app.another_browser().await;
    let r = send_code(&other, &code_now(&enrolled.secret, 1)).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/login"));
    assert!(r.set_cookie(SESSION).is_none());
    // The code (a step ahead: the clock may be late) signs this one in.
    let code = code_now(&enrolled.secret, 1);
    assert_signed_in(&send_code(&browser, &code).await);
    assert_eq!(get(&browser, "/profile").await.status, Status::Ok);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM twostep_pending").await, 0);

    // The same code never works twice.
    logout(&browser).await;
    assert_sent_to_second_step(&login(&browser, &email, PASSWORD).await);
    let replay = send_code(&browser, &code).await;
    assert_eq!(replay.status, Status::Unauthorized, "{}", replay.body);
    assert!(replay.set_cookie(SESSION).is_none());
    // Nor a code far from now.
    let far = send_code(&browser, &code_now(&enrolled.secret, -3)).await;
    assert_eq!(far.status, Status::Unauthorized);
    // A recovery code does, once.
    assert_signed_in(&send_code(&browser, &enrolled.codes[0].to_uppercase()).await);
    logout(&browser).await;
    assert_sent_to_second_step(&login(&browser, &email, PASSWORD).await);
    let again = send_code(&browser, &enrolled.codes[0]).await;
    assert_eq!(again.status, Status::Unauthorized);
    assert_signed_in(&send_code(&browser, &enrolled.codes[1]).await);
    assert!(get(&browser, "/account/two-step")
        .await
        .body
        .contains("<strong>8</strong> unused recovery codes"));
}

#[rocket::async_test]
async fn a_code_from_a_phone_one_step_behind_is_accepted() {
    let app = TestApp::spawn().await;
    let (browser, _) = user_in_own_browser(&app, "walt").await;
    // Enrolling takes the previous step's code (a slow phone's clock).
    let enrolled = enrol_with_offset(&browser, -1).await;
    assert_eq!(enrolled.codes.len(), 10);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM twostep_totp WHERE enabled = 1")
            .await,
        1
    );
}

#[rocket::async_test]
async fn too_many_wrong_codes_need_the_password_again() {
    let app = TestApp::spawn().await;
    let (browser, email, enrolled) = enrolled_member(&app, "xavi").await;
    assert_sent_to_second_step(&login(&browser, &email, PASSWORD).await);
    let right = code_now(&enrolled.secret, 1);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        let r = send_code(&browser, wrong).await;
        assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
    }
    // The sixth try is refused even with the right code: back to the password.
    let r = send_code(&browser, &right).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/login"));
    assert!(r.set_cookie(SESSION).is_none());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM twostep_pending").await, 0);
    let login_page = get(&browser, "/login").await;
    assert!(
        login_page.body.contains("Too many wrong codes"),
        "{}",
        login_page.body
    );
    assert_eq!(
        get(&browser, "/login/two-step").await.location(),
        Some("/login")
    );
    // The password again, and the code works.
    assert_sent_to_second_step(&login(&browser, &email, PASSWORD).await);
    assert_signed_in(&send_code(&browser, &right).await);
}

#[rocket::async_test]
async fn a_pending_sign_in_expires() {
    let app = TestApp::spawn().await;
    let (browser, email, enrolled) = enrolled_member(&app, "yola").await;
    assert_sent_to_second_step(&login(&browser, &email, PASSWORD).await);
    app.exec("UPDATE twostep_pending SET expires_at = 1").await;
    let r = send_code(&browser, &code_now(&enrolled.secret, 1)).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/login"));
    assert!(r.set_cookie(SESSION).is_none());
    assert!(get(&browser, "/login")
        .await
        .body
        .contains("not finished in time"));
    assert_eq!(session_count(&app, "yola").await, 0);
}

#[rocket::async_test]
async fn new_recovery_codes_need_the_password_and_void_the_old_ones() {
    let app = TestApp::spawn().await;
    let (browser, email, enrolled) = enrolled_member(&app, "zeke").await;
    assert_sent_to_second_step(&login(&browser, &email, PASSWORD).await);
    assert_signed_in(&send_code(&browser, &code_now(&enrolled.secret, 1)).await);
    let refused = submit(
        &browser,
        "/account/two-step",
        "/account/two-step/recovery-codes",
        &[("password", "not my password at all")],
    )
    .await;
    assert_eq!(refused.status, Status::UnprocessableEntity);
    assert!(refused.body.contains("That is not your password"));
    assert!(codes_on_page(&refused.body).is_empty());
    let r = submit(
        &browser,
        "/account/two-step",
        "/account/two-step/recovery-codes",
        &[("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let fresh = codes_on_page(&r.body);
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !enrolled.codes.contains(c)));
    assert_eq!(
        queued(
            &app,
            &email,
            "New recovery codes were made for your account; the old ones no longer work"
        )
        .await,
        1
    );
    logout(&browser).await;
    assert_sent_to_second_step(&login(&browser, &email, PASSWORD).await);
    let old = send_code(&browser, &enrolled.codes[3]).await;
    assert_eq!(old.status, Status::Unauthorized);
    assert_signed_in(&send_code(&browser, &fresh[3]).await);
}

#[rocket::async_test]
async fn turning_it_off_needs_the_password_and_is_mailed() {
    let app = TestApp::spawn().await;
    let (browser, email, enrolled) = enrolled_member(&app, "abel").await;
    assert_sent_to_second_step(&login(&browser, &email, PASSWORD).await);
    assert_signed_in(&send_code(&browser, &enrolled.codes[0]).await);
    let refused = submit(
        &browser,
        "/account/two-step",
        "/account/two-step/disable",
        &[("password", "not my password at all")],
    )
    .await;
    assert_eq!(refused.status, Status::UnprocessableEntity);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM twostep_totp WHERE enabled = 1")
            .await,
        1
    );
    let r = submit(
        &browser,
        "/account/two-step",
        "/account/two-step/disable",
        &[("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM twostep_totp").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM twostep_recovery_codes")
            .await,
        0
    );
    assert_eq!(
        queued(
            &app,
            &email,
            "Two-step sign-in was turned off for your account"
        )
        .await,
        1
    );
    // The password alone signs in again.
    logout(&browser).await;
    assert_signed_in(&login(&browser, &email, PASSWORD).await);
}
