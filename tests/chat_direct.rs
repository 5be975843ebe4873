//! Direct messages (a private conversation of 2 to 8 members, fixed at
//! creation, found again when opened with the same people; 404 to anyone
//! else) and replies (a quote linking to the original, "deleted" once it
//! is deleted).

use crate::common;
use common::chat::*;
use common::json_api::token_for;
use common::*;
use rocket::http::{Method, Status};
use serde_json::json;

#[rocket::async_test]
async fn a_direct_conversation_is_found_again_and_is_404_to_everyone_else() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let carol = app.member("carol").await;

    // From bob's page in chat, alice starts the conversation.
    let (_, person) = page(&alice, "/chat/people/bob").await;
    assert!(person.contains("Send bob a direct message"));
    let dm = open_direct(&alice, "bob").await;
    // Bob opening it with "@alice" (any case) finds the same one.
    assert_eq!(open_direct(&bob, "@ALICE").await, dm);
    assert_eq!(open_direct(&alice, "bob, alice, bob").await, dm);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM chat_rooms WHERE kind = 'direct'")
            .await,
        1
    );

    let id = post_message(&bob, dm, "just between us").await;
    let (status, body) = page(&alice, &format!("/chat/rooms/{dm}")).await;
    assert_eq!(status, Status::Ok);
    assert!(body.contains("just between us"));
    assert!(body.contains("direct message"));
    assert!(
        !body.contains("Settings"),
        "no admin in a direct conversation"
    );
    assert!(!body.contains("Leave this room"));
    let (_, index) = page(&alice, "/chat").await;
    assert!(index.contains("Direct: </span>alice, bob"), "{index}");

    // Carol: 404 on every page, form and API route, no trace in her lists.
    for uri in [
        format!("/chat/rooms/{dm}"),
        format!("/chat/rooms/{dm}/members"),
        format!("/chat/rooms/{dm}?around={id}"),
        format!("/chat/messages/{id}/edit"),
        format!("/chat/search?room={dm}&q=between"),
    ] {
        assert_eq!(get(&carol, &uri).await.status, Status::NotFound, "{uri}");
    }
    let r = submit(
        &carol,
        "/chat",
        &format!("/chat/rooms/{dm}/messages"),
        &[("body", "let me in")],
    )
    .await;
    assert_eq!(r.status, Status::NotFound);
    let (_, index) = page(&carol, "/chat").await;
    assert!(!index.contains("alice, bob"));
    let (_, found) = page(&carol, "/chat/search?q=between").await;
    assert!(found.contains("No message found"));
    let token = token_for(&carol, "carol@example.org").await;
    for uri in [
        format!("/chat/rooms/{dm}"),
        format!("/chat/rooms/{dm}/messages"),
        format!("/chat/messages/{id}"),
    ] {
        let r = app.api(Method::Get, &uri).token(&token).send().await;
        assert_eq!(r.status, Status::NotFound, "{uri}");
    }

    // Membership is fixed: nobody leaves, invites or is removed.
    let room_page = format!("/chat/rooms/{dm}");
    let r = submit(&alice, &room_page, &format!("{room_page}/leave"), &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    let members = format!("{room_page}/members");
    let r = submit(&alice, &members, &members, &[("username", "carol")]).await;
    assert_eq!(r.status, Status::Forbidden);
    let bob_id = user_id(&app, "bob").await;
    let r = submit(&alice, &members, &format!("{members}/{bob_id}/remove"), &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    // Nor does alice delete bob's message.
    assert_eq!(
        get(&alice, &format!("/chat/messages/{id}/delete"))
            .await
            .status,
        Status::Forbidden
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM chat_members WHERE room_id = {dm}"
        ))
        .await,
        2
    );
}

