//! Tasks: the JSON API on the same paths as the pages, with bearer tokens.
//! Projects, members and columns; tasks created, listed with filters and
//! paging, edited over a version (a stale one answers 409 with the stored
//! task), moved before another task writing only the moved row, completed
//! and deleted; and the errors (401, 403, 404, 409, 422).
//! Every test runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::json_api::{assert_json_error, ApiRequest};
use common::tasks::*;
use common::*;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

/// One signed-in member with a token.
struct Caller {
    client: Client,
    token: String,
}

impl Caller {
    async fn new(app: &TestApp, username: &str) -> Caller {
        let client = app.member(username).await;
        let token = token_of(&client, username).await;
        Caller { client, token }
    }

    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Resp {
        let mut req = ApiRequest::new(&self.client, method, uri).token(&self.token);
        if let Some(b) = body {
            req = req.json(&b.to_string());
        }
        req.send().await
    }
}

async fn positions(app: &TestApp, column: i64) -> Vec<(i64, i64)> {
    sqlx::query_as("SELECT id, position FROM tasks WHERE column_id = $1 ORDER BY position, id")
        .bind(column)
        .fetch_all(&app.db.pool)
        .await
        .expect("positions")
}

#[rocket::async_test]
async fn projects_and_tasks_through_the_api() {
    let app = TestApp::spawn_for_members().await;
    let alice = Caller::new(&app, "alice").await;
    let r = alice
        .call(Method::Post, "/tasks", Some(json!({"name": "API project"})))
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let project = r.json();
    let p = project["id"].as_i64().unwrap();
    assert_eq!(project["role"], "owner");
    let names: Vec<&str> = project["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["To do", "Doing", "Done"]);
    assert_eq!(project["members"][0]["username"], "alice");
    let r = alice.call(Method::Get, "/tasks", None).await;
    assert_eq!(r.json()["total"], 1);
    assert_eq!(r.json()["projects"][0]["name"], "API project");

    // Create, with every field; invalid ones are named.
    let alice_id = project["members"][0]["user_id"].as_i64().unwrap();
    let items = format!("/tasks/{p}/items");
    let body = json!({"title": "Call the printer", "description": "*soon*", "assignee_id": alice_id,
        "due_date": "2026-12-24", "due_time": "08:15", "priority": "high"});
    let r = alice.call(Method::Post, &items, Some(body)).await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let task = r.json();
    let t = task["id"].as_i64().unwrap();
    assert_eq!(task["assignee"], "alice");
    assert_eq!(task["due_time"], "08:15");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["version"], 1);
    assert_eq!(task["completed_at"], Value::Null);
    let r = alice
        .call(
            Method::Post,
            &items,
            Some(json!({"title": "", "due_date": "soon", "assignee_id": 999_999})),
        )
        .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    assert!(r.json()["fields"]["title"].is_string() && r.json()["fields"]["due_date"].is_string());
    let r = alice
        .call(
            Method::Post,
            &items,
            Some(json!({"title": "x", "assignee_id": 999_999})),
        )
        .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    assert!(r.json()["fields"]["assignee"].is_string());
    alice
        .call(Method::Post, &items, Some(json!({"title": "Other thing"})))
        .await;

    // List with filters and paging.
    let r = alice
        .call(Method::Get, &format!("{items}?q=PRINTER"), None)
        .await;
    assert_eq!(r.json()["total"], 1);
    assert_eq!(r.json()["tasks"][0]["id"], t);
    let r = alice
        .call(
            Method::Get,
            &format!("{items}?assignee_id={alice_id}"),
            None,
        )
        .await;
    assert_eq!(r.json()["total"], 1);
    let r = alice
        .call(Method::Get, &format!("{items}?per_page=1&page=2"), None)
        .await;
    assert_eq!(r.json()["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(r.json()["total"], 2);
    let r = alice
        .call(
            Method::Get,
            &format!("{items}?per_page=0&column_id=x"),
            None,
        )
        .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");

    // Edit over the version; null clears; a stale version is 409 with the stored task.
    let one = format!("{items}/{t}");
    let r = alice
        .call(
            Method::Put,
            &one,
            Some(json!({"title": "Call the printer today", "due_time": null, "version": 1})),
        )
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["version"], 2);
    assert_eq!(r.json()["due_time"], Value::Null);
    assert_eq!(r.json()["due_date"], "2026-12-24");
    assert_eq!(r.json()["description"], "*soon*");
    let r = alice
        .call(
            Method::Put,
            &one,
            Some(json!({"title": "Lost?", "version": 1})),
        )
        .await;
    assert_eq!(r.status, Status::Conflict);
    assert_eq!(r.json()["error"], "conflict");
    assert_eq!(r.json()["current"]["title"], "Call the printer today");
    assert_eq!(r.json()["current"]["version"], 2);
    let r = alice
        .call(Method::Put, &one, Some(json!({"title": "No version"})))
        .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");

    // Complete, reopen, delete.
    let r = alice
        .call(Method::Post, &format!("{one}/complete"), None)
        .await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.json()["completed_at"].is_i64());
    assert_eq!(r.json()["completed_by"], alice_id);
    assert_eq!(r.json()["column_id"], project["columns"][2]["id"]);
    let r = alice
        .call(Method::Post, &format!("{one}/reopen"), None)
        .await;
    assert_eq!(r.json()["completed_at"], Value::Null);
    assert_eq!(r.json()["column_id"], project["columns"][0]["id"]);
    let r = alice.call(Method::Delete, &one, None).await;
    assert_eq!(r.status, Status::NoContent);
    let r = alice.call(Method::Get, &one, None).await;
    assert_json_error(&r, Status::NotFound, "not_found");

    // Without a token: 401; a browser on the same path gets the page.
    let r = ApiRequest::new(&alice.client, Method::Get, &items)
        .send()
        .await;
    assert_json_error(&r, Status::Unauthorized, "unauthorized");
    let page = get(&alice.client, &format!("/tasks/{p}")).await;
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
}

