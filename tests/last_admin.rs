//! "The last admin" counts only enabled admins, the same way on every path
//! that can remove one (admin demote, disable and delete; deleting one's
//! own account on the profile page and through the API), and two admins
//! demoting each other at once cannot leave none.

use crate::common;

use common::json_api::user_with_token;
use common::{submit, TestApp, PASSWORD};
use rocket::http::{Method, Status};
use serde_json::json;

async fn id_of(app: &TestApp, username: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM users WHERE username = '{username}'"
    ))
    .await
}

async fn enabled_admins(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
        .await
}

/// `boss`, an enabled admin signed in on the app's own browser, and `old`,
/// an admin an earlier admin disabled.
async fn boss_and_a_disabled_admin() -> TestApp {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("boss").await;
    app.exec("UPDATE users SET role = 'admin' WHERE username = 'boss'")
        .await;
    app.member("old").await;
    app.exec("UPDATE users SET role = 'admin', disabled = 1 WHERE username = 'old'")
        .await;
    app
}

#[rocket::async_test]
async fn a_disabled_admin_does_not_let_the_last_enabled_one_delete_their_account() {
    let app = boss_and_a_disabled_admin().await;
    let r = app
        .submit("/profile", "/account/delete", &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("You are the only admin."), "{}", r.body);
    assert_eq!(enabled_admins(&app).await, 1);
    assert_eq!(app.get("/admin").await.status, Status::Ok);
}

#[rocket::async_test]
async fn a_disabled_admin_does_not_let_the_last_enabled_one_delete_themselves_by_api() {
    let app = TestApp::spawn_for_members().await;
    let (boss, token) = user_with_token(&app, "boss", true).await;
    app.member("old").await;
    app.exec("UPDATE users SET role = 'admin', disabled = 1 WHERE username = 'old'")
        .await;
    let r = app
        .api(Method::Delete, &format!("/user/{boss}"))
        .token(&token)
        .json(&json!({"password": PASSWORD}).to_string())
        .send()
        .await;
    assert_eq!(r.status, Status::Conflict, "{}", r.body);
    assert_eq!(enabled_admins(&app).await, 1);
    // Once the other admin is enabled again, the first may leave.
    app.exec("UPDATE users SET disabled = 0 WHERE username = 'old'")
        .await;
    let r = app
        .api(Method::Delete, &format!("/user/{boss}"))
        .token(&token)
        .json(&json!({"password": PASSWORD}).to_string())
        .send()
        .await;
    assert_eq!(r.status, Status::NoContent, "{}", r.body);
    assert_eq!(enabled_admins(&app).await, 1);
}

#[rocket::async_test]
async fn the_admin_pages_count_only_enabled_admins_and_say_why() {
    let app = boss_and_a_disabled_admin().await;
    let boss = id_of(&app, "boss").await;
    let page = format!("/admin/users/{boss}");
    for (action, fields) in [("role", vec![("role", "user")]), ("disable", vec![])] {
        let r = app
            .submit(&page, &format!("/admin/users/{boss}/{action}"), &fields)
            .await;
        assert_eq!(r.status, Status::SeeOther, "{action}");
        assert!(app.get(&page).await.body.contains("last admin"), "{action}");
    }
    assert_eq!(enabled_admins(&app).await, 1);
    let audited = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action IN ('user.role', 'user.disable')")
        .await;
    assert_eq!(audited, 0, "a refused change is not in the audit log");
}

#[rocket::async_test]
async fn two_admins_demoting_each_other_at_once_leave_one() {
    let app = TestApp::spawn_for_members().await;
    for round in 0..5 {
        let (a, b) = (format!("ann{round}"), format!("ben{round}"));
        let ann = app.admin_browser(&a).await;
        let ben = app.admin_browser(&b).await;
        // Only these two are enabled admins this round.
        app.exec(&format!(
            "UPDATE users SET role = 'user' WHERE username NOT IN ('{a}', '{b}')"
        ))
        .await;
        let (ann_id, ben_id) = (id_of(&app, &a).await, id_of(&app, &b).await);
        let ann_page = format!("/admin/users/{ben_id}");
        let ben_page = format!("/admin/users/{ann_id}");
        let ann_action = format!("/admin/users/{ben_id}/role");
        let ben_action = format!("/admin/users/{ann_id}/role");
        let fields = [("role", "user")];
        rocket::tokio::join!(
            submit(&ann, &ann_page, &ann_action, &fields),
            submit(&ben, &ben_page, &ben_action, &fields),
        );
        assert_eq!(enabled_admins(&app).await, 1, "round {round}");
    }
}
