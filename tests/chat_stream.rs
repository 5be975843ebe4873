//! The live stream `/chat/events`, read as it arrives: messages, edits and
//! deletions reach members whichever app process they were posted through
//! (every test member has an app of their own on the one database: on
//! Postgres that is LISTEN/NOTIFY, on SQLite the in-process broadcast);
//! `Last-Event-ID` replays exactly what was missed; outsiders and removed
//! members receive nothing; heartbeats; the end of the session and
//! Rocket's shutdown end the stream.

use crate::common;
use std::time::Duration;

use common::chat::*;
use common::*;
use rocket::http::{Header, Method, Status};

const SOON: Duration = Duration::from_secs(3);
const QUIET: Duration = Duration::from_millis(1500);

#[rocket::async_test]
async fn members_receive_messages_edits_and_deletions_from_another_process() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Live", true).await;
    invite(&alice, room, "bob").await;
    app_listening(&alice).await;
    app_listening(&bob).await;

    let mut stream = open_stream(&bob, None).await;
    assert_eq!(stream.header("X-Accel-Buffering").as_deref(), Some("no"));
    assert_eq!(
        stream.header("Content-Type").as_deref(),
        Some("text/event-stream")
    );
    let id = post_message(&alice, room, "hello **bob**").await;
    let e = stream.next(SOON).await.expect("the new message arrives");
    assert_eq!(e.event, "message");
    let d = e.json();
    assert_eq!(d["room_id"], room);
    assert_eq!(d["message"]["id"], id);
    assert_eq!(d["message"]["author"], "alice");
    assert_eq!(d["message"]["html"], "<p>hello <strong>bob</strong></p>\n");
    let first = e.id.expect("an event id");

    let edit = format!("/chat/messages/{id}/edit");
    submit(&alice, &edit, &edit, &[("body", "hello again")]).await;
    let e = stream.next(SOON).await.expect("the edit arrives");
    assert_eq!(e.event, "edit");
    assert_eq!(e.json()["message"]["edited"], true);
    assert!(e.id.unwrap() > first);

    let delete = format!("/chat/messages/{id}/delete");
    submit(&alice, &delete, &delete, &[]).await;
    let e = stream.next(SOON).await.expect("the deletion arrives");
    assert_eq!(e.event, "delete");
    assert_eq!(e.json()["message"]["deleted"], true);
    assert_eq!(e.json()["message"]["body"], "");
}

#[rocket::async_test]
async fn reconnecting_with_last_event_id_replays_exactly_what_was_missed() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Replay", false).await;
    join(&bob, room).await;
    app_listening(&bob).await;

    let mut stream = open_stream(&bob, None).await;
    post_message(&alice, room, "seen").await;
    let seen = stream.next(SOON).await.expect("first message");
    drop(stream);

    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(post_message(&alice, room, &format!("missed {i}")).await);
    }
    let mut stream = open_stream(&bob, seen.id).await;
    let replayed = stream.drain(QUIET).await;
    let ids: Vec<i64> = replayed
        .iter()
        .map(|e| e.json()["message"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, missed, "exactly the missed messages, in order");
    let event_ids: Vec<i64> = replayed.iter().map(|e| e.id.unwrap()).collect();
    assert!(event_ids.windows(2).all(|w| w[0] < w[1]));
    assert!(event_ids[0] > seen.id.unwrap());

    // And live again afterwards, once.
    let next = post_message(&alice, room, "live again").await;
    let live = stream.drain(QUIET).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].json()["message"]["id"], next);
}

#[rocket::async_test]
async fn an_outsider_receives_nothing_of_a_private_room() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let eve = app.member("eve").await;
    let secret = create_room(&alice, "Secret", true).await;
    let open = create_room(&alice, "Lobby", false).await;
    join(&eve, open).await;
    app_listening(&eve).await;
    let mut stream = open_stream(&eve, None).await;
    post_message(&alice, secret, "not for eve").await;
    let lobby = post_message(&alice, open, "for everyone").await;
    let got = stream.drain(QUIET).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].json()["message"]["id"], lobby);
    // Replaying from the start shows no more.
    let mut replay = open_stream(&eve, Some(0)).await;
    let all = replay.drain(QUIET).await;
    assert!(all.iter().all(|e| e.json()["room_id"] == open), "{all:?}");
    assert!(!all.iter().any(|e| e.data.contains("not for eve")));
}

