//! Searching messages within a room and across one's rooms (never a room
//! one is not in, paged by cursor), and the per-room notification choice.

use crate::common;
use common::chat::*;
use common::json_api::token_for;
use common::*;
use rocket::http::{Method, Status};
use serde_json::json;

#[rocket::async_test]
async fn search_finds_messages_only_in_rooms_the_member_is_in() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let carol = app.member("carol").await;
    let ops = create_room(&alice, "Ops", false).await;
    let secret = create_room(&alice, "Secret", true).await;
    join(&bob, ops).await;
    let public = post_message(&alice, ops, "Deploy the rocket on Friday").await;
    post_message(&alice, secret, "The rocket codes are 1234").await;
    post_message(&alice, ops, "unrelated chatter").await;

    let (status, body) = page(&bob, "/chat/search?q=ROCKET").await;
    assert_eq!(status, Status::Ok);
    assert!(body.contains("Deploy the rocket on Friday"));
    assert!(body.contains(&format!("/chat/rooms/{ops}?around={public}#m{public}")));
    assert!(!body.contains("codes"), "a private room bob is not in");
    assert!(!body.contains("Secret"));
    let (_, body) = page(&alice, "/chat/search?q=rocket").await;
    assert!(body.contains("Deploy the rocket") && body.contains("codes are 1234"));
    let (_, body) = page(&alice, &format!("/chat/search?q=rocket&room={ops}")).await;
    assert!(body.contains("Deploy the rocket") && !body.contains("codes are"));
    // Carol may read the open room but is not in it: nothing found there.
    let (_, body) = page(&carol, "/chat/search?q=rocket").await;
    assert!(body.contains("No message found"));
    assert_eq!(
        get(&bob, &format!("/chat/search?q=rocket&room={secret}"))
            .await
            .status,
        Status::NotFound
    );
    // What was typed comes back escaped; syntax is only text.
    let (status, body) = page(&bob, "/chat/search?q=%3Cscript%3E%20%22rocket").await;
    assert_eq!(status, Status::Ok);
    assert!(!body.contains("<script>"));
    // A deleted message is not found.
    let r = submit(
        &alice,
        &format!("/chat/messages/{public}/delete"),
        &format!("/chat/messages/{public}/delete"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let (_, body) = page(&bob, "/chat/search?q=rocket").await;
    assert!(body.contains("No message found"));
}

#[rocket::async_test]
async fn search_results_are_paged_by_cursor_on_the_page_and_the_api() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let room = create_room(&alice, "Log", false).await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(post_message(&alice, room, &format!("alpha number {i}")).await);
    }
    let (_, first) = page(&alice, "/chat/search?q=alpha").await;
    assert!(first.contains("alpha number 24") && first.contains("alpha number 5"));
    assert!(!first.contains("alpha number 4<"));
    let older = format!("before={}", ids[5]);
    assert!(first.contains(&older), "a cursor link");
    let (_, second) = page(&alice, &format!("/chat/search?q=alpha&{older}")).await;
    assert!(second.contains("alpha number 4") && second.contains("alpha number 0"));
    assert!(!second.contains("alpha number 5<") && !second.contains("Older results"));

    let token = token_for(&alice, "alice@example.org").await;
    let r = app
        .api(
            Method::Get,
            &format!("/chat/search?q=alpha&room={room}&limit=10"),
        )
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let results = r.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 10);
    assert_eq!(results[0]["message"]["id"].as_i64(), Some(ids[24]));
    assert_eq!(results[0]["room_name"], "Log");
    let next = r.json()["next_before"].as_i64().unwrap();
    assert_eq!(next, ids[15]);
    let r = app
        .api(
            Method::Get,
            &format!("/chat/search?q=alpha&before={}&limit=100", ids[2]),
        )
        .token(&token)
        .send()
        .await;
    assert_eq!(r.json()["results"].as_array().unwrap().len(), 2);
    assert!(r.json()["next_before"].is_null());
    let r = app
        .api(Method::Get, "/chat/search?q=alpha&limit=0")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn each_member_chooses_what_a_room_notifies_them_of() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let room = create_room(&alice, "Noisy", false).await;
    join(&bob, room).await;
    let page_uri = format!("/chat/rooms/{room}");
    let r = submit(
        &bob,
        &page_uri,
        &format!("{page_uri}/notify"),
        &[("notify", "mentions")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let (_, list) = page(&bob, "/chat").await;
    assert!(list.contains("mentions only"));
    let (_, body) = page(&bob, &page_uri).await;
    assert!(body.contains("<option value=\"mentions\" selected>"));
    let (_, list) = page(&alice, "/chat").await;
    assert!(!list.contains("mentions only"), "alice's choice is her own");
    let r = submit(
        &bob,
        &page_uri,
        &format!("{page_uri}/notify"),
        &[("notify", "loud")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);

    let token = token_for(&bob, "bob@example.org").await;
    let uri = format!("/chat/rooms/{room}/notify");
    let r = app
        .api(Method::Put, &uri)
        .token(&token)
        .json(&json!({"notify": "none"}).to_string())
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["notify"], "none");
    assert_eq!(
        app.text(&format!(
            "SELECT notify FROM chat_members WHERE room_id = {room} AND notify <> 'all'"
        ))
        .await
        .as_deref(),
        Some("none")
    );
    let r = app
        .api(Method::Put, &uri)
        .token(&token)
        .json(&json!({"notify": "loud"}).to_string())
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    // Not a member: 403 on an open room.
    let carol = app.member("carol").await;
    let r = submit(
        &carol,
        &page_uri,
        &format!("{page_uri}/notify"),
        &[("notify", "none")],
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
}
