//! Chat rooms: creating, joining, leaving, inviting, removing, renaming,
//! archiving; and privacy: an outsider gets 404 on every page, form and
//! API route of a private room, exactly as for a room that does not exist.
//! Messages: tests/chat_messages.rs; the live stream: tests/chat_stream.rs;
//! the JSON API: tests/chat_api.rs.

use crate::common;
use common::chat::*;
use common::*;
use rocket::http::{Method, Status};

#[rocket::async_test]
async fn anonymous_visitors_are_sent_to_sign_in() {
    let app = spawn().await;
    for uri in ["/chat", "/chat/new", "/chat/rooms/1"] {
        let r = app.get(uri).await;
        assert_eq!(r.status, Status::SeeOther, "{uri}");
        assert!(r.location().unwrap().starts_with("/login"), "{uri}");
    }
}

#[rocket::async_test]
async fn a_member_creates_an_open_room_another_joins_and_leaves_it() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "General <talk>", false).await;
    let (status, body) = page(&alice, &format!("/chat/rooms/{room}")).await;
    assert_eq!(status, Status::Ok);
    html::assert_shown_as_text(&body, "General <talk>");
    assert!(body.contains("Settings"), "the creator is a room admin");

    // Bob sees it among the rooms he may join, can read it, cannot post yet.
    let (_, list) = page(&bob, "/chat").await;
    assert!(list.contains("Open rooms you may join"));
    html::assert_shown_as_text(&list, "General <talk>");
    let (status, body) = page(&bob, &format!("/chat/rooms/{room}")).await;
    assert_eq!(status, Status::Ok);
    assert!(body.contains("Join to write"));
    let r = submit(
        &bob,
        &format!("/chat/rooms/{room}"),
        &format!("/chat/rooms/{room}/messages"),
        &[("body", "hi")],
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM chat_messages").await, 0);

    join(&bob, room).await;
    let id = post_message(&bob, room, "hello all").await;
    assert!(id > 0);
    let (_, members) = page(&alice, &format!("/chat/rooms/{room}/members")).await;
    assert!(members.contains(">bob</a>"));

    let r = submit(
        &bob,
        &format!("/chat/rooms/{room}"),
        &format!("/chat/rooms/{room}/leave"),
        &[],
    )
    .await;
    assert_eq!(r.location(), Some("/chat"));
    let bob_id = user_id(&app, "bob").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM chat_members WHERE room_id = {room} AND user_id = {bob_id}"
        ))
        .await,
        0
    );
}

