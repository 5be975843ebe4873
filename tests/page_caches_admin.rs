//! The admin's jobs and audit log pages, kept per process (#14): each test
//! first proves a page is kept (a row changed without telling anyone is
//! not seen), then that every change it shows is on the next view, here
//! and in another process.

use crate::common;
use crate::page_caches::{jobs_settled, page, prompt_app};
use common::accounts::*;
use common::blog::press;
use common::*;
use rocket::http::Status;

/// A job given up, queued behind the app's back (nothing announced).
async fn dead_job(app: &TestApp, error: &str) -> i64 {
    app.exec_unannounced(&format!(
        "INSERT INTO jobs (kind, payload, state, run_at, attempts, max_attempts, last_error, created_at, updated_at) \
         VALUES ('report', '{{}}', 'dead', 0, 3, 3, '{error}', 0, 0)"
    ))
    .await;
    app.scalar("SELECT MAX(id) FROM jobs").await
}

#[rocket::async_test]
async fn the_jobs_pages_show_every_change_at_once() {
    let app = prompt_app().await;
    let admin = app.admin_browser("root").await;
    // A job finishing anywhere in this test process empties these pages
    // (as the dashboard's test explains): the proof is tried until one
    // pair of views falls between two of theirs.
    let mut proved = None;
    for i in 0..20 {
        jobs_settled(&app).await;
        let before = page(&admin, "/admin/jobs").await;
        let id = dead_job(&app, &format!("hidden {i}")).await;
        if !page(&admin, "/admin/jobs")
            .await
            .contains(&format!("hidden {i}"))
        {
            assert!(!before.contains(&format!("hidden {i}")));
            proved = Some(id);
            break;
        }
    }
    let id = proved.expect("the second view was never served from the cache");

    // An admin's retry moves it from the given-up page to the queued one.
    let r = press(&admin, "/admin/jobs", &format!("/admin/jobs/{id}/retry")).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let dead = page(&admin, "/admin/jobs?state=dead").await;
    assert!(!dead.contains(&format!("#{id}<")), "{dead}");
    let queued = page(&admin, "/admin/jobs?state=queued").await;
    assert!(queued.contains(&format!("#{id}<")), "{queued}");
    // (No handler runs this made-up job: out of the way.)
    app.exec_unannounced(&format!("DELETE FROM jobs WHERE id = {id}"))
        .await;

    // A job queued by the app (a member's sign-up mail) and then done.
    app.member("newcomer").await;
    jobs_settled(&app).await;
    let done = page(&admin, "/admin/jobs?state=done").await;
    assert!(done.contains("mail"), "{done}");
}

#[rocket::async_test]
async fn the_audit_log_shows_every_entry_at_once_in_every_process() {
    let app = prompt_app().await;
    let admin = app.admin_browser("root").await;
    let member = app.member("mia").await;
    drop(member);
    let id = app
        .scalar("SELECT id FROM users WHERE username = 'mia'")
        .await;
    let b = app.another_browser().await;
    app_listening(&b).await;
    let cookie = format!(
        "{SESSION}={}",
        admin.cookies().get(SESSION).expect("signed in").value()
    );
    let on_b = || async {
        let r = get_with(&b, "/admin/audit", &[("Cookie", cookie.as_str())]).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        r.body
    };
    let mut proved = false;
    for i in 0..20 {
        jobs_settled(&app).await;
        page(&admin, "/admin/audit").await;
        app.exec_unannounced(&format!(
            "INSERT INTO audit_log (actor_id, actor_name, action, target_id, target_name, detail, ip, created_at) \
             VALUES (NULL, 'ghost', 'hidden.{i}', NULL, '', '', '', 0)"
        ))
        .await;
        if !page(&admin, "/admin/audit")
            .await
            .contains(&format!("hidden.{i}"))
        {
            proved = true;
            break;
        }
    }
    assert!(proved, "the second view was never served from the cache");
    assert!(on_b().await.contains("root"));

    // An admin action writes an entry: on the next view here and on B.
    let user = format!("/admin/users/{id}");
    let r = press(&admin, &user, &format!("{user}/disable")).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(page(&admin, "/admin/audit").await.contains("user.disable"));
    assert!(on_b().await.contains("user.disable"), "B is stale");
}
