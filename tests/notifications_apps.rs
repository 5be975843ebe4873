//! Tasks and chat tell members through the site's one notifications
//! system (docs/social.md): a task assigned to me, a comment on a task
//! assigned to me or created by me, a mention in chat; and the
//! navigation's count kept live over `/notifications/events`.
//! Every test runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use std::time::Duration;

use common::chat::{create_room, join, open_sse, post_message, user_id};
use common::html::notifications_badge as badge;
use common::tasks::{add_member, create_project, create_task, token_of};
use common::*;
use rocket::http::{Method, Status};
use serde_json::json;

async fn spawn() -> TestApp {
    TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("chat.messages_per_minute", 10_000))
    })
    .await
}

/// `username`'s notifications as (kind, subject, url), newest first.
async fn notices(app: &TestApp, username: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT n.kind, n.subject, n.url FROM notifications n JOIN users u ON u.id = n.user_id \
         WHERE u.username = $1 ORDER BY n.id DESC",
    )
    .bind(username)
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
}

async fn kinds(app: &TestApp, username: &str) -> Vec<String> {
    notices(app, username)
        .await
        .into_iter()
        .map(|(k, _, _)| k)
        .collect()
}

#[rocket::async_test]
async fn tasks_tell_the_assignee_and_the_people_on_a_task_about_comments() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let carol = app.member("carol").await;
    let p = create_project(&alice, "Garden").await;
    add_member(&alice, p, "bob", "editor").await;
    add_member(&alice, p, "carol", "editor").await;
    let bob_id = user_id(&app, "bob").await;
    let carol_id = user_id(&app, "carol").await;
    let alice_id = user_id(&app, "alice").await;

    // Assigned at creation: bob is told, with the title escaped on his page.
    let title = "Prune <b>roses</b>";
    let t = create_task(
        &alice,
        p,
        &[("title", title), ("assignee", &bob_id.to_string())],
    )
    .await;
    let url = format!("/tasks/{p}/items/{t}");
    assert_eq!(
        notices(&app, "bob").await,
        [("task_assigned".into(), title.into(), url.clone())]
    );
    let page = get(&bob, "/notifications").await;
    assert!(page.body.contains("alice assigned you"), "{}", page.body);
    assert!(page
        .body
        .contains("<strong>Prune &#60;b&#62;roses&#60;/b&#62;</strong>"));
    assert!(!page.body.contains("<b>roses"));
    // One's own task assigned to oneself tells nobody.
    create_task(
        &alice,
        p,
        &[("title", "Mine"), ("assignee", &alice_id.to_string())],
    )
    .await;
    assert!(kinds(&app, "alice").await.is_empty());

    // Reassigned through the API: carol is told; a stale version writes
    // nothing, so tells nobody.
    let token = token_of(&alice, "alice").await;
    let item = format!("/tasks/{p}/items/{t}");
    let put = |body: serde_json::Value| {
        let (alice, token, item) = (&alice, token.clone(), item.clone());
        async move {
            alice
                .req(Method::Put, item)
                .header(rocket::http::Header::new("Accept", "application/json"))
                .header(rocket::http::Header::new(
                    "Authorization",
                    format!("Bearer {token}"),
                ))
                .header(rocket::http::ContentType::JSON)
                .body(body.to_string())
                .dispatch()
                .await
                .status()
        }
    };
    assert_eq!(
        put(json!({"title": title, "assignee_id": carol_id, "version": 1})).await,
        Status::Ok
    );
    assert_eq!(kinds(&app, "carol").await, ["task_assigned"]);
    assert_eq!(
        put(json!({"title": title, "assignee_id": bob_id, "version": 1})).await,
        Status::Conflict
    );
    assert_eq!(kinds(&app, "bob").await, ["task_assigned"]);
    // Back to bob: a new assignment is a new notification.
    assert_eq!(
        put(json!({"title": title, "assignee_id": bob_id, "version": 2})).await,
        Status::Ok
    );
    assert_eq!(kinds(&app, "bob").await, ["task_assigned", "task_assigned"]);

    // Carol comments: the assignee (bob) and the creator (alice) are told,
    // not carol; the link goes to the comment.
    let r = submit(
        &carol,
        &url,
        &format!("{url}/comments"),
        &[("body", "Done?")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let comment: i64 = app.scalar("SELECT MAX(id) FROM task_comments").await;
    let (kind, subject, link) = notices(&app, "alice").await.remove(0);
    assert_eq!(kind, "task_comment");
    assert_eq!(subject, title);
    assert_eq!(link, format!("{url}#comment-{comment}"));
    assert!(get(&alice, &url)
        .await
        .body
        .contains(&format!("id=\"comment-{comment}\"")));
    assert_eq!(kinds(&app, "bob").await[0], "task_comment");
    assert_eq!(kinds(&app, "carol").await, ["task_assigned"]);
    let page = get(&alice, "/notifications").await;
    assert!(page.body.contains("carol commented on your task"));

    // Bob turns comments on his tasks off: his own comment tells alice, and
    // carol's next one tells alice only.
    let prefs = get(&bob, "/notifications/preferences").await;
    assert!(prefs.body.contains("Comments on my tasks"));
    let kept: Vec<(&str, &str)> = ["follow", "favourite", "task_assigned", "chat_mention"]
        .iter()
        .map(|k| ("kinds", *k))
        .collect();
    let r = submit(
        &bob,
        "/notifications/preferences",
        "/notifications/preferences",
        &kept,
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let before = kinds(&app, "bob").await.len();
    submit(
        &bob,
        &url,
        &format!("{url}/comments"),
        &[("body", "Nearly")],
    )
    .await;
    submit(&carol, &url, &format!("{url}/comments"), &[("body", "Ok")]).await;
    assert_eq!(kinds(&app, "bob").await.len(), before);
    assert_eq!(
        kinds(&app, "alice").await,
        ["task_comment", "task_comment", "task_comment"]
    );
}

#[rocket::async_test]
async fn a_chat_mention_is_one_notification_unless_the_room_is_set_to_nothing() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "garden", false).await;
    join(&bob, room).await;

    let id = post_message(&alice, room, "hello @bob and @nobody").await;
    let link = format!("/chat/rooms/{room}?around={id}#m{id}");
    assert_eq!(
        notices(&app, "bob").await,
        [("chat_mention".into(), "#garden".into(), link)]
    );
    assert!(get(&bob, "/notifications")
        .await
        .body
        .contains("alice mentioned you in"));
    // An edit that keeps the mention tells him nothing new; a message that
    // only mentions its author tells nobody.
    let edit = format!("/chat/messages/{id}/edit");
    let r = submit(&alice, &edit, &edit, &[("body", "hi @bob")]).await;
    assert_eq!(r.status, Status::SeeOther);
    post_message(&alice, room, "note to @alice").await;
    assert_eq!(kinds(&app, "bob").await.len(), 1);
    assert!(kinds(&app, "alice").await.is_empty());

    // Bob sets the room to "nothing": no notification.
    let page = format!("/chat/rooms/{room}");
    let r = submit(
        &bob,
        &page,
        &format!("{page}/notify"),
        &[("notify", "none")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    post_message(&alice, room, "@bob are you there?").await;
    assert_eq!(kinds(&app, "bob").await.len(), 1);
}

#[rocket::async_test]
async fn the_notifications_digest_leaves_chat_mentions_to_the_chat_digest() {
    use groundwork::notifications::digest::{self, UnsubscribeKey};
    let app = spawn().await;
    let key = app
        .client
        .rocket()
        .state::<UnsubscribeKey>()
        .expect("the key is managed")
        .clone();
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let r = submit(
        &bob,
        "/notifications/preferences",
        "/notifications/preferences",
        &[
            ("kinds", "chat_mention"),
            ("kinds", "task_assigned"),
            ("digest", "daily"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let room = create_room(&alice, "garden", false).await;
    join(&bob, room).await;
    post_message(&alice, room, "@bob look").await;
    assert_eq!(kinds(&app, "bob").await, ["chat_mention"]);

    let mut conn = app.db.pool.acquire().await.unwrap();
    let site = "http://localhost:8000";
    assert_eq!(digest::run(&mut conn, site, &key).await.unwrap(), 0);

    // A task assigned to him is digest material: one mail, listing only it.
    let p = create_project(&alice, "Garden").await;
    add_member(&alice, p, "bob", "editor").await;
    let bob_id = user_id(&app, "bob").await;
    create_task(
        &alice,
        p,
        &[("title", "Water"), ("assignee", &bob_id.to_string())],
    )
    .await;
    assert_eq!(digest::run(&mut conn, site, &key).await.unwrap(), 1);
    let body = app
        .text("SELECT text_body FROM outbox WHERE template = 'notification_digest'")
        .await
        .unwrap_or_default();
    assert!(body.contains("Water"), "{body}");
    assert!(!body.contains("garden"), "{body}");
}

#[rocket::async_test]
async fn the_navigation_count_follows_notifications_live() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    app_listening(&alice).await;
    // Only a signed-in member has a stream.
    let anonymous = app.another_browser().await;
    assert_ne!(
        anonymous
            .get("/notifications/events")
            .dispatch()
            .await
            .status(),
        Status::Ok
    );
    // Every signed-in page loads the script that keeps it.
    assert!(get(&alice, "/")
        .await
        .body
        .contains("<script src=\"/static/js/live.js\" defer></script>"));
    let script = get(&anonymous, "/static/js/live.js").await;
    assert_eq!(script.status, Status::Ok);
    assert!(script.body.contains("/notifications/events"));
    assert!(!get(&anonymous, "/").await.body.contains("live.js"));

    let mut stream = open_sse(&alice, "/notifications/events").await;
    assert_eq!(stream.header("X-Accel-Buffering").as_deref(), Some("no"));
    let first = stream
        .next(Duration::from_secs(5))
        .await
        .expect("the count");
    assert_eq!(first.event, "unread");
    assert_eq!(first.json(), json!({"count": 0, "label": ""}));

    // Bob, on another app process, assigns her a task: her count moves.
    let bob_browser = app.another_browser().await;
    signup(&bob_browser, "bob", "bob@example.org", PASSWORD).await;
    let p = create_project(&bob_browser, "Garden").await;
    add_member(&bob_browser, p, "alice", "editor").await;
    let alice_id = user_id(&app, "alice").await;
    create_task(
        &bob_browser,
        p,
        &[("title", "Weed"), ("assignee", &alice_id.to_string())],
    )
    .await;
    let moved = stream
        .next(Duration::from_secs(5))
        .await
        .expect("a new count");
    assert_eq!(moved.json(), json!({"count": 1, "label": "1"}));

    // Marking all read (in another tab) brings it back to none.
    let r = submit(&alice, "/notifications", "/notifications/read", &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    let read = stream
        .next(Duration::from_secs(5))
        .await
        .expect("a new count");
    assert_eq!(read.json(), json!({"count": 0, "label": ""}));

    // Another member's notifications send her nothing.
    create_task(
        &alice,
        p,
        &[
            ("title", "Rake"),
            ("assignee", &user_id(&app, "bob").await.to_string()),
        ],
    )
    .await;
    assert_eq!(stream.next(Duration::from_millis(600)).await, None);
}

#[rocket::async_test]
async fn the_navigation_count_is_kept_per_process_and_dropped_on_every_change() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    app_listening(&alice).await;
    app_listening(&bob).await;
    let p = create_project(&bob, "Garden").await;
    add_member(&bob, p, "alice", "editor").await;
    let alice_id = user_id(&app, "alice").await;
    assert_eq!(badge(&get(&alice, "/notes").await.body), None);

    // A row written behind the app's back, announced to nobody: the count
    // kept from the last page is shown (the page asked no database).
    app.exec_unannounced(&format!(
        "INSERT INTO notifications (user_id, kind, group_key, actor_ids, actor_count, \
         subject, url, created_at) VALUES ({alice_id}, 'task_assigned', 'by-hand', '', 1, \
         'By hand', '/', 0)"
    ))
    .await;
    assert_eq!(badge(&get(&alice, "/notes").await.body), None);

    // A change through the app (on another app process) drops it: her next
    // page counts both.
    create_task(
        &bob,
        p,
        &[("title", "Weed"), ("assignee", &alice_id.to_string())],
    )
    .await;
    assert_eq!(
        badge(&get(&alice, "/notes").await.body).as_deref(),
        Some("2")
    );

    // Marking all read in another browser on another process: likewise.
    let phone = app.another_browser().await;
    login(&phone, "alice@example.org", PASSWORD).await;
    let r = submit(&phone, "/notifications", "/notifications/read", &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(badge(&get(&alice, "/notes").await.body), None);
}

#[rocket::async_test]
async fn a_members_streams_are_bounded_newest_first_and_end_with_the_session() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("notifications.streams_per_member", 2))
            .merge(("notifications.stream_check_secs", 1))
    })
    .await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;

    // Two streams per member in one process: a third ends her oldest (a
    // page left behind), and another member's are not counted against her.
    let mut first = open_sse(&alice, "/notifications/events").await;
    let mut bobs = open_sse(&bob, "/notifications/events").await;
    let mut second = open_sse(&alice, "/notifications/events").await;
    assert!(first.next(Duration::from_secs(5)).await.is_some());
    let mut again = open_sse(&alice, "/notifications/events").await;
    let end = first
        .next(Duration::from_secs(5))
        .await
        .expect("an end event");
    assert_eq!(end.event, "end");
    assert!(first.ends_within(Duration::from_secs(2)).await);
    assert!(again.next(Duration::from_secs(5)).await.is_some());
    assert!(bobs.next(Duration::from_secs(5)).await.is_some());
    assert!(!bobs.ends_within(Duration::from_millis(300)).await);

    // Signing out ends her streams within the check interval.
    assert!(second.next(Duration::from_secs(5)).await.is_some());
    common::accounts::logout(&alice).await;
    let end = second
        .next(Duration::from_secs(5))
        .await
        .expect("an end event");
    assert_eq!(end.event, "end");
    assert!(second.ends_within(Duration::from_secs(2)).await);
    assert!(again.ends_within(Duration::from_secs(5)).await);
}