#[rocket::async_test]
async fn room_names_are_checked_and_unique_whatever_their_case() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    create_room(&alice, "Ops", false).await;
    let r = submit(
        &alice,
        "/chat/new",
        "/chat/rooms",
        &[("name", "ops"), ("topic", "x")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("A room with this name exists already"));
    assert!(r.body.contains("value=\"ops\""), "input kept");
    let r = submit(&alice, "/chat/new", "/chat/rooms", &[("name", "  ")]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Give the room a name."));
    let long = "x".repeat(61);
    let r = submit(&alice, "/chat/new", "/chat/rooms", &[("name", &long)]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM chat_rooms").await, 1);
}

#[rocket::async_test]
async fn without_a_csrf_token_nothing_is_created() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let r = post_raw(&alice, "/chat/rooms", &[("name", "Sneaky")], &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM chat_rooms").await, 0);
}

#[rocket::async_test]
async fn an_outsider_gets_404_on_everything_of_a_private_room() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let eve = app.member("eve").await;
    let room = create_room(&alice, "Secret plans", true).await;
    let message = post_message(&alice, room, "the plan").await;

    let (_, list) = page(&eve, "/chat").await;
    assert!(!list.contains("Secret plans"));
    for uri in [
        format!("/chat/rooms/{room}"),
        format!("/chat/rooms/{room}?around={message}"),
        format!("/chat/rooms/{room}/members"),
        format!("/chat/rooms/{room}/settings"),
        format!("/chat/messages/{message}/edit"),
        format!("/chat/messages/{message}/delete"),
    ] {
        let r = get(&eve, &uri).await;
        assert_eq!(r.status, Status::NotFound, "{uri}");
        assert!(!r.body.contains("Secret plans") && !r.body.contains("the plan"));
    }
    // The same answer as for a room that does not exist.
    assert_eq!(
        get(&eve, "/chat/rooms/999999").await.status,
        Status::NotFound
    );

    let token = get(&eve, "/chat").await.csrf();
    for action in [
        format!("/chat/rooms/{room}/messages"),
        format!("/chat/rooms/{room}/join"),
        format!("/chat/rooms/{room}/leave"),
        format!("/chat/rooms/{room}/read"),
        format!("/chat/rooms/{room}/settings"),
        format!("/chat/rooms/{room}/members"),
        format!("/chat/messages/{message}/edit"),
        format!("/chat/messages/{message}/delete"),
    ] {
        let r = post_raw(
            &eve,
            &action,
            &[
                ("csrf_token", &token),
                ("body", "mine now"),
                ("name", "Mine"),
                ("username", "eve"),
                ("upto", "1"),
            ],
            &[],
        )
        .await;
        assert_eq!(r.status, Status::NotFound, "{action}");
    }
    assert_eq!(
        app.text(&format!(
            "SELECT body FROM chat_messages WHERE id = {message}"
        ))
        .await
        .as_deref(),
        Some("the plan")
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM chat_members WHERE room_id = {room}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.text(&format!("SELECT name FROM chat_rooms WHERE id = {room}"))
            .await
            .as_deref(),
        Some("Secret plans")
    );

    // The API says the same.
    let token = json_api::token_for(&eve, "eve@example.org").await;
    for (method, uri, body) in [
        (Method::Get, format!("/chat/rooms/{room}"), None),
        (Method::Get, format!("/chat/rooms/{room}/members"), None),
        (Method::Get, format!("/chat/rooms/{room}/messages"), None),
        (Method::Get, format!("/chat/messages/{message}"), None),
        (
            Method::Post,
            format!("/chat/rooms/{room}/messages"),
            Some(r#"{"body":"x"}"#),
        ),
        (
            Method::Post,
            format!("/chat/rooms/{room}/members"),
            Some("{}"),
        ),
        (
            Method::Patch,
            format!("/chat/rooms/{room}"),
            Some(r#"{"name":"x"}"#),
        ),
        (
            Method::Patch,
            format!("/chat/messages/{message}"),
            Some(r#"{"body":"x"}"#),
        ),
        (Method::Delete, format!("/chat/messages/{message}"), None),
        (
            Method::Put,
            format!("/chat/rooms/{room}/read"),
            Some(r#"{"last_read_id":1}"#),
        ),
    ] {
        let mut req = app.api(method, &uri).token(&token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await;
        assert_eq!(r.status, Status::NotFound, "{method} {uri}: {}", r.body);
    }
    let r = app
        .api(Method::Get, "/chat/rooms")
        .token(&token)
        .send()
        .await;
    assert!(!r.body.contains("Secret plans"));
}

#[rocket::async_test]
async fn a_room_admin_invites_to_a_private_room_and_removes_again() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Board", true).await;
    invite(&alice, room, "BOB").await;
    let (status, body) = page(&bob, &format!("/chat/rooms/{room}")).await;
    assert_eq!(status, Status::Ok);
    assert!(body.contains("Board"));
    let (_, list) = page(&bob, "/chat").await;
    assert!(list.contains("Board"));

    // A plain member may not invite or remove.
    let page_uri = format!("/chat/rooms/{room}/members");
    app.member("carol").await;
    let r = submit(&bob, &page_uri, &page_uri, &[("username", "carol")]).await;
    assert_eq!(r.status, Status::Forbidden);

    // An unknown username is a field error.
    let r = submit(&alice, &page_uri, &page_uri, &[("username", "nobody")]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("No member has this username."));

    let bob_id = user_id(&app, "bob").await;
    let r = submit(
        &alice,
        &page_uri,
        &format!("/chat/rooms/{room}/members/{bob_id}/remove"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        get(&bob, &format!("/chat/rooms/{room}")).await.status,
        Status::NotFound
    );
}

#[rocket::async_test]
async fn the_last_admin_cannot_leave_while_others_remain() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Keep", false).await;
    join(&bob, room).await;
    let r = submit(
        &alice,
        &format!("/chat/rooms/{room}"),
        &format!("/chat/rooms/{room}/leave"),
        &[],
    )
    .await;
    assert_eq!(
        r.location(),
        Some(format!("/chat/rooms/{room}/members").as_str())
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM chat_members WHERE room_id = {room}"
        ))
        .await,
        2
    );
    let bob_id = user_id(&app, "bob").await;
    let members = format!("/chat/rooms/{room}/members");
    let r = submit(
        &alice,
        &members,
        &format!("/chat/rooms/{room}/members/{bob_id}/admin"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let r = submit(
        &alice,
        &format!("/chat/rooms/{room}"),
        &format!("/chat/rooms/{room}/leave"),
        &[],
    )
    .await;
    assert_eq!(r.location(), Some("/chat"));
}

#[rocket::async_test]
async fn a_room_admin_renames_sets_the_topic_and_archives() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Draft", false).await;
    join(&bob, room).await;
    let settings = format!("/chat/rooms/{room}/settings");
    assert_eq!(get(&bob, &settings).await.status, Status::Forbidden);
    let r = submit(
        &bob,
        &format!("/chat/rooms/{room}"),
        &settings,
        &[("name", "Hijacked")],
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);

    let r = submit(
        &alice,
        &settings,
        &settings,
        &[("name", "Launch"), ("topic", "Friday <b>release</b>")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let (_, body) = page(&bob, &format!("/chat/rooms/{room}")).await;
    assert!(body.contains("Launch"));
    html::assert_shown_as_text(&body, "Friday <b>release</b>");

    let r = submit(
        &alice,
        &settings,
        &settings,
        &[("name", "Launch"), ("topic", ""), ("archived", "true")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let (_, body) = page(&bob, &format!("/chat/rooms/{room}")).await;
    assert!(body.contains("archived"));
    assert!(!body.contains("id=\"chat-compose\""), "no message box");
    let token = get(&bob, &format!("/chat/rooms/{room}")).await.csrf();
    let r = post_raw(
        &bob,
        &format!("/chat/rooms/{room}/messages"),
        &[("csrf_token", &token), ("body", "late")],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Conflict);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM chat_messages").await, 0);
}
