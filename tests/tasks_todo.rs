//! The Todo-Backend quick list (todobackend.com): every check of the
//! spec's own runner, CORS with preflight on these paths only, the todos
//! being tasks of the member's Inbox project, and secrets: an unknown one
//! is 404, a new one revokes the old.

use crate::common;
use common::json_api::ApiRequest;
use common::*;

use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

/// Turn the list on from the preferences page; the root's path.
async fn enable(client: &Client) -> String {
    let r = submit(
        client,
        "/tasks/preferences",
        "/tasks/preferences/todo-backend",
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let at = r.body.find("/todo-backend/").expect("the address is shown");
    let rest = &r.body[at..];
    rest[..rest.find("/todos").unwrap() + 6].to_string()
}

/// The path of an absolute url the API gave.
fn path_of(url: &Value) -> String {
    let url = url.as_str().expect("a url");
    assert!(url.starts_with("http"), "absolute: {url}");
    url[url.find("/todo-backend/").unwrap()..].to_string()
}

async fn call(client: &Client, method: Method, path: &str, body: Option<Value>) -> Resp {
    let mut req =
        ApiRequest::new(client, method, path).header("Origin", "https://www.todobackend.com");
    if let Some(b) = body {
        req = req.json(&b.to_string());
    }
    req.send().await
}

#[rocket::async_test]
async fn the_quick_list_passes_every_check_of_the_todo_backend_spec() {
    let app = TestApp::spawn_for_members().await;
    let ada = app.member("ada").await;
    let root = enable(&ada).await;
    // A client with no cookies at all, from another origin.
    let client = app.another_browser().await;
    // The root responds to a GET with an empty JSON array, CORS open.
    let r = call(&client, Method::Get, &root, None).await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.json(), json!([]));
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
    // Preflight.
    let pre = ApiRequest::new(&client, Method::Options, &root)
        .header("Origin", "https://www.todobackend.com")
        .header("Access-Control-Request-Method", "PATCH")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await;
    assert!(pre.status.code < 300, "{}", pre.status);
    assert_eq!(pre.header("Access-Control-Allow-Origin"), Some("*"));
    assert!(pre
        .header("Access-Control-Allow-Methods")
        .unwrap()
        .contains("PATCH"));
    assert!(pre
        .header("Access-Control-Allow-Headers")
        .unwrap()
        .contains("content-type"));
    // POST answers the new todo, not completed, with a url that works.
    let r = call(
        &client,
        Method::Post,
        &root,
        Some(json!({"title": "a todo"})),
    )
    .await;
    assert!(r.status.code < 300, "{}", r.body);
    let todo = r.json();
    assert_eq!(todo["title"], "a todo");
    assert_eq!(todo["completed"], false);
    let url = path_of(&todo["url"]);
    let r = call(&client, Method::Get, &url, None).await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.json()["title"], "a todo");
    // It is in the list, and on the board of the Inbox project.
    let r = call(&client, Method::Get, &root, None).await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let inbox = app
        .scalar("SELECT p.id FROM task_projects p WHERE p.name = 'Inbox'")
        .await;
    let board = get(&ada, &format!("/tasks/{inbox}")).await;
    assert!(board.body.contains("a todo"));
    // PATCH changes the title, completion and order, each on its own.
    let r = call(
        &client,
        Method::Patch,
        &url,
        Some(json!({"title": "bathe the cat"})),
    )
    .await;
    assert_eq!(r.json()["title"], "bathe the cat");
    let r = call(
        &client,
        Method::Patch,
        &url,
        Some(json!({"completed": true})),
    )
    .await;
    assert_eq!(r.json()["completed"], true);
    assert_eq!(r.json()["title"], "bathe the cat");
    let r = call(&client, Method::Get, &url, None).await;
    assert_eq!(r.json()["completed"], true);
    let done = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM tasks WHERE project_id = {inbox} AND completed_at IS NOT NULL"
        ))
        .await;
    assert_eq!(done, 1, "completing a todo completes the task");
    let r = call(
        &client,
        Method::Patch,
        &url,
        Some(json!({"completed": false})),
    )
    .await;
    assert_eq!(r.json()["completed"], false);
    let r = call(&client, Method::Patch, &url, Some(json!({"order": 95}))).await;
    assert_eq!(r.json()["order"], 95);
    assert_eq!(
        call(&client, Method::Get, &url, None).await.json()["order"],
        95
    );
    // Order on create, and the list in that order.
    let r = call(
        &client,
        Method::Post,
        &root,
        Some(json!({"title": "first", "order": 3})),
    )
    .await;
    assert_eq!(r.json()["order"], 3);
    let list = call(&client, Method::Get, &root, None).await.json();
    let titles: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["first", "bathe the cat"]);
    // DELETE one, then DELETE the root empties the list.
    let r = call(&client, Method::Delete, &url, None).await;
    assert!(r.status.code < 300);
    assert_eq!(
        call(&client, Method::Get, &url, None).await.status,
        Status::NotFound
    );
    assert_eq!(
        call(&client, Method::Get, &root, None)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    call(
        &client,
        Method::Post,
        &root,
        Some(json!({"title": "another"})),
    )
    .await;
    let r = call(&client, Method::Delete, &root, None).await;
    assert!(r.status.code < 300);
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(
        call(&client, Method::Get, &root, None).await.json(),
        json!([])
    );
    // Bad input is a JSON error, not a 500.
    let r = call(&client, Method::Post, &root, Some(json!({"title": ""}))).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let r = ApiRequest::new(&client, Method::Post, &root)
        .json("not json")
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn an_unknown_secret_is_404_and_a_new_address_revokes_the_old_one() {
    let app = TestApp::spawn_for_members().await;
    let ada = app.member("ada").await;
    let bob = app.member("bob").await;
    let root = enable(&ada).await;
    let client = app.another_browser().await;
    let r = call(
        &client,
        Method::Post,
        &root,
        Some(json!({"title": "ada's"})),
    )
    .await;
    let url = path_of(&r.json()["url"]);
    // Bob's own list cannot reach ada's todo, nor can a made-up secret.
    let bobs = enable(&bob).await;
    let id = url.rsplit('/').next().unwrap();
    let r = call(&client, Method::Get, &format!("{bobs}/{id}"), None).await;
    assert_eq!(r.status, Status::NotFound);
    let r = call(&client, Method::Delete, &format!("{bobs}/{id}"), None).await;
    assert_eq!(r.status, Status::NotFound);
    let r = call(&client, Method::Get, "/todo-backend/made-up/todos", None).await;
    assert_eq!(r.status, Status::NotFound);
    // A new address: the old one stops working, the todos stay.
    let newer = enable(&ada).await;
    assert_ne!(newer, root);
    assert_eq!(
        call(&client, Method::Get, &root, None).await.status,
        Status::NotFound
    );
    let list = call(&client, Method::Get, &newer, None).await.json();
    assert_eq!(list[0]["title"], "ada's");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM task_projects WHERE name = 'Inbox'")
            .await,
        2,
        "one Inbox each, not a new one per address"
    );
    // Turning it on is a form with a CSRF token.
    let r = post_raw(&ada, "/tasks/preferences/todo-backend", &[], &[]).await;
    assert_eq!(r.status, Status::Forbidden);
}
