//! Tasks helpers: projects, members and tasks made through the pages, the
//! ids of what they made, and a token for the JSON API.

use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use super::json_api::ApiRequest;
use super::{submit, TestApp, PASSWORD};

/// The number after `prefix` in a redirect's location.
fn id_after(location: &str, prefix: &str) -> i64 {
    location
        .strip_prefix(prefix)
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id after {prefix} in {location}"))
}

/// Create a project through the form; its id.
pub async fn create_project(client: &Client, name: &str) -> i64 {
    let r = submit(client, "/tasks", "/tasks", &[("name", name)]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    id_after(r.location().expect("redirect to the board"), "/tasks/")
}

/// Add `who` to the project with `role` through the settings page.
pub async fn add_member(client: &Client, project: i64, who: &str, role: &str) {
    let r = submit(
        client,
        &format!("/tasks/{project}/settings"),
        &format!("/tasks/{project}/members"),
        &[("who", who), ("role", role)],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

/// Create a task through the form (`fields` besides the CSRF token); its id.
pub async fn create_task(client: &Client, project: i64, fields: &[(&str, &str)]) -> i64 {
    let r = submit(
        client,
        &format!("/tasks/{project}/items/new"),
        &format!("/tasks/{project}/items"),
        fields,
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    id_after(
        r.location().expect("redirect to the task"),
        &format!("/tasks/{project}/items/"),
    )
}

/// The id of column `name` of the project.
pub async fn column_id(app: &TestApp, project: i64, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM task_columns WHERE project_id = $1 AND name = $2")
        .bind(project)
        .bind(name)
        .fetch_one(&app.db.pool)
        .await
        .expect("column")
}

/// The name of the column task `task` is in.
pub async fn column_of(app: &TestApp, task: i64) -> String {
    sqlx::query_scalar(
        "SELECT c.name FROM tasks t JOIN task_columns c ON c.id = t.column_id WHERE t.id = $1",
    )
    .bind(task)
    .fetch_one(&app.db.pool)
    .await
    .expect("task")
}

/// A token for `username` (signed up with `PASSWORD` as `<username>@example.org`).
pub async fn token_of(client: &Client, username: &str) -> String {
    let body =
        json!({"email": format!("{username}@example.org"), "password": PASSWORD}).to_string();
    let r = ApiRequest::new(client, Method::Post, "/login")
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    r.json()["token"].as_str().expect("a token").to_string()
}

/// Post a form with the CSRF token of `client`'s session (read from
/// `/tasks`), whatever page it is on.
pub async fn post_with_token(
    client: &Client,
    action: &str,
    fields: &[(&'static str, String)],
) -> super::Resp {
    let token = super::get(client, "/tasks").await.csrf();
    let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
    all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
    super::post_raw(client, action, &all, &[]).await
}

/// One JSON API call with a bearer token, and an optional JSON body.
pub async fn api_call(
    client: &Client,
    token: &str,
    method: Method,
    uri: &str,
    body: Option<&str>,
) -> super::Resp {
    let mut req = ApiRequest::new(client, method, uri).token(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await
}

/// The user id of `username`.
pub async fn user_id_of(app: &TestApp, username: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&app.db.pool)
        .await
        .expect("user")
}