#[rocket::async_test]
async fn a_move_before_another_task_writes_only_the_moved_row() {
    let app = TestApp::spawn_for_members().await;
    let alice = Caller::new(&app, "alice").await;
    let p = alice
        .call(Method::Post, "/tasks", Some(json!({"name": "Order"})))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let to_do = column_id(&app, p, "To do").await;
    let doing = column_id(&app, p, "Doing").await;
    let mut ids = Vec::new();
    for title in ["a", "b", "c", "d"] {
        let r = alice
            .call(
                Method::Post,
                &format!("/tasks/{p}/items"),
                Some(json!({"title": title})),
            )
            .await;
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    let before = positions(&app, to_do).await;
    // d before b: only d's position changes, and the order is a, d, b, c.
    let r = alice
        .call(
            Method::Post,
            &format!("/tasks/{p}/items/{}/move", ids[3]),
            Some(json!({"column_id": to_do, "before_id": ids[1]})),
        )
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let after = positions(&app, to_do).await;
    let order: Vec<i64> = after.iter().map(|(id, _)| *id).collect();
    assert_eq!(order, [ids[0], ids[3], ids[1], ids[2]]);
    let changed: Vec<i64> = after
        .iter()
        .filter(|(id, pos)| !before.contains(&(*id, *pos)))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(changed, [ids[3]]);

    // Neighbours with no room between them: the column is renumbered, the order kept.
    app.exec(&format!(
        "UPDATE tasks SET position = 1 WHERE id = {}",
        ids[0]
    ))
    .await;
    app.exec(&format!(
        "UPDATE tasks SET position = 2 WHERE id = {}",
        ids[3]
    ))
    .await;
    let r = alice
        .call(
            Method::Post,
            &format!("/tasks/{p}/items/{}/move", ids[2]),
            Some(json!({"column_id": to_do, "before_id": ids[3]})),
        )
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let order: Vec<i64> = positions(&app, to_do)
        .await
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(order, [ids[0], ids[2], ids[3], ids[1]]);

    // Into another column, at its end; a before_id of another column is refused.
    let r = alice
        .call(
            Method::Post,
            &format!("/tasks/{p}/items/{}/move", ids[0]),
            Some(json!({"column_id": doing})),
        )
        .await;
    assert_eq!(r.json()["column_id"], doing);
    let r = alice
        .call(
            Method::Post,
            &format!("/tasks/{p}/items/{}/move", ids[1]),
            Some(json!({"column_id": doing, "before_id": ids[2]})),
        )
        .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    let r = alice
        .call(
            Method::Post,
            &format!("/tasks/{p}/items/{}/move", ids[1]),
            Some(json!({"column_id": 0})),
        )
        .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    assert_eq!(column_of(&app, ids[1]).await, "To do");
}

#[rocket::async_test]
async fn members_and_columns_through_the_api() {
    let app = TestApp::spawn_for_members().await;
    let alice = Caller::new(&app, "alice").await;
    let bob = Caller::new(&app, "bob").await;
    let p = alice
        .call(Method::Post, "/tasks", Some(json!({"name": "Team"})))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let members = format!("/tasks/{p}/members");
    let r = alice
        .call(
            Method::Post,
            &members,
            Some(json!({"who": "BOB@example.org", "role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let bob_id = r.json()["user_id"].as_i64().unwrap();
    assert_eq!(r.json()["role"], "viewer");
    let r = alice
        .call(Method::Post, &members, Some(json!({"who": "bob"})))
        .await;
    assert_json_error(&r, Status::UnprocessableEntity, "validation_failed");
    let r = alice
        .call(
            Method::Post,
            &members,
            Some(json!({"who": "nobody", "role": "boss"})),
        )
        .await;
    assert!(r.json()["fields"]["role"].is_string());

    // A viewer reads, but may not change the project.
    let r = bob.call(Method::Get, &format!("/tasks/{p}"), None).await;
    assert_eq!(r.json()["role"], "viewer");
    let r = bob
        .call(
            Method::Put,
            &format!("/tasks/{p}"),
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_json_error(&r, Status::Forbidden, "forbidden");
    let r = bob
        .call(
            Method::Post,
            &format!("/tasks/{p}/columns"),
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_json_error(&r, Status::Forbidden, "forbidden");

    // The last owner cannot step down or leave; with a second owner they can.
    let alice_id = app
        .scalar("SELECT id FROM users WHERE username = 'alice'")
        .await;
    let r = alice
        .call(
            Method::Put,
            &format!("{members}/{alice_id}"),
            Some(json!({"role": "editor"})),
        )
        .await;
    assert_json_error(&r, Status::Conflict, "conflict");
    let r = alice
        .call(Method::Delete, &format!("{members}/{alice_id}"), None)
        .await;
    assert_json_error(&r, Status::Conflict, "conflict");
    let r = alice
        .call(
            Method::Put,
            &format!("{members}/{bob_id}"),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(r.json()["role"], "owner");
    let r = alice
        .call(Method::Delete, &format!("{members}/{alice_id}"), None)
        .await;
    assert_eq!(r.status, Status::NoContent);
    let r = alice.call(Method::Get, &format!("/tasks/{p}"), None).await;
    assert_json_error(&r, Status::NotFound, "not_found");

    // Columns: add, rename, refuse removing a non-empty one, remove an empty one.
    let columns = format!("/tasks/{p}/columns");
    let r = bob
        .call(
            Method::Post,
            &columns,
            Some(json!({"name": "Review", "done": false})),
        )
        .await;
    assert_eq!(r.status, Status::Created);
    let review = r.json()["id"].as_i64().unwrap();
    let r = bob
        .call(
            Method::Put,
            &format!("{columns}/{review}"),
            Some(json!({"name": "QA"})),
        )
        .await;
    assert_eq!(r.json()["name"], "QA");
    bob.call(
        Method::Post,
        &format!("/tasks/{p}/items"),
        Some(json!({"title": "Check", "column_id": review})),
    )
    .await;
    let r = bob
        .call(Method::Delete, &format!("{columns}/{review}"), None)
        .await;
    assert_json_error(&r, Status::Conflict, "conflict");
    let r = bob.call(Method::Get, &columns, None).await;
    let done = r.json()[2]["id"].as_i64().unwrap();
    let r = bob
        .call(Method::Delete, &format!("{columns}/{done}"), None)
        .await;
    assert_eq!(r.status, Status::NoContent);
    let r = bob.call(Method::Get, &columns, None).await;
    assert_eq!(r.json().as_array().unwrap().len(), 3);

    // Archived: read-only; deleting removes it.
    let r = bob
        .call(
            Method::Put,
            &format!("/tasks/{p}"),
            Some(json!({"archived": true})),
        )
        .await;
    assert_eq!(r.json()["archived"], true);
    assert_eq!(r.json()["name"], "Team");
    let r = bob
        .call(
            Method::Post,
            &format!("/tasks/{p}/items"),
            Some(json!({"title": "Late"})),
        )
        .await;
    assert_json_error(&r, Status::Forbidden, "forbidden");
    let r = bob.call(Method::Delete, &format!("/tasks/{p}"), None).await;
    assert_eq!(r.status, Status::NoContent);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM task_projects").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM tasks").await, 0);
}
