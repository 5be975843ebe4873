//! Chat messages: posting (a form that redirects back), safe Markdown,
//! the configurable length, editing and deleting one's own ("edited",
//! "deleted"), room admins deleting any; `@mentions`; history by cursor
//! (`before`, `after`, `around`); read positions, unread counts and the
//! mention mark.

use crate::common;
use common::chat::*;
use common::*;
use rocket::http::Status;

async fn room_with(
    app: &TestApp,
    private: bool,
) -> (
    rocket::local::asynchronous::Client,
    rocket::local::asynchronous::Client,
    i64,
) {
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Team", private).await;
    invite(&alice, room, "bob").await;
    (alice, bob, room)
}

#[rocket::async_test]
async fn a_message_is_posted_rendered_safely_and_shown_to_members() {
    let app = spawn().await;
    let (alice, bob, room) = room_with(&app, true).await;
    let id = post_message(
        &alice,
        room,
        "**bold** <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://example.org)",
    )
    .await;
    let (_, body) = page(&bob, &format!("/chat/rooms/{room}")).await;
    assert!(body.contains(&format!("id=\"m{id}\"")));
    assert!(body.contains("<strong>bold</strong>"));
    assert!(!body.contains("<script>alert(1)"));
    assert_eq!(html::escaped_script(&body), 1);
    assert!(!body.contains("javascript:alert"));
    assert!(body.contains("href=\"https://example.org\""));
}