#[rocket::async_test]
async fn a_removed_member_stops_receiving_at_once() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Shrinking", true).await;
    invite(&alice, room, "bob").await;
    app_listening(&bob).await;
    let mut stream = open_stream(&bob, None).await;
    let bob_id = user_id(&app, "bob").await;
    let members = format!("/chat/rooms/{room}/members");
    submit(
        &alice,
        &members,
        &format!("/chat/rooms/{room}/members/{bob_id}/remove"),
        &[],
    )
    .await;
    let e = stream.next(SOON).await.expect("bob learns he was removed");
    assert_eq!(e.event, "leave");
    assert_eq!(e.json()["user_id"], bob_id);
    post_message(&alice, room, "after bob left").await;
    // The stream still runs: a message in a room bob is in arrives, alone.
    let lobby = create_room(&alice, "Lobby", false).await;
    join(&bob, lobby).await;
    let hello = post_message(&alice, lobby, "hello lobby").await;
    let got = stream.drain(QUIET).await;
    let messages: Vec<_> = got.iter().filter(|e| e.event == "message").collect();
    assert_eq!(messages.len(), 1, "{got:?}");
    assert_eq!(messages[0].json()["message"]["id"], hello);
    assert!(!got.iter().any(|e| e.json()["room_id"] == room), "{got:?}");
}

#[rocket::async_test]
async fn the_stream_takes_a_bearer_token_and_refuses_strangers() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let room = create_room(&alice, "Api", false).await;
    let anonymous = app.another_browser().await;
    let r = get(&anonymous, "/chat/events").await;
    assert_ne!(r.status, Status::Ok);
    let r = app
        .api(Method::Get, "/chat/events")
        .token("not-a-token")
        .send()
        .await;
    assert_eq!(r.status, Status::Unauthorized);

    let token = json_api::token_for(&alice, "alice@example.org").await;
    let client = app.another_browser().await;
    app_listening(&client).await;
    let response = client
        .get("/chat/events")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let id = post_message(&alice, room, "via token").await;
    let mut body = response;
    let mut seen = String::new();
    let deadline = rocket::tokio::time::Instant::now() + SOON;
    while !seen.contains(&format!("\"id\":{id}")) {
        let mut chunk = [0u8; 4096];
        use rocket::tokio::io::AsyncReadExt;
        let n = rocket::tokio::time::timeout_at(deadline, body.read(&mut chunk))
            .await
            .expect("the message arrives")
            .expect("read");
        assert!(n > 0, "stream ended");
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
}

#[rocket::async_test]
async fn heartbeats_flow_and_signing_out_ends_the_stream() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("chat.heartbeat_secs", 1))
            .merge(("chat.poll_secs", 1))
    })
    .await;
    let bob = app.member("bob").await;
    let mut stream = open_stream(&bob, None).await;
    // Within three seconds of silence, heartbeat comments (":") every second.
    let mut text = String::new();
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        match stream.raw(Duration::from_millis(1500)).await {
            Some(chunk) => text.push_str(&chunk),
            None => break,
        }
    }
    let beats = text.lines().filter(|l| *l == ":").count();
    assert!(beats >= 2, "{text:?}");

    let other = app.another_browser().await;
    login(&other, "bob@example.org", PASSWORD).await;
    // "Sign out other sessions" in another browser ends this one too.
    let r = submit(&other, "/profile", "/sessions/end-others", &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let e = stream
        .next(Duration::from_secs(5))
        .await
        .expect("an end event");
    assert_eq!(e.event, "end");
    assert!(stream.ends_within(Duration::from_secs(3)).await, "closed");
}

#[rocket::async_test]
async fn shutdown_ends_open_streams() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("chat.heartbeat_secs", 1))
    })
    .await;
    let bob = app.member("bob").await;
    let mut stream = open_stream(&bob, None).await;
    // Alive (heartbeats keep coming) until the shutdown.
    assert!(!stream.ends_within(Duration::from_millis(2500)).await);
    bob.rocket().shutdown().notify();
    assert!(
        stream.ends_within(Duration::from_secs(3)).await,
        "the stream ends at shutdown"
    );
}

/// Open `/chat/events` and return only the status and body when it is
/// refused.
async fn refused(client: &rocket::local::asynchronous::Client) -> (Status, String, Option<String>) {
    let r = client.get("/chat/events").dispatch().await;
    let status = r.status();
    let retry = r.headers().get_one("Retry-After").map(str::to_string);
    (status, r.into_string().await.unwrap_or_default(), retry)
}

