//! The rules around two-step sign-in (issue 20): a setting that requires
//! it of admins, signing out everywhere ending sign-ins halfway through,
//! and an admin's reset removing passkeys too.

use crate::common;
use common::accounts::*;
use common::passkey::*;
use common::twostep::*;
use common::*;

use rocket::http::Status;

#[rocket::async_test]
async fn an_admin_without_two_step_sign_in_is_sent_to_set_it_up_when_required() {
    let app = TestApp::spawn_with(|f| f.merge(("twostep.require_for_admins", true))).await;
    let admin = app.admin_browser("root").await;
    for page in ["/admin", "/admin/audit"] {
        let r = get(&admin, page).await;
        assert_eq!(r.status, Status::SeeOther, "{page}: {}", r.body);
        assert_eq!(r.location(), Some("/account/two-step"));
    }
    let page = get(&admin, "/account/two-step").await;
    assert!(
        page.body
            .contains("This site requires administrators to use two-step sign-in."),
        "{}",
        page.body
    );
    // A member is not an admin either way: 403 as before, no detour.
    let member = app.member("mia").await;
    assert_eq!(get(&member, "/admin").await.status, Status::Forbidden);

    enrol(&admin).await;
    let r = get(&admin, "/admin").await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
}

#[rocket::async_test]
async fn admins_need_no_second_factor_by_default() {
    let app = TestApp::spawn().await;
    let admin = app.admin_browser("root").await;
    assert_eq!(get(&admin, "/admin").await.status, Status::Ok);
}

#[rocket::async_test]
async fn signing_out_everywhere_ends_sign_ins_waiting_for_their_second_step() {
    let app = TestApp::spawn().await;
    let (browser, email) = user_in_own_browser(&app, "nina").await;
    let enrolled = enrol(&browser).await;
    // Someone else typed the password and waits for the code.
    let (elsewhere, r) = login_elsewhere(&app, &email, PASSWORD).await;
    assert_eq!(r.location(), Some("/login/two-step"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM twostep_pending").await, 1);

    let r = submit(&browser, "/profile", "/sessions/end-others", &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM twostep_pending").await, 0);
    let r = send_code(&elsewhere, &code_now(&enrolled.secret, 1)).await;
    assert_eq!(r.location(), Some("/login"), "{}", r.body);
    assert!(r.set_cookie(SESSION).is_none());
    assert_eq!(session_count(&app, "nina").await, 1);
}

#[rocket::async_test]
async fn an_admins_reset_removes_the_passkeys_too() {
    let app = TestApp::spawn().await;
    let (browser, email) = user_in_own_browser(&app, "otto").await;
    let (mut key, _) = add_passkey(&browser, "Lost phone").await;
    let admin = app.admin_browser("root").await;
    let id = app
        .scalar("SELECT id FROM users WHERE username = 'otto'")
        .await;
    let page = get(&admin, &format!("/admin/users/{id}")).await;
    assert!(
        page.body.contains("<dt>Passkeys</dt><dd>1</dd>"),
        "{}",
        page.body
    );
    let reset = format!("/admin/users/{id}/two-step/reset");
    let r = submit(&admin, &format!("/admin/users/{id}"), &reset, &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys").await, 0);
    assert_eq!(
        app.text("SELECT detail FROM audit_log WHERE action = 'user.twostep_reset'")
            .await
            .as_deref(),
        Some("passkeys removed: 1")
    );
    let subject = "An administrator removed the passkeys of your account (1)";
    let mailed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = $1 AND subject = $2")
            .bind(&email)
            .bind(subject)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(mailed, 1);
    logout(&browser).await;
    let (r, _) = sign_in_with(&browser, &mut key).await;
    assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
}
