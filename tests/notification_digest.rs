//! The notifications mail digest (docs/social.md): chosen on the
//! preferences page, queued in the outbox once per period even when two
//! processes run it at once, listing what is unread; its unsubscribe link
//! works without signing in, once. Every test runs on SQLite, and on
//! Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::blog::*;
use common::*;
use groundwork::notifications::digest::{self, UnsubscribeKey};
use rocket::http::Status;

async fn run_twice_at_once(app: &TestApp, key: &UnsubscribeKey) -> usize {
    let mut a = app.db.pool.acquire().await.unwrap();
    let mut b = app.db.pool.acquire().await.unwrap();
    let (x, y) = rocket::tokio::join!(
        digest::run(&mut a, "http://localhost:8000", key),
        digest::run(&mut b, "http://localhost:8000", key)
    );
    x.expect("first run") + y.expect("second run")
}

async fn digests(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM outbox WHERE template = 'notification_digest'")
        .await
}

#[rocket::async_test]
async fn a_daily_digest_is_queued_once_and_its_link_unsubscribes_without_signing_in() {
    let app = TestApp::spawn_for_members().await;
    // The app's own key (every process derives it from the shared secret).
    let key = app
        .client
        .rocket()
        .state::<UnsubscribeKey>()
        .expect("the key is managed")
        .clone();
    let alice = app.member("alice").await;
    let url = write(&alice, "Digest me", "Text", "").await;
    let form = get(&alice, "/notifications/preferences").await;
    assert!(form.body.contains("value=\"off\" checked"));
    let kinds: Vec<(&str, &str)> = [
        "follow",
        "favourite",
        "comment",
        "reply",
        "mention",
        "report",
    ]
    .iter()
    .map(|k| ("kinds", *k))
    .collect();
    let mut fields = vec![("csrf_token", form.csrf()), ("digest", "daily".to_string())];
    fields.extend(kinds.iter().map(|(a, b)| (*a, b.to_string())));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let r = post_raw(&alice, "/notifications/preferences", &fields, &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert!(get(&alice, "/notifications/preferences")
        .await
        .body
        .contains("value=\"daily\" checked"));

    // Nothing to tell yet: no mail.
    assert_eq!(run_twice_at_once(&app, &key).await, 0);
    let bob = app.member("bob").await;
    submit(
        &bob,
        &url,
        &format!("{url}/comments"),
        &[("body", "<i>Hello</i>")],
    )
    .await;
    assert_eq!(run_twice_at_once(&app, &key).await, 1);
    assert_eq!(digests(&app).await, 1);
    let text = app
        .text("SELECT text_body FROM outbox WHERE template = 'notification_digest'")
        .await
        .unwrap();
    assert!(text.contains("bob commented on Digest me"), "{text}");
    assert!(text.contains("http://localhost:8000/blog/digest-me#comment-"));
    // Within the day: no second mail, whatever arrives.
    submit(&bob, &url, &format!("{url}/comments"), &[("body", "Again")]).await;
    assert_eq!(run_twice_at_once(&app, &key).await, 0);
    // A day later: the new one only.
    app.exec("UPDATE notification_digests SET sent_at = sent_at - 86400")
        .await;
    assert_eq!(run_twice_at_once(&app, &key).await, 1);
    assert_eq!(digests(&app).await, 2);

    let link = text
        .lines()
        .find(|l| l.contains("/notifications/unsubscribe/"))
        .unwrap()
        .trim()
        .trim_start_matches("http://localhost:8000")
        .to_string();
    let visitor = app.another_browser().await;
    let page = get(&visitor, &link).await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("Stop the digest"));
    let r = post_raw(&visitor, &link, &[("csrf_token", &page.csrf())], &[]).await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert!(r
        .body
        .contains("alice will get no more notification digests"));
    assert_eq!(
        app.text("SELECT frequency FROM notification_digests")
            .await
            .as_deref(),
        Some("off")
    );
    // The link works once; a forged one never.
    let again = get(&visitor, &link).await;
    let r = post_raw(&visitor, &link, &[("csrf_token", &again.csrf())], &[]).await;
    assert_eq!(r.status, Status::NotFound);
    let forged = get(&visitor, &format!("{link}x")).await;
    assert_eq!(forged.status, Status::NotFound);
    app.exec("UPDATE notification_digests SET sent_at = 0")
        .await;
    submit(&bob, &url, &format!("{url}/comments"), &[("body", "Third")]).await;
    assert_eq!(run_twice_at_once(&app, &key).await, 0);
}
