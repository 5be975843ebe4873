//! `@username` mentions in articles and comments (links to existing
//! members, one notification per post) and replies to comments (nested
//! one level, linked to the comment they answer, telling its author).
//! Every test runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::blog::*;
use common::*;
use rocket::http::Status;

async fn notices_of(app: &TestApp, username: &str, kind: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id \
         WHERE u.username = '{username}' AND n.kind = '{kind}'"
    ))
    .await
}

#[rocket::async_test]
async fn mentions_link_existing_members_and_tell_them_once() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    app.member("bob").await;
    let url = write(
        &alice,
        "Thanks",
        "Thanks @Bob and @nobody, mail alice@example.org, `@bob` in code, @alice.",
        "",
    )
    .await;
    let page = get(&alice, &url).await;
    assert!(
        page.body
            .contains("<a href=\"/blog/author/bob\" class=\"mention\">@Bob</a>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("@nobody") && !page.body.contains("/blog/author/nobody"));
    assert!(page.body.contains("<code>@bob</code>"));
    assert!(page.body.contains("alice@example.org"));
    assert_eq!(notices_of(&app, "bob", "mention").await, 1);
    assert_eq!(notices_of(&app, "alice", "mention").await, 0, "not oneself");

    // An edit that keeps the mention tells nobody again; a new one tells carol.
    app.member("carol").await;
    let r = submit(
        &alice,
        &format!("{url}/edit"),
        &format!("{url}/edit"),
        &[
            ("title", "Thanks"),
            ("description", "A summary"),
            ("body", "Thanks @bob and @carol"),
            ("tags", ""),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(notices_of(&app, "bob", "mention").await, 1);
    assert_eq!(notices_of(&app, "carol", "mention").await, 1);

    // In a comment: plain text, escaped, with the link.
    let dave = app.member("dave").await;
    let r = submit(
        &dave,
        &url,
        &format!("{url}/comments"),
        &[("body", "<b>@carol</b> agrees")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let page = get(&dave, &url).await;
    assert!(
        page.body.contains(
            "&#60;b&#62;<a href=\"/blog/author/carol\" class=\"mention\">@carol</a>&#60;/b&#62; agrees"
        ),
        "{}",
        page.body
    );
    assert_eq!(notices_of(&app, "carol", "mention").await, 2);
    let list = get(&app.another_browser().await, "/").await;
    assert_eq!(list.status, Status::Ok);
}

#[rocket::async_test]
async fn one_post_mentions_at_most_ten_members() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let mut body = String::new();
    // Twelve members (rows are enough: they never sign in).
    for i in 0..12 {
        app.exec_unannounced(&format!(
            "INSERT INTO users (username, email, created_at, updated_at) \
             VALUES ('user{i:02}', 'user{i:02}@example.org', 0, 0)"
        ))
        .await;
        body.push_str(&format!("@user{i:02} "));
    }
    write(&alice, "Crowd", &body, "").await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM notifications WHERE kind = 'mention'"
        )
        .await,
        10
    );
}

#[rocket::async_test]
async fn replies_nest_under_their_thread_link_their_parent_and_tell_its_author() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let url = write(&alice, "Threads", "Text", "").await;
    let bob = app.member("bob").await;
    let carol = app.member("carol").await;
    submit(&bob, &url, &format!("{url}/comments"), &[("body", "First")]).await;
    let first = count(&app, "SELECT MAX(id) FROM comments").await;

    // The reply link opens the form as a reply.
    let form = get(&carol, &format!("{url}?reply_to={first}")).await;
    assert!(form.body.contains("Replying to bob"), "{}", form.body);
    assert_eq!(
        extract_value(&form.body, "parent_id"),
        Some(first.to_string())
    );
    let r = post_raw(
        &carol,
        &format!("{url}/comments"),
        &[
            ("csrf_token", &form.csrf()),
            ("body", "Answer"),
            ("parent_id", &first.to_string()),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let answer = count(&app, "SELECT MAX(id) FROM comments").await;
    assert_eq!(notices_of(&app, "bob", "reply").await, 1);
    assert_eq!(notices_of(&app, "alice", "comment").await, 2);

    // A reply to the reply stays in the first comment's thread.
    let dave = app.member("dave").await;
    let form = get(&dave, &format!("{url}?reply_to={answer}")).await;
    let r = post_raw(
        &dave,
        &format!("{url}/comments"),
        &[
            ("csrf_token", &form.csrf()),
            ("body", "Deeper"),
            ("parent_id", &answer.to_string()),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let deeper = count(&app, "SELECT MAX(id) FROM comments").await;
    assert_eq!(
        count(
            &app,
            &format!("SELECT thread_id FROM comments WHERE id = {deeper}")
        )
        .await,
        first
    );
    assert_eq!(notices_of(&app, "carol", "reply").await, 1);
    submit(
        &bob,
        &url,
        &format!("{url}/comments"),
        &[("body", "Second")],
    )
    .await;

    let page = get(&alice, &url).await;
    let order: Vec<usize> = ["First", "Answer", "Deeper", "Second"]
        .iter()
        .map(|t| page.body.find(&format!(">{t}</p>")).expect(t))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(page.body.contains(&format!(
        "class=\"comment comment-reply\" id=\"comment-{deeper}\""
    )));
    assert!(page
        .body
        .contains(&format!("href=\"#comment-{answer}\">In reply to carol")));

    // A parent from another article, or a deleted one, is refused.
    let other = write(&alice, "Other", "Text", "").await;
    let form = get(&carol, &other).await;
    let r = post_raw(
        &carol,
        &format!("{other}/comments"),
        &[
            ("csrf_token", &form.csrf()),
            ("body", "Lost"),
            ("parent_id", &first.to_string()),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r
        .body
        .contains("The comment you are answering was deleted."));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM comments WHERE body = 'Lost'").await,
        0
    );
}