#[rocket::async_test]
async fn an_empty_or_too_long_message_is_refused_with_the_text_kept() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("chat.max_length", 10))
    })
    .await;
    let alice = app.member("alice").await;
    let room = create_room(&alice, "Short", false).await;
    let page_uri = format!("/chat/rooms/{room}");
    let action = format!("/chat/rooms/{room}/messages");
    let r = submit(&alice, &page_uri, &action, &[("body", "   ")]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Write a message first."));
    let r = submit(&alice, &page_uri, &action, &[("body", "eleven char")]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Use at most 10 characters (you have 11)."));
    assert!(r.body.contains(">eleven char</textarea>"), "text kept");
    assert!(r.body.contains("maxlength=\"10\""));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM chat_messages").await, 0);
    post_message(&alice, room, "ten chars!").await;
}

#[rocket::async_test]
async fn the_author_edits_and_deletes_and_others_may_not() {
    let app = spawn().await;
    let (alice, bob, room) = room_with(&app, false).await;
    let id = post_message(&bob, room, "first draft").await;
    let edit = format!("/chat/messages/{id}/edit");
    let delete = format!("/chat/messages/{id}/delete");

    // Alice is a room admin: she may delete but never edit Bob's words.
    assert_eq!(get(&alice, &edit).await.status, Status::Forbidden);
    let (_, body) = page(&alice, &format!("/chat/rooms/{room}")).await;
    assert!(body.contains(&delete) && !body.contains(&edit));

    let r = submit(&bob, &edit, &edit, &[("body", "second draft")]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        r.location(),
        Some(format!("/chat/rooms/{room}?around={id}#m{id}").as_str())
    );
    let (_, body) = page(&alice, &format!("/chat/rooms/{room}")).await;
    assert!(body.contains("second draft") && !body.contains("first draft"));
    assert!(body.contains("(edited)"));

    let r = submit(&bob, &edit, &edit, &[("body", "")]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);

    let r = submit(&bob, &delete, &delete, &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    let (_, body) = page(&alice, &format!("/chat/rooms/{room}")).await;
    assert!(body.contains("This message was deleted."));
    assert!(!body.contains("second draft"));
    assert_eq!(
        app.text(&format!("SELECT body FROM chat_messages WHERE id = {id}"))
            .await
            .as_deref(),
        Some("")
    );
    // A deleted message can be neither edited nor deleted again.
    assert_eq!(get(&bob, &edit).await.status, Status::Forbidden);
    assert_eq!(get(&bob, &delete).await.status, Status::Forbidden);
}

#[rocket::async_test]
async fn a_room_admin_deletes_a_members_message_but_a_member_not_an_admins() {
    let app = spawn().await;
    let (alice, bob, room) = room_with(&app, false).await;
    let from_alice = post_message(&alice, room, "admin words").await;
    let from_bob = post_message(&bob, room, "member words").await;
    let theirs = format!("/chat/messages/{from_alice}/delete");
    let r = submit(&bob, &format!("/chat/rooms/{room}"), &theirs, &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    let mine = format!("/chat/messages/{from_bob}/delete");
    let r = submit(&alice, &mine, &mine, &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM chat_messages WHERE deleted_at > 0 AND id = {from_bob}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM chat_messages WHERE deleted_at = 0")
            .await,
        1
    );
}

#[rocket::async_test]
async fn history_pages_by_cursor_and_a_permalink_opens_around_its_message() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let room = create_room(&alice, "Long", false).await;
    let mut ids = Vec::new();
    for i in 0..120 {
        ids.push(post_message(&alice, room, &format!("line number {i:03}")).await);
    }
    let (_, latest) = page(&alice, &format!("/chat/rooms/{room}")).await;
    assert!(latest.contains("line number 119") && latest.contains("line number 070"));
    assert!(!latest.contains("line number 069"));
    let older = format!("?before={}", ids[70]);
    assert!(latest.contains(&older), "a link to older messages");
    assert!(!latest.contains("Newer messages"));

    let (_, second) = page(&alice, &format!("/chat/rooms/{room}{older}")).await;
    assert!(second.contains("line number 020") && second.contains("line number 069"));
    assert!(!second.contains("line number 019") && !second.contains("line number 070"));
    assert!(second.contains(&format!("?after={}", ids[69])));

    let (_, first) = page(&alice, &format!("/chat/rooms/{room}?before={}", ids[20])).await;
    assert!(first.contains("line number 000") && first.contains("line number 019"));
    assert!(!first.contains("Older messages"));

    let (_, newer) = page(&alice, &format!("/chat/rooms/{room}?after={}", ids[19])).await;
    assert!(newer.contains("line number 020") && newer.contains("line number 069"));

    let (_, around) = page(&alice, &format!("/chat/rooms/{room}?around={}", ids[10])).await;
    assert!(around.contains("line number 000") && around.contains("line number 034"));
    assert!(!around.contains("line number 035"));
    assert!(around.contains(&format!("chat-message chat-focused\" id=\"m{}\"", ids[10])));
    assert!(around.contains("Newer messages"));

    // Nonsense cursors are simply empty pages, never errors.
    for q in ["?before=-5", "?after=99999999", "?around=0"] {
        let (status, _) = page(&alice, &format!("/chat/rooms/{room}{q}")).await;
        assert_eq!(status, Status::Ok, "{q}");
    }
}

#[rocket::async_test]
async fn unread_counts_and_mentions_show_in_the_room_list_until_the_room_is_opened() {
    let app = spawn().await;
    let (alice, bob, room) = room_with(&app, false).await;
    let other = create_room(&alice, "Other", false).await;
    join(&bob, other).await;
    post_message(&alice, room, "one").await;
    post_message(&alice, room, "two for @Bob and @nobody").await;
    post_message(&alice, other, "elsewhere").await;
    post_message(&bob, room, "my own message is never unread").await;
    // Bob's own post moved his position past everything before it.
    let (_, list) = page(&bob, "/chat").await;
    assert!(!list.contains("chat-unread\" data-unread=\"2\""));
    post_message(&alice, room, "three").await;
    post_message(&alice, room, "four @bob").await;

    let (_, list) = page(&bob, "/chat").await;
    assert!(list.contains("data-unread=\"2\""), "{list}");
    assert!(list.contains("data-mentions=\"1\""), "{list}");
    assert!(list.contains("data-unread=\"1\""), "the other room");

    // The mention links to the profile; an unknown name stays text.
    let (_, body) = page(&bob, &format!("/chat/rooms/{room}")).await;
    assert!(body.contains("<a class=\"mention\" href=\"/chat/people/bob\">@bob</a>"));
    assert!(body.contains("@nobody") && !body.contains("/chat/people/nobody"));
    let (_, list) = page(&bob, "/chat").await;
    assert!(!list.contains("data-unread=\"2\"") && !list.contains("data-mentions"));
    assert!(
        list.contains("data-unread=\"1\""),
        "the other room is still unread"
    );

    let (status, person) = page(&alice, "/chat/people/bob").await;
    assert_eq!(status, Status::Ok);
    assert!(person.contains("Team") && person.contains("Other"));
    assert_eq!(
        get(&alice, "/chat/people/nobody").await.status,
        Status::NotFound
    );
}

#[rocket::async_test]
async fn reading_an_old_page_does_not_move_the_position_back() {
    let app = spawn().await;
    let (alice, bob, room) = room_with(&app, false).await;
    let first = post_message(&alice, room, "old").await;
    let last = post_message(&alice, room, "new").await;
    page(&bob, &format!("/chat/rooms/{room}")).await;
    page(&bob, &format!("/chat/rooms/{room}?around={first}")).await;
    let bob_id = user_id(&app, "bob").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT last_read_id FROM chat_members WHERE room_id = {room} AND user_id = {bob_id}"
        ))
        .await,
        last
    );
}