#[rocket::async_test]
async fn a_member_may_hold_only_so_many_streams_and_a_closed_one_frees_its_slot() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("chat.messages_per_minute", 10_000))
            .merge(("chat.streams_per_member", 2))
    })
    .await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Busy", false).await;
    join(&bob, room).await;

    let mut first = open_stream(&bob, None).await;
    let second = open_stream(&bob, None).await;
    let (status, body, retry) = refused(&bob).await;
    assert_eq!(status, Status::TooManyRequests, "{body}");
    assert!(body.contains("too_many_streams"), "{body}");
    assert!(
        body.contains("You already have 2 live chat connections open"),
        "{body}"
    );
    assert_eq!(retry.as_deref(), Some("30"));
    // Another member is not affected by bob's streams.
    let mut alices = open_stream(&alice, None).await;

    // Closing one frees its slot at once.
    drop(second);
    let mut third = open_stream(&bob, None).await;
    // And the open ones all still deliver, once each.
    let id = post_message(&alice, room, "to every tab").await;
    for s in [&mut first, &mut third, &mut alices] {
        let got = s.drain(QUIET).await;
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].json()["message"]["id"], id);
    }
}

#[rocket::async_test]
async fn a_process_serves_only_so_many_streams_in_all() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("chat.max_streams", 2))
    })
    .await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let carol = app.member("carol").await;
    // Each member's browser is an app process of its own in the tests:
    // fill bob's with two streams.
    let _a = open_stream(&bob, None).await;
    let _b = open_stream(&bob, None).await;
    let (status, body, _) = refused(&bob).await;
    assert_eq!(status, Status::TooManyRequests, "{body}");
    assert!(
        body.contains("as many live chat connections as it can take"),
        "{body}"
    );
    // Other processes have their own count.
    let _c = open_stream(&carol, None).await;
    let _d = open_stream(&alice, None).await;
}

#[rocket::async_test]
async fn many_streams_in_one_process_each_receive_every_message_once_in_order() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let carol = app.member("carol").await;
    let room = create_room(&alice, "Crowd", false).await;
    let quiet = create_room(&alice, "Quiet", true).await;
    join(&bob, room).await;
    join(&carol, room).await;
    app_listening(&bob).await;
    // Bob's process: several tabs of bob's; carol in hers.
    let mut tabs = Vec::new();
    for _ in 0..5 {
        tabs.push(open_stream(&bob, None).await);
    }
    let mut carols = open_stream(&carol, None).await;
    let mut posted = Vec::new();
    for i in 0..20 {
        posted.push(post_message(&alice, room, &format!("crowd {i}")).await);
        post_message(&alice, quiet, &format!("private {i}")).await;
    }
    for s in tabs.iter_mut().chain(std::iter::once(&mut carols)) {
        let got = s.drain(QUIET).await;
        let ids: Vec<i64> = got
            .iter()
            .map(|e| e.json()["message"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, posted, "every message of the room, once, in order");
    }
}

#[rocket::async_test]
async fn a_stream_that_does_not_read_for_a_long_while_still_gets_everything_once() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Flood", false).await;
    join(&bob, room).await;
    app_listening(&bob).await;
    let mut stream = open_stream(&bob, None).await;
    // More than a stream's queue holds (256), none of it read meanwhile:
    // the dispatcher cuts the stream off and it catches up from the
    // database.
    let mut posted = Vec::new();
    for i in 0..300 {
        posted.push(post_message(&alice, room, &format!("flood {i}")).await);
    }
    let got = stream.drain(Duration::from_secs(3)).await;
    let ids: Vec<i64> = got
        .iter()
        .map(|e| e.json()["message"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), posted.len());
    assert_eq!(ids, posted, "all of them, once, in order");
}

#[rocket::async_test]
async fn a_stream_ends_after_its_lifetime_asking_the_client_to_reconnect_and_frees_its_slot() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("chat.heartbeat_secs", 1))
            .merge(("chat.stream_lifetime_secs", 2))
            .merge(("chat.streams_per_member", 1))
    })
    .await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Long", false).await;
    join(&bob, room).await;
    let mut stream = open_stream(&bob, None).await;
    post_message(&alice, room, "before").await;
    let seen = stream.next(SOON).await.expect("the message arrives");
    let e = stream
        .next(Duration::from_secs(5))
        .await
        .expect("a reconnect event");
    assert_eq!(e.event, "reconnect");
    assert!(stream.ends_within(Duration::from_secs(3)).await, "closed");
    // The slot is free again, and the reconnect misses nothing.
    let id = post_message(&alice, room, "meanwhile").await;
    let mut again = open_stream(&bob, seen.id).await;
    let got = again.next(SOON).await.expect("what came meanwhile");
    assert_eq!(got.json()["message"]["id"], id);
}

#[rocket::async_test]
async fn a_last_event_id_beyond_the_newest_event_cannot_make_a_stream_skip_whats_next() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Ahead", false).await;
    join(&bob, room).await;
    app_listening(&bob).await;
    let mut stream = open_stream(&bob, Some(i64::MAX / 2)).await;
    let id = post_message(&alice, room, "next").await;
    let got = stream.drain(QUIET).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].json()["message"]["id"], id);
}