#[rocket::async_test]
async fn a_group_conversation_has_at_most_eight_members() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let mut names = Vec::new();
    for i in 1..=8 {
        let name = format!("user{i}");
        app.member(&name).await;
        names.push(name);
    }
    // Alice and seven others: eight.
    let seven = names[..7].join(", ");
    let group = open_direct(&alice, &seven).await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM chat_members WHERE room_id = {group}"
        ))
        .await,
        8
    );
    // Alice and eight others: refused, and what she typed comes back.
    let all = names.join(", ");
    let r = submit(
        &alice,
        "/chat/direct",
        "/chat/direct",
        &[("usernames", &all)],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("at most 8 members"), "{}", r.body);
    assert!(r.body.contains("user8"));
    for (typed, message) in [
        ("nobody_here", "No member has the username nobody_here."),
        ("alice", "Name at least one other member."),
        (
            "<b>x</b>",
            "No member has the username &#60;b&#62;x&#60;/b&#62;.",
        ),
    ] {
        let r = submit(
            &alice,
            "/chat/direct",
            "/chat/direct",
            &[("usernames", typed)],
        )
        .await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{typed}");
        assert!(r.body.contains(message), "{typed}: {}", r.body);
        assert!(!r.body.contains("<b>x"), "typed text comes back escaped");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM chat_rooms WHERE kind = 'direct'")
            .await,
        1
    );
}

#[rocket::async_test]
async fn the_api_opens_a_direct_conversation_once() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    app.member("bob").await;
    let token = token_for(&alice, "alice@example.org").await;
    let body = json!({"usernames": ["bob"]}).to_string();
    let r = app
        .api(Method::Post, "/chat/direct")
        .token(&token)
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let room = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.json()["direct"], true);
    assert_eq!(r.json()["admin"], false);
    let r = app
        .api(Method::Post, "/chat/direct")
        .token(&token)
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.json()["id"].as_i64(), Some(room));
    let r = app
        .api(Method::Post, "/chat/direct")
        .token(&token)
        .json(&json!({"usernames": []}).to_string())
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn a_reply_quotes_its_original_and_says_when_it_was_deleted() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Team", false).await;
    join(&bob, room).await;
    let original = post_message(&alice, room, "Ship it on <Friday>?").await;

    let (_, body) = page(&bob, &format!("/chat/rooms/{room}?reply={original}")).await;
    assert!(body.contains("Replying to alice"), "{body}");
    html::assert_shown_as_text(&body, "Ship it on <Friday>?");
    let r = post_reply(&bob, room, "yes", original).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let (_, body) = page(&alice, &format!("/chat/rooms/{room}")).await;
    assert!(body.contains("Reply to alice"));
    assert!(body.contains(&format!("?around={original}#m{original}")));
    let reply: i64 = app
        .scalar(&format!(
            "SELECT id FROM chat_messages WHERE reply_to = {original}"
        ))
        .await;
    assert!(reply > original);

    // The original is deleted: the reply says so, and quotes nothing.
    let r = submit(
        &alice,
        &format!("/chat/messages/{original}/delete"),
        &format!("/chat/messages/{original}/delete"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let (_, body) = page(&bob, &format!("/chat/rooms/{room}")).await;
    assert!(body.contains("Reply to a message that was deleted"));
    assert!(!body.contains("Friday"));
    let token = token_for(&bob, "bob@example.org").await;
    let r = app
        .api(Method::Get, &format!("/chat/messages/{reply}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(r.json()["reply_to"]["id"].as_i64(), Some(original));
    assert_eq!(r.json()["reply_to"]["deleted"], true);
    assert_eq!(r.json()["reply_to"]["excerpt"], "");
}

#[rocket::async_test]
async fn a_reply_must_answer_a_message_of_the_same_room() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let one = create_room(&alice, "One", false).await;
    let two = create_room(&alice, "Two", true).await;
    let elsewhere = post_message(&alice, two, "in two").await;
    let r = post_reply(&alice, one, "answer", elsewhere).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Reply to a message of this room."));
    let token = token_for(&alice, "alice@example.org").await;
    let body = json!({"body": "answer", "reply_to": elsewhere}).to_string();
    let r = app
        .api(Method::Post, &format!("/chat/rooms/{one}/messages"))
        .token(&token)
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let body = json!({"body": "answer", "reply_to": elsewhere}).to_string();
    let r = app
        .api(Method::Post, &format!("/chat/rooms/{two}/messages"))
        .token(&token)
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::Created);
    assert_eq!(r.json()["reply_to"]["author"], "alice");
    assert_eq!(r.json()["reply_to"]["excerpt"], "in two");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM chat_messages").await, 2);
}
