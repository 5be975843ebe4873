//! Limits against spam for new accounts (docs/social.md): no links before
//! the email address is confirmed; fewer posts per hour while the account
//! is new. Every test runs on SQLite, and on Postgres with
//! `TEST_DATABASE_URL`.

use crate::common;
use common::blog::*;
use common::*;
use rocket::http::Status;

#[rocket::async_test]
async fn links_wait_for_a_confirmed_email_address() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let fields = |body: &'static str| {
        [
            ("title", "Links"),
            ("description", "A summary"),
            ("body", body),
            ("tags", ""),
        ]
    };
    let r = submit(
        &alice,
        "/blog/new",
        "/blog",
        &fields("See https://spam.example"),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r
        .body
        .contains("Confirm your email address before posting links"));
    assert!(r.body.contains("See https://spam.example"), "kept as typed");
    let url = write(&alice, "Plain", "No links", "").await;
    let r = submit(
        &alice,
        &url,
        &format!("{url}/comments"),
        &[("body", "www.spam.example")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, 0);

    app.exec("UPDATE users SET email_verified = 1 WHERE username = 'alice'")
        .await;
    let r = submit(
        &alice,
        "/blog/new",
        "/blog",
        &fields("See https://example.org"),
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

#[rocket::async_test]
async fn a_new_account_posts_fewer_per_hour() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("blog_new_account_hours", 24))
            .merge(("blog_new_account_posts_per_hour", 2))
    })
    .await;
    let alice = app.member("alice").await;
    write(&alice, "One", "Text", "").await;
    write(&alice, "Two", "Text", "").await;
    let r = submit(
        &alice,
        "/blog/new",
        "/blog",
        &[
            ("title", "Three"),
            ("description", "d"),
            ("body", "Text"),
            ("tags", ""),
        ],
    )
    .await;
    assert_eq!(r.status, Status::TooManyRequests);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM articles").await, 2);

    // A day later the account is no longer new: the usual limit applies.
    app.exec("UPDATE users SET created_at = created_at - 100000 WHERE username = 'alice'")
        .await;
    write(&alice, "Three", "Text", "").await;
}
