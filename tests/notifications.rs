//! Notifications (docs/social.md): written with the action that caused
//! them (and rolled back with it), never for one's own action; grouping of
//! a day's favourites and follows; the page, its cursor and the read
//! marker; the navigation's count; preferences. Mentions and replies are
//! in tests/mentions.rs, the JSON API in tests/notifications_api.rs.
//! Every test runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::blog::*;
use common::*;
use groundwork::notifications::{notify, Kind, Notice};
use rocket::http::Status;

use common::html::notifications_badge as badge;

/// Sign `username` up in `browser` (signing out whoever was signed in):
/// one app process for many members keeps Postgres connections few.
async fn become_member(browser: &rocket::local::asynchronous::Client, username: &str) {
    if get(browser, "/").await.body.contains("action=\"/logout\"") {
        common::accounts::logout(browser).await;
    }
    let email = format!("{username}@example.org");
    let r = signup(browser, username, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

async fn id_of(app: &TestApp, username: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM users WHERE username = '{username}'"
    ))
    .await
}

#[rocket::async_test]
async fn favourites_comments_and_follows_tell_the_author_and_raise_the_badge() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let url = write(&alice, "Hello <world>", "Text", "").await;
    assert_eq!(badge(&get(&alice, "/blog").await.body), None);

    // The author's own actions tell nobody.
    press(&alice, &url, &format!("{url}/favorite")).await;
    let r = submit(
        &alice,
        &url,
        &format!("{url}/comments"),
        &[("body", "Mine")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications").await, 0);

    let bob = app.member("bob").await;
    press(&bob, &url, &format!("{url}/favorite")).await;
    let r = submit(&bob, &url, &format!("{url}/comments"), &[("body", "Nice")]).await;
    assert_eq!(r.status, Status::SeeOther);
    let r = press(&bob, "/blog/author/alice", "/blog/author/alice/follow").await;
    assert_eq!(r.status, Status::SeeOther);
    // Doing it again changes nothing.
    press(&bob, &url, &format!("{url}/favorite")).await;

    let page = get(&alice, "/blog").await;
    assert_eq!(badge(&page.body).as_deref(), Some("3"), "{}", page.body);
    assert_eq!(badge(&get(&bob, "/blog").await.body), None);

    let list = get(&alice, "/notifications").await;
    assert_eq!(list.status, Status::Ok);
    let follow = list.body.find("bob started following you").expect("follow");
    let comment = list.body.find("bob commented on").expect("comment");
    let favourite = list.body.find("bob favourited").expect("favourite");
    assert!(follow < comment && comment < favourite, "newest first");
    assert!(list.body.contains("<strong>Hello &#60;world&#62;</strong>"));
    assert!(list.body.contains("href=\"/blog/author/bob\""));
    let comment_id = count(&app, "SELECT MAX(id) FROM comments").await;
    assert!(list
        .body
        .contains(&format!("href=\"{url}#comment-{comment_id}\"")));
    assert_eq!(list.body.matches("notification-unread").count(), 3);
    assert!(list.body.contains("3 unread."));

    // Anonymous visitors are sent to sign in.
    let visitor = app.another_browser().await;
    let r = get(&visitor, "/notifications").await;
    assert!(r.status == Status::SeeOther || r.status == Status::Unauthorized);
}

#[rocket::async_test]
async fn a_days_favourites_of_one_article_are_one_entry_with_a_count_and_the_latest_actors() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let url = write(&alice, "Popular", "Text", "").await;
    let m = app.another_browser().await;
    for name in ["bob", "carol", "dave", "erin"] {
        become_member(&m, name).await;
        press(&m, &url, &format!("{url}/favorite")).await;
        if name == "erin" {
            // Unfavourite and favourite again: still one of four.
            press(&m, &url, &format!("{url}/unfavorite")).await;
            press(&m, &url, &format!("{url}/favorite")).await;
        }
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications").await, 1);
    assert_eq!(
        count(&app, "SELECT actor_count FROM notifications").await,
        4
    );
    let list = get(&alice, "/notifications").await;
    assert!(
        list.body
            .contains("erin and 3 others favourited <strong>Popular</strong>"),
        "{}",
        list.body
    );
    assert_eq!(
        badge(&get(&alice, "/blog").await.body).as_deref(),
        Some("1")
    );

    // Read, then one more favourite: the entry is new and unread again.
    let r = submit(&alice, "/notifications", "/notifications/read", &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(badge(&get(&alice, "/blog").await.body), None);
    become_member(&m, "frank").await;
    press(&m, &url, &format!("{url}/favorite")).await;
    assert_eq!(
        badge(&get(&alice, "/blog").await.body).as_deref(),
        Some("1")
    );
    let list = get(&alice, "/notifications").await;
    assert!(list.body.contains("frank and 4 others favourited"));

    // Follows group the same way; another day is another entry.
    let alice_id = id_of(&app, "alice").await;
    for name in ["bob", "carol"] {
        become_member(&m, &format!("{name}2")).await;
        press(&m, "/blog/author/alice", "/blog/author/alice/follow").await;
    }
    let follows = format!(
        "SELECT COUNT(*) FROM notifications WHERE user_id = {alice_id} AND kind = 'follow'"
    );
    assert_eq!(count(&app, &follows).await, 1);
    app.exec("UPDATE notifications SET group_key = 'follow:me:1' WHERE kind = 'follow'")
        .await;
    become_member(&m, "gina").await;
    press(&m, "/blog/author/alice", "/blog/author/alice/follow").await;
    assert_eq!(count(&app, &follows).await, 2);
    let list = get(&alice, "/notifications").await;
    assert!(list.body.contains("gina started following you"));
    assert!(list.body.contains("carol2 and bob2 started following you"));
}

#[rocket::async_test]
async fn mark_all_read_needs_the_token_and_marks_only_what_the_page_showed() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let url = write(&alice, "Marked", "Text", "").await;
    let bob = app.member("bob").await;
    press(&bob, &url, &format!("{url}/favorite")).await;

    let r = post_raw(&alice, "/notifications/read", &[], &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM notification_reads").await,
        0
    );

    // An open page, then a comment arrives before "mark all read".
    let page = get(&alice, "/notifications").await;
    let up_to = extract_value(&page.body, "up_to").expect("up_to");
    submit(&bob, &url, &format!("{url}/comments"), &[("body", "Late")]).await;
    let r = post_raw(
        &alice,
        "/notifications/read",
        &[("csrf_token", &page.csrf()), ("up_to", &up_to)],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let list = get(&alice, "/notifications").await;
    assert!(list.body.contains("All marked as read."));
    assert_eq!(list.body.matches("notification-unread").count(), 1);
    assert!(list.body.contains("1 unread."));

    // The marker never moves back, and is the same in every browser.
    post_raw(
        &alice,
        "/notifications/read",
        &[("csrf_token", &list.csrf()), ("up_to", "0")],
        &[],
    )
    .await;
    assert_eq!(
        badge(&get(&alice, "/blog").await.body).as_deref(),
        Some("1")
    );
    let elsewhere = app.another_browser().await;
    login(&elsewhere, "alice@example.org", PASSWORD).await;
    assert_eq!(
        badge(&get(&elsewhere, "/blog").await.body).as_deref(),
        Some("1")
    );
    submit(&elsewhere, "/notifications", "/notifications/read", &[]).await;
    assert_eq!(badge(&get(&alice, "/blog").await.body), None);
}

#[rocket::async_test]
async fn a_notice_is_written_in_the_callers_transaction_and_rolled_back_with_it() {
    let app = TestApp::spawn_for_members().await;
    app.member("alice").await;
    app.member("bob").await;
    let (alice, bob) = (id_of(&app, "alice").await, id_of(&app, "bob").await);
    let notice = Notice {
        recipient: alice,
        actor: bob,
        kind: Kind::Comment,
        target: "comment:1",
        subject: "Title",
        url: "/blog/title",
    };
    let mut tx = groundwork::db::begin_write(&app.db).await.unwrap();
    assert!(notify(&mut tx, &notice).await.unwrap());
    tx.rollback().await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications").await, 0);

    let mut tx = groundwork::db::begin_write(&app.db).await.unwrap();
    assert!(notify(&mut tx, &notice).await.unwrap());
    // The same comment is never told twice; one's own action never.
    assert!(!notify(&mut tx, &notice).await.unwrap());
    let own = Notice {
        actor: alice,
        ..notice.clone()
    };
    assert!(!notify(&mut tx, &own).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications").await, 1);
}

#[rocket::async_test]
async fn the_list_pages_by_cursor_and_the_count_stops_at_99_plus() {
    let app = TestApp::spawn_for_members().await;
    let alice_browser = app.member("alice").await;
    app.member("bob").await;
    let (alice, bob) = (id_of(&app, "alice").await, id_of(&app, "bob").await);
    for i in 0..150 {
        app.exec_unannounced(&format!(
            "INSERT INTO notifications (user_id, kind, group_key, actor_id, actor_ids, actor_count, \
             subject, url, created_at) VALUES ({alice}, 'mention', 'mention:n:{i}', {bob}, '{bob}', 1, \
             'Post {i}', '/blog/p{i}', 1000)"
        ))
        .await;
    }
    let page = get(&alice_browser, "/blog").await;
    assert_eq!(badge(&page.body).as_deref(), Some("99+"));
    let first = get(&alice_browser, "/notifications").await;
    assert!(first.body.contains("99+ unread."));
    assert!(first.body.contains("<strong>Post 149</strong>"));
    assert_eq!(first.body.matches("id=\"notification-").count(), 30);
    let mut seen = 30;
    let mut next = extract_href(&first.body, "rel=\"next\"");
    let mut pages = 1;
    while let Some(url) = next {
        let page = get(&alice_browser, &url).await;
        assert_eq!(page.status, Status::Ok);
        seen += page.body.matches("id=\"notification-").count();
        next = extract_href(&page.body, "rel=\"next\"");
        pages += 1;
        if pages == 5 {
            assert!(page.body.contains("<strong>Post 0</strong>"));
        }
    }
    assert_eq!((seen, pages), (150, 5));
    let r = get(&alice_browser, "/notifications?before=abc").await;
    assert_eq!(r.status, Status::Ok);
}

/// The href of the link whose tag holds `marker`.
fn extract_href(body: &str, marker: &str) -> Option<String> {
    let at = body.find(marker)?;
    let tag_start = body[..at].rfind('<')?;
    let tag = &body[tag_start..at];
    let href = tag.split("href=\"").nth(1)?;
    Some(
        href[..href.find('"')?]
            .replace("&#61;", "=")
            .replace("&#38;", "&"),
    )
}

#[rocket::async_test]
async fn a_kind_turned_off_is_not_written() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let url = write(&alice, "Quiet", "Text", "").await;
    let form = get(&alice, "/notifications/preferences").await;
    assert!(form.body.contains("Favourites of my articles"));
    let r = post_raw(
        &alice,
        "/notifications/preferences",
        &[
            ("csrf_token", &form.csrf()),
            ("kinds", "comment"),
            ("kinds", "follow"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let form = get(&alice, "/notifications/preferences").await;
    assert!(form.body.contains("value=\"comment\" checked"));
    assert!(!form.body.contains("value=\"favourite\" checked"));

    let bob = app.member("bob").await;
    press(&bob, &url, &format!("{url}/favorite")).await;
    submit(&bob, &url, &format!("{url}/comments"), &[("body", "Hi")]).await;
    assert_eq!(
        app.text("SELECT kind FROM notifications").await.as_deref(),
        Some("comment")
    );
}
