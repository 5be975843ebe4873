//! Reports and moderation (docs/social.md): a member reports a comment, an
//! admin sees it in the queue with the content and hides it (the author
//! still sees it, with why; the reporter is told; the audit log has it);
//! a profile report ends in a suspension (sessions ended, sign-in refused
//! until then); the API; who may see the queue. Every test runs on
//! SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::accounts::session_count;
use common::blog::*;
use common::json_api::user_with_token;
use common::*;
use rocket::http::{Method, Status};

#[rocket::async_test]
async fn a_reported_comment_is_hidden_by_an_admin_and_the_reporter_is_told() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let url = write(&alice, "Discuss", "Text", "").await;
    let bob = app.member("bob").await;
    submit(
        &bob,
        &url,
        &format!("{url}/comments"),
        &[("body", "Rude words")],
    )
    .await;
    let comment = count(&app, "SELECT MAX(id) FROM comments").await;
    let carol = app.member("carol").await;

    let form_url = format!("/report?kind=comment&id={comment}");
    let form = get(&carol, &form_url).await;
    assert_eq!(form.status, Status::Ok);
    assert!(form.body.contains("Rude words"));
    let r = submit(
        &carol,
        &form_url,
        "/report",
        &[
            ("kind", "comment"),
            ("id", &comment.to_string()),
            ("reason", ""),
        ],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Say what is wrong."));
    let r = submit(
        &carol,
        &form_url,
        "/report",
        &[
            ("kind", "comment"),
            ("id", &comment.to_string()),
            ("reason", "<b>insults</b>"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    // Reporting oneself is refused.
    let r = submit(
        &bob,
        &form_url,
        "/report",
        &[
            ("kind", "comment"),
            ("id", &comment.to_string()),
            ("reason", "x"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);

    assert_eq!(
        get(&carol, "/admin/reports").await.status,
        Status::Forbidden
    );
    let admin = app.admin_browser("root").await;
    let queue = get(&admin, "/admin/reports").await;
    assert_eq!(queue.status, Status::Ok);
    assert!(queue.body.contains("Rude words") && queue.body.contains("&#60;b&#62;insults"));
    let report = count(&app, "SELECT MAX(id) FROM reports").await;
    let r = submit(
        &admin,
        "/admin/reports",
        &format!("/admin/reports/{report}/hide"),
        &[("reason", "Be kind")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);

    assert!(!get(&carol, &url).await.body.contains("Rude words"));
    let own = get(&bob, &url).await.body;
    assert!(own.contains("Rude words") && own.contains("A moderator hid your comment: Be kind"));
    let told = get(&carol, "/notifications").await.body;
    assert!(told.contains("root decided about your report on"), "{told}");
    assert!(told.contains("the content was hidden"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'report.hidden'"
        )
        .await,
        1
    );
    // A decided report cannot be decided again.
    let r = submit(
        &admin,
        "/admin/reports",
        &format!("/admin/reports/{report}/dismiss"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        app.text(&format!("SELECT status FROM reports WHERE id = {report}"))
            .await
            .as_deref(),
        Some("hidden")
    );
}

#[rocket::async_test]
async fn a_suspension_ends_sessions_and_refuses_sign_in_until_it_ends() {
    let app = TestApp::spawn_for_members().await;
    let bob = app.member("bob").await;
    let bob_id = count(&app, "SELECT id FROM users WHERE username = 'bob'").await;
    let (_, token) = user_with_token(&app, "carol", false).await;
    let r = app
        .api(Method::Post, "/reports")
        .token(&token)
        .json(&format!(
            "{{\"kind\": \"profile\", \"id\": {bob_id}, \"reason\": \"Spam\"}}"
        ))
        .send()
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let report = r.json()["id"].as_i64().unwrap();
    let r = app
        .api(Method::Post, "/reports")
        .token(&token)
        .json("{\"kind\": \"article\", \"id\": 999, \"reason\": \"Spam\"}")
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);

    let admin = app.admin_browser("root").await;
    let r = submit(
        &admin,
        "/admin/reports",
        &format!("/admin/reports/{report}/suspend"),
        &[("days", "3"), ("reason", "Spamming")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(session_count(&app, "bob").await, 0);
    let page = get(&bob, "/notifications").await;
    assert_ne!(page.status, Status::Ok, "signed out");
    let again = app.another_browser().await;
    let r = login(&again, "bob@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("This account is suspended until"));
    assert!(r.body.contains("Spamming"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'report.suspended'"
        )
        .await,
        1
    );

    app.exec(&format!(
        "UPDATE users SET suspended_until = 1 WHERE id = {bob_id}"
    ))
    .await;
    let r = login(&again, "bob@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
}

#[rocket::async_test]
async fn the_queue_shows_every_kind_of_content_reported() {
    // Articles, comments and profiles, several of each, described a kind
    // at a time.
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let first = write(&alice, "First post", "One", "").await;
    let second = write(&alice, "Second post", "Two", "").await;
    let bob = app.member("bob").await;
    for (url, text) in [(&first, "Comment one"), (&second, "Comment two")] {
        let r = submit(&bob, url, &format!("{url}/comments"), &[("body", text)]).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    }
    let (_, token) = user_with_token(&app, "carol", false).await;
    let targets = [
        (
            "article",
            "SELECT id FROM articles WHERE title = 'First post'",
        ),
        (
            "article",
            "SELECT id FROM articles WHERE title = 'Second post'",
        ),
        (
            "comment",
            "SELECT id FROM comments WHERE body = 'Comment one'",
        ),
        (
            "comment",
            "SELECT id FROM comments WHERE body = 'Comment two'",
        ),
        ("profile", "SELECT id FROM users WHERE username = 'bob'"),
    ];
    for (kind, sql) in targets {
        let id = count(&app, sql).await;
        let r = app
            .api(Method::Post, "/reports")
            .token(&token)
            .json(&format!(
                "{{\"kind\": \"{kind}\", \"id\": {id}, \"reason\": \"Spam\"}}"
            ))
            .send()
            .await;
        assert_eq!(r.status, Status::Created, "{kind}: {}", r.body);
    }
    let admin = app.admin_browser("root").await;
    let queue = get(&admin, "/admin/reports").await;
    assert_eq!(queue.status, Status::Ok);
    for shown in [
        "First post",
        "Second post",
        "comment on First post",
        "Comment one",
        "comment on Second post",
        "Comment two",
        "profile of bob",
    ] {
        assert!(queue.body.contains(shown), "no {shown:?} in {}", queue.body);
    }
}
