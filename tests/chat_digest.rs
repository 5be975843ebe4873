//! The mention digest (one mail for unread mentions to a member who is
//! away, after a delay, at most one per interval, exactly once with several
//! processes; never for a room set to "none") and the unread badge in the
//! main navigation of every page.

use crate::common;
use std::time::Duration;

use common::chat::*;
use common::mail::*;
use common::smtp::*;
use common::*;

/// Sleep until the wall clock has just turned a second.
async fn at_the_start_of_a_second() {
    let into = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    rocket::tokio::time::sleep(Duration::from_millis(u64::from(1000 - into))).await;
}

fn digests(mails: &[Received]) -> Vec<&Received> {
    mails
        .iter()
        .filter(|m| m.header("Subject").is_some_and(|s| s.contains("mentioned")))
        .collect()
}

#[rocket::async_test]
async fn a_digest_of_mentions_is_mailed_once_after_the_delay_with_two_processes() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &url)
            .merge(("signups_per_address_per_hour", 100))
            .merge(("chat.messages_per_minute", 10_000))
            .merge(("chat.digest_delay_secs", 3))
            .merge(("chat.digest_check_secs", 1))
            .merge(("chat.digest_interval_secs", 3600))
            .merge(("jobs.poll_interval", 0.2))
    })
    .await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let carol = app.member("carol").await;
    // A second worker process on the same database, as a second node.
    let _second = app.another_browser().await;
    let room = create_room(&alice, "Plans", false).await;
    join(&bob, room).await;
    join(&carol, room).await;
    let page_uri = format!("/chat/rooms/{room}");
    let r = submit(
        &carol,
        &page_uri,
        &format!("{page_uri}/notify"),
        &[("notify", "none")],
    )
    .await;
    assert_eq!(r.status, rocket::http::Status::SeeOther);
    // Message times are whole seconds, and a digest takes the mentions
    // `digest_delay_secs` old: two posts on either side of a second's turn
    // could be split between two digests. Post at the start of a second.
    at_the_start_of_a_second().await;
    post_message(&alice, room, "@bob and @carol: <review> the plan?").await;
    post_message(&alice, room, "also @bob, the budget").await;

    // Not before the delay.
    rocket::tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(digests(&non_account_mail(&app, &sink).await).is_empty());

    let mails = wait_for_mail(&sink, 1, Duration::from_secs(20), |m| {
        m.is_to("bob@example.org") && m.header("Subject").is_some_and(|s| s.contains("mentioned"))
    })
    .await;
    assert_eq!(mails.len(), 1, "bob's digest");
    let text = mails[0].decoded();
    assert!(
        text.contains("You were mentioned 2 times in chat"),
        "{text}"
    );
    assert!(text.contains("Plans") && text.contains("the budget"));
    assert!(text.contains(&format!("/chat/rooms/{room}?around=")));
    // Several more runs of the job, in several processes: still one mail,
    // and none for carol, whose room is set to "none".
    rocket::tokio::time::sleep(Duration::from_secs(4)).await;
    let all = non_account_mail(&app, &sink).await;
    assert_eq!(digests(&all).len(), 1, "{:#?}", subjects(&all));
    assert!(!all.iter().any(|m| m.is_to("carol@example.org")));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE template = 'chat_digest'")
            .await,
        1
    );

    // A new mention within the interval waits for the next digest.
    post_message(&alice, room, "@bob one more").await;
    rocket::tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE template = 'chat_digest'")
            .await,
        1
    );
}

#[rocket::async_test]
async fn a_member_reading_the_mention_gets_no_digest() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &url)
            .merge(("signups_per_address_per_hour", 100))
            .merge(("chat.digest_delay_secs", 3))
            .merge(("chat.digest_check_secs", 1))
            .merge(("jobs.poll_interval", 0.2))
    })
    .await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Quiet", false).await;
    join(&bob, room).await;
    post_message(&alice, room, "hey @bob").await;
    page(&bob, &format!("/chat/rooms/{room}")).await;
    // Bob read it well within the delay (3 s: a loaded CI machine once
    // took over a second between the two requests); unread, the digest
    // would have gone by 3-4 s.
    rocket::tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE template = 'chat_digest'")
            .await,
        0
    );
}

/// The navigation badge of a page: (unread, mentions), or None.
fn badge(body: &str) -> Option<(i64, i64)> {
    let at = body.find("id=\"nav-chat-badge\"")?;
    let rest = &body[at..];
    let value = |name: &str| -> i64 {
        let start = rest.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        rest[start..].split('"').next().unwrap().parse().unwrap()
    };
    Some((value("data-nav-unread"), value("data-nav-mentions")))
}

#[rocket::async_test]
async fn the_navigation_badge_counts_unread_messages_on_every_page() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Lobby", false).await;
    join(&bob, room).await;
    let (_, home) = page(&bob, "/notes").await;
    assert_eq!(badge(&home), Some((0, 0)));
    assert!(
        home.contains("id=\"nav-chat-badge\" data-nav-unread=\"0\" data-nav-mentions=\"0\" hidden")
    );

    // Alice (another process) posts: bob's unrelated pages show it at once.
    post_message(&alice, room, "morning").await;
    let (_, notes) = page(&bob, "/notes").await;
    assert_eq!(badge(&notes), Some((1, 0)));
    post_message(&alice, room, "@bob are you there?").await;
    let (_, home) = page(&bob, "/").await;
    assert_eq!(badge(&home), Some((2, 1)));
    assert!(home.contains("nav-badge-mention"));

    // Reading the room clears it.
    page(&bob, &format!("/chat/rooms/{room}")).await;
    let (_, notes) = page(&bob, "/notes").await;
    assert_eq!(badge(&notes), Some((0, 0)));

    // A direct message counts; a room set to "none" does not.
    let dm = open_direct(&alice, "bob").await;
    post_message(&alice, dm, "psst").await;
    let (_, notes) = page(&bob, "/notes").await;
    assert_eq!(badge(&notes), Some((1, 0)));
    let page_uri = format!("/chat/rooms/{room}");
    submit(
        &bob,
        &page_uri,
        &format!("{page_uri}/notify"),
        &[("notify", "none")],
    )
    .await;
    post_message(&alice, room, "@bob muted now").await;
    let (_, notes) = page(&bob, "/notes").await;
    assert_eq!(badge(&notes), Some((1, 0)));
    // Alice's own messages never count for her.
    let (_, hers) = page(&alice, "/notes").await;
    assert_eq!(badge(&hers), Some((0, 0)));
}
