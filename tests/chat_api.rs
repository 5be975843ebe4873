//! The chat JSON API with bearer tokens: rooms, members, messages (send,
//! edit, delete, history by cursor), read positions; its errors; a cookie
//! alone is not enough.

use crate::common;
use common::json_api::{assert_json_error, user_with_token};
use common::*;
use rocket::http::{Method, Status};
use serde_json::{json, Value};

async fn call(app: &TestApp, method: Method, uri: &str, token: &str, body: Option<Value>) -> Resp {
    let mut req = app.api(method, uri).token(token);
    let text = body.map(|b| b.to_string());
    if let Some(t) = &text {
        req = req.json(t);
    }
    req.send().await
}

async fn spawn() -> TestApp {
    TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("chat.messages_per_minute", 10_000))
    })
    .await
}

#[rocket::async_test]
async fn rooms_members_messages_and_read_positions_through_the_api() {
    let app = spawn().await;
    let (_, alice) = user_with_token(&app, "alice", false).await;
    let (bob_id, bob) = user_with_token(&app, "bob", false).await;

    let r = call(
        &app,
        Method::Post,
        "/chat/rooms",
        &alice,
        Some(json!({"name": "Api room", "topic": "t", "private": true, "user_id": 99})),
    )
    .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let room = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.json()["admin"], true);
    assert_eq!(r.json()["private"], true);

    // Bob cannot join a private room; alice adds him.
    let members = format!("/chat/rooms/{room}/members");
    assert_eq!(
        call(&app, Method::Post, &members, &bob, Some(json!({})))
            .await
            .status,
        Status::NotFound
    );
    let r = call(
        &app,
        Method::Post,
        &members,
        &alice,
        Some(json!({"username": "bob"})),
    )
    .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let r = call(&app, Method::Get, &members, &bob, None).await;
    assert_eq!(r.json()["members"].as_array().unwrap().len(), 2);

    let messages = format!("/chat/rooms/{room}/messages");
    let mut ids = Vec::new();
    for i in 0..7 {
        let r = call(
            &app,
            Method::Post,
            &messages,
            &alice,
            Some(json!({"body": format!("m{i} @bob")})),
        )
        .await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    let r = call(&app, Method::Get, "/chat/rooms", &bob, None).await;
    let listed = &r.json()["rooms"][0];
    assert_eq!(listed["unread"], 7);
    assert_eq!(listed["unread_mentions"], 7);

    let r = call(
        &app,
        Method::Get,
        &format!("{messages}?limit=3"),
        &bob,
        None,
    )
    .await;
    let page: Vec<i64> = r.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(page, ids[4..].to_vec());
    assert_eq!(r.json()["has_older"], true);
    assert_eq!(r.json()["has_newer"], false);
    let r = call(
        &app,
        Method::Get,
        &format!("{messages}?limit=3&before={}", ids[4]),
        &bob,
        None,
    )
    .await;
    let page: Vec<i64> = r.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(page, ids[1..4].to_vec());
    let r = call(
        &app,
        Method::Get,
        &format!("{messages}?limit=3&around={}", ids[0]),
        &bob,
        None,
    )
    .await;
    let page: Vec<i64> = r.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(page, ids[0..2].to_vec());
    let r = call(
        &app,
        Method::Get,
        &format!("{messages}?limit=0"),
        &bob,
        None,
    )
    .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");

    let read = format!("/chat/rooms/{room}/read");
    let r = call(
        &app,
        Method::Put,
        &read,
        &bob,
        Some(json!({"last_read_id": ids[4]})),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["last_read_id"], ids[4]);
    let r = call(&app, Method::Get, "/chat/rooms", &bob, None).await;
    assert_eq!(r.json()["rooms"][0]["unread"], 2);
    // Never backwards.
    call(
        &app,
        Method::Put,
        &read,
        &bob,
        Some(json!({"last_read_id": ids[0]})),
    )
    .await;
    let r = call(
        &app,
        Method::Get,
        &format!("/chat/rooms/{room}"),
        &bob,
        None,
    )
    .await;
    assert_eq!(r.json()["last_read_id"], ids[4]);

    // Edit own, not others'; delete.
    let own = format!("/chat/messages/{}", ids[0]);
    let r = call(
        &app,
        Method::Patch,
        &own,
        &bob,
        Some(json!({"body": "bob was here"})),
    )
    .await;
    assert_json_error(&r, Status::Forbidden, "forbidden");
    let r = call(
        &app,
        Method::Patch,
        &own,
        &alice,
        Some(json!({"body": "changed"})),
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.json()["body"], "changed");
    assert_eq!(r.json()["edited"], true);
    let r = call(&app, Method::Delete, &own, &bob, None).await;
    assert_eq!(r.status, Status::Forbidden);
    let r = call(&app, Method::Delete, &own, &alice, None).await;
    assert_eq!(r.status, Status::NoContent);
    let r = call(&app, Method::Get, &own, &bob, None).await;
    assert_eq!(r.json()["deleted"], true);
    assert_eq!(r.json()["body"], "");

    // Rename and archive; then nobody writes.
    let r = call(
        &app,
        Method::Patch,
        &format!("/chat/rooms/{room}"),
        &bob,
        Some(json!({"name": "Bob's"})),
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
    let r = call(
        &app,
        Method::Patch,
        &format!("/chat/rooms/{room}"),
        &alice,
        Some(json!({"name": "Renamed", "archived": true})),
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.json()["name"], "Renamed");
    let r = call(
        &app,
        Method::Post,
        &messages,
        &bob,
        Some(json!({"body": "late"})),
    )
    .await;
    assert_json_error(&r, Status::Conflict, "conflict");

    // Leave.
    let r = call(
        &app,
        Method::Delete,
        &format!("{members}/{bob_id}"),
        &bob,
        None,
    )
    .await;
    assert_eq!(r.status, Status::NoContent);
    assert_eq!(
        call(&app, Method::Get, &messages, &bob, None).await.status,
        Status::NotFound
    );
}

#[rocket::async_test]
async fn the_api_refuses_bad_input_and_cookies() {
    let app = spawn().await;
    let (_, alice) = user_with_token(&app, "alice", false).await;
    let r = call(
        &app,
        Method::Post,
        "/chat/rooms",
        &alice,
        Some(json!({"name": ""})),
    )
    .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    let r = call(
        &app,
        Method::Post,
        "/chat/rooms",
        &alice,
        Some(json!({"name": 5})),
    )
    .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    let r = app
        .api(Method::Post, "/chat/rooms")
        .token(&alice)
        .json("{nope")
        .send()
        .await;
    assert_eq!(r.status, Status::BadRequest);
    let r = app.api(Method::Get, "/chat/rooms").send().await;
    assert_json_error(&r, Status::Unauthorized, "unauthorized");
    let r = call(&app, Method::Get, "/chat/rooms/424242", &alice, None).await;
    assert_json_error(&r, Status::NotFound, "not_found");

    // A signed-in browser's cookie is not a token.
    app.signed_in_user("carol").await;
    let r = ApiRequest::new(&app.client, Method::Get, "/chat/rooms")
        .send()
        .await;
    assert_eq!(r.status, Status::Unauthorized);
}
