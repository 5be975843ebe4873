//! The session cache (#14): a session another app process has cached is
//! refused on its very next request after any revocation made through a
//! different process on the same database: sign-out, sign out everywhere,
//! a password change, disabling, deleting, a role change. On Postgres the
//! processes learn of it through LISTEN/NOTIFY; on SQLite (the apps share
//! this test process) through the in-process channel.
//!
//! Each test first proves the session really is served from process B's
//! cache: a rename written to the database without telling anyone is not
//! seen there. Without invalidation every test here fails.

use crate::common;
use common::accounts::{assert_sent_to_login, logout, SESSION};
use common::*;
use rocket::http::Status;
use rocket::local::asynchronous::Client;

/// The cookie value exactly as the server sent it in `Set-Cookie`.
fn raw_cookie(r: &Resp) -> String {
    let line = r
        .set_cookie(SESSION)
        .unwrap_or_else(|| panic!("no session cookie set: {:?}", r.headers));
    let first = line.split(';').next().unwrap_or_default();
    first[SESSION.len() + 1..].to_string()
}

/// A member with two sessions: `home` (signed up in process A) and a
/// second sign-in (`away`, in another browser), whose cookie `cookie` is
/// also sent to process `b`, where it is cached.
struct Victim {
    id: i64,
    home: Client,
    away: Client,
    b: Client,
    cookie: String,
}

impl Victim {
    /// GET `uri` on process B with the cached session's cookie.
    async fn on_b(&self, uri: &str) -> Resp {
        get_with(
            &self.b,
            uri,
            &[("Cookie", &format!("{SESSION}={}", self.cookie))],
        )
        .await
    }
}

async fn victim(app: &TestApp, name: &str, role: &str) -> Victim {
    let email = format!("{name}@example.org");
    let home = app.another_browser().await;
    let r = signup(&home, name, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    app.exec(&format!(
        "UPDATE users SET role = '{role}' WHERE username = '{name}'"
    ))
    .await;
    let away = app.another_browser().await;
    let r = login(&away, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let cookie = raw_cookie(&r);
    let b = app.another_browser().await;
    app_listening(&b).await;
    let id = app
        .scalar(&format!("SELECT id FROM users WHERE username = '{name}'"))
        .await;
    let v = Victim {
        id,
        home,
        away,
        b,
        cookie,
    };
    let r = v.on_b("/profile").await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains(name));
    // Served from B's cache: a change nobody announces is not seen there.
    app.exec_unannounced(&format!(
        "UPDATE users SET username = 'zz{name}' WHERE id = {id}"
    ))
    .await;
    let r = v.on_b("/").await;
    assert!(r.body.contains(name), "not cached: {}", r.body);
    assert!(!r.body.contains(&format!("zz{name}")));
    app.exec_unannounced(&format!(
        "UPDATE users SET username = '{name}' WHERE id = {id}"
    ))
    .await;
    v
}

/// The test's own browser (process A), signed in as an admin.
async fn with_admin() -> TestApp {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("boss").await;
    app.exec("UPDATE users SET role = 'admin' WHERE username = 'boss'")
        .await;
    app
}

#[rocket::async_test]
async fn signing_out_in_one_process_is_refused_next_in_another() {
    let app = with_admin().await;
    let v = victim(&app, "alice", "user").await;
    let r = logout(&v.away).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_sent_to_login(&v.on_b("/profile").await);
    assert_eq!(get(&v.home, "/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn signing_out_everywhere_is_refused_next_in_another_process() {
    let app = with_admin().await;
    let v = victim(&app, "alice", "user").await;
    let r = submit(&v.home, "/profile", "/sessions/end-others", &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_sent_to_login(&v.on_b("/profile").await);
    assert_eq!(get(&v.home, "/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn a_password_change_is_refused_next_in_another_process() {
    let app = with_admin().await;
    let v = victim(&app, "alice", "user").await;
    let r = submit(
        &v.home,
        "/profile",
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_sent_to_login(&v.on_b("/profile").await);
}

#[rocket::async_test]
async fn disabling_is_refused_next_in_another_process() {
    let app = with_admin().await;
    let v = victim(&app, "alice", "user").await;
    let page = format!("/admin/users/{}", v.id);
    let r = app.submit(&page, &format!("{page}/disable"), &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_sent_to_login(&v.on_b("/profile").await);
}

#[rocket::async_test]
async fn deleting_is_refused_next_in_another_process() {
    let app = with_admin().await;
    let v = victim(&app, "alice", "user").await;
    let token = app
        .get(&format!("/admin/users/{}/delete", v.id))
        .await
        .csrf();
    let r = app
        .post_raw(
            &format!("/user/{}", v.id),
            &[("_method", "delete"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE username = 'alice'")
            .await,
        0
    );
    assert_sent_to_login(&v.on_b("/profile").await);
}

#[rocket::async_test]
async fn a_role_change_is_refused_next_in_another_process() {
    let app = with_admin().await;
    let v = victim(&app, "carol", "admin").await;
    assert_eq!(v.on_b("/admin").await.status, Status::Ok);
    let page = format!("/admin/users/{}", v.id);
    let r = app
        .submit(&page, &format!("{page}/role"), &[("role", "user")])
        .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(v.on_b("/admin").await.status, Status::Forbidden);
    // And back: promotion is seen at once too.
    app.submit(&page, &format!("{page}/role"), &[("role", "admin")])
        .await;
    assert_eq!(v.on_b("/admin").await.status, Status::Ok);
}

/// Postgres only: when the listener's connection is cut, process B drops
/// its cache (a gap: it may have missed invalidations) and reads the
/// database again.
#[rocket::async_test]
async fn losing_the_listener_connection_empties_the_cache() {
    let app = with_admin().await;
    if !app.database_url.starts_with("postgres") {
        return;
    }
    let v = victim(&app, "alice", "user").await;
    let events =
        v.b.rocket()
            .state::<groundwork::events::Events>()
            .expect("events");
    let before = events.generation();
    app.exec_unannounced(&format!(
        "UPDATE users SET username = 'alicia' WHERE id = {}",
        v.id
    ))
    .await;
    assert!(!v.on_b("/").await.body.contains("alicia"), "not cached");
    // Cut every LISTEN connection of this database (Postgres shows the
    // last statement a connection ran).
    app.exec_unannounced(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND (query LIKE 'LISTEN%' OR query = 'SELECT 1')",
    )
    .await;
    for _ in 0..500 {
        if events.generation() != before {
            break;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_ne!(events.generation(), before, "the loss was not noticed");
    let r = v.on_b("/").await;
    assert!(r.body.contains("alicia"), "stale after a gap: {}", r.body);
}
