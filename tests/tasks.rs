//! Tasks: projects and their members. Creating, renaming, archiving and
//! deleting a project (with its confirmation step); owners adding members
//! by username or email and removing them; the last owner staying; roles
//! (viewers read only, editors change tasks but not the project); and
//! every project route answering an outsider 404, pages and API alike.
//! The board and tasks: tests/tasks_board.rs; the API: tests/tasks_api.rs.
//! Every test runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::html::field_error;
use common::json_api::ApiRequest;
use common::tasks::*;
use common::*;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;

async fn spawn() -> TestApp {
    TestApp::spawn_for_members().await
}

async fn user_id(app: &TestApp, username: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM users WHERE username = '{username}'"
    ))
    .await
}

async fn role_of(app: &TestApp, project: i64, username: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT m.role FROM task_members m JOIN users u ON u.id = m.user_id \
         WHERE m.project_id = $1 AND u.username = $2",
    )
    .bind(project)
    .bind(username)
    .fetch_optional(&app.db.pool)
    .await
    .expect("role")
}

#[rocket::async_test]
async fn anonymous_visitors_are_sent_to_sign_in_and_forms_need_a_token() {
    let app = spawn().await;
    let r = app.get("/tasks").await;
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.location().unwrap().starts_with("/login"));
    let alice = app.member("alice").await;
    let r = post_raw(&alice, "/tasks", &[("name", "No token")], &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM task_projects").await, 0);
}

#[rocket::async_test]
async fn a_new_project_has_the_default_columns_and_its_creator_as_owner() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    assert!(get(&alice, "/tasks").await.body.contains("href=\"/tasks\""));
    let p = create_project(&alice, "Website relaunch").await;
    let board = get(&alice, &format!("/tasks/{p}")).await;
    assert_eq!(board.status, Status::Ok);
    assert!(board.body.contains("Website relaunch"));
    let to_do = board.body.find(">To do <").expect("To do");
    let doing = board.body.find(">Doing <").expect("Doing");
    let done = board.body.find(">Done <").expect("Done");
    assert!(to_do < doing && doing < done);
    assert_eq!(role_of(&app, p, "alice").await.as_deref(), Some("owner"));
    let list = get(&alice, "/tasks").await;
    assert!(list.body.contains(&format!("href=\"/tasks/{p}\"")));
}

#[rocket::async_test]
async fn a_project_needs_a_name_and_the_form_keeps_what_was_typed() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let r = submit(&alice, "/tasks", "/tasks", &[("name", "   ")]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(
        field_error(&r.body, "name").as_deref(),
        Some("Give it a name.")
    );
    let long = "x".repeat(101);
    let r = submit(&alice, "/tasks", "/tasks", &[("name", &long)]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains(&long));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM task_projects").await, 0);
}

#[rocket::async_test]
async fn owners_add_members_by_username_or_email_and_remove_them() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let carol = app.member("carol").await;
    let p = create_project(&alice, "Garden").await;
    add_member(&alice, p, "bob", "editor").await;
    add_member(&alice, p, "Carol@Example.org", "viewer").await;
    assert_eq!(role_of(&app, p, "bob").await.as_deref(), Some("editor"));
    assert_eq!(role_of(&app, p, "carol").await.as_deref(), Some("viewer"));
    let settings = get(&bob, &format!("/tasks/{p}/settings")).await;
    assert!(settings.body.contains("carol") && settings.body.contains("viewer"));
    assert!(get(&carol, "/tasks").await.body.contains("Garden"));

    // Unknown accounts and members already in are refused beside the field.
    let page = format!("/tasks/{p}/settings");
    let action = format!("/tasks/{p}/members");
    let r = submit(
        &alice,
        &page,
        &action,
        &[("who", "nobody"), ("role", "editor")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(
        field_error(&r.body, "who").as_deref(),
        Some("No account has that username or email address.")
    );
    assert!(r.body.contains("value=\"nobody\""));
    let r = submit(
        &alice,
        &page,
        &action,
        &[("who", "bob"), ("role", "viewer")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(role_of(&app, p, "bob").await.as_deref(), Some("editor"));

    // Removing carol: the project is gone for her, her tasks unassigned.
    let carol_id = user_id(&app, "carol").await;
    let t = create_task(
        &alice,
        p,
        &[("title", "Plant"), ("assignee", &carol_id.to_string())],
    )
    .await;
    let r = submit(
        &alice,
        &page,
        &format!("/tasks/{p}/members/{carol_id}/remove"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(role_of(&app, p, "carol").await, None);
    assert_eq!(
        get(&carol, &format!("/tasks/{p}")).await.status,
        Status::NotFound
    );
    let assignee: Option<i64> = sqlx::query_scalar("SELECT assignee_id FROM tasks WHERE id = $1")
        .bind(t)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(assignee, None);
}

#[rocket::async_test]
async fn the_last_owner_can_neither_leave_nor_step_down() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let _bob = app.member("bob").await;
    let p = create_project(&alice, "Club").await;
    let alice_id = user_id(&app, "alice").await;
    let bob_id = user_id(&app, "bob").await;
    let page = format!("/tasks/{p}/settings");
    let leave = format!("/tasks/{p}/members/{alice_id}/remove");
    let r = submit(&alice, &page, &leave, &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    let after = get(&alice, r.location().unwrap()).await;
    assert!(
        after.body.contains("A project needs an owner"),
        "{}",
        after.body
    );
    assert_eq!(role_of(&app, p, "alice").await.as_deref(), Some("owner"));
    let demote = format!("/tasks/{p}/members/{alice_id}/role");
    submit(&alice, &page, &demote, &[("role", "editor")]).await;
    assert_eq!(role_of(&app, p, "alice").await.as_deref(), Some("owner"));

    // With a second owner, the first may go.
    add_member(&alice, p, "bob", "viewer").await;
    let promote = format!("/tasks/{p}/members/{bob_id}/role");
    let r = submit(&alice, &page, &promote, &[("role", "owner")]).await;
    assert_eq!(r.status, Status::SeeOther);
    let r = submit(&alice, &page, &leave, &[]).await;
    assert_eq!(r.location(), Some("/tasks"));
    assert_eq!(role_of(&app, p, "alice").await, None);
    assert_eq!(role_of(&app, p, "bob").await.as_deref(), Some("owner"));
}

#[rocket::async_test]
async fn two_owners_demoting_each_other_at_once_leave_one() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let (alice_id, bob_id) = (user_id(&app, "alice").await, user_id(&app, "bob").await);
    for round in 0..5 {
        let p = create_project(&alice, &format!("Club {round}")).await;
        add_member(&alice, p, "bob", "owner").await;
        let owners =
            format!("SELECT COUNT(*) FROM task_members WHERE project_id = {p} AND role = 'owner'");
        assert_eq!(app.scalar(&owners).await, 2);
        let page = format!("/tasks/{p}/settings");
        let demote_bob = format!("/tasks/{p}/members/{bob_id}/role");
        let demote_alice = format!("/tasks/{p}/members/{alice_id}/role");
        let fields = [("role", "editor")];
        rocket::tokio::join!(
            submit(&alice, &page, &demote_bob, &fields),
            submit(&bob, &page, &demote_alice, &fields),
        );
        assert_eq!(app.scalar(&owners).await, 1, "round {round}");
    }
}

#[rocket::async_test]
async fn owners_rename_archive_and_delete_after_confirming() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let p = create_project(&alice, "Old name").await;
    let t = create_task(&alice, p, &[("title", "Something")]).await;
    let page = format!("/tasks/{p}/settings");
    let r = submit(
        &alice,
        &page,
        &format!("/tasks/{p}/rename"),
        &[("name", "New name")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert!(get(&alice, &format!("/tasks/{p}"))
        .await
        .body
        .contains("New name"));

    // Archived: read-only for everyone until restored.
    submit(&alice, &page, &format!("/tasks/{p}/archive"), &[]).await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT archived FROM task_projects WHERE id = {p}"
        ))
        .await,
        1
    );
    let board = get(&alice, &format!("/tasks/{p}")).await;
    assert!(board.body.contains("archived") && !board.body.contains("New task"));
    let r = submit(
        &alice,
        &page,
        &format!("/tasks/{p}/items"),
        &[("title", "More")],
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
    submit(&alice, &page, &format!("/tasks/{p}/archive"), &[]).await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT archived FROM task_projects WHERE id = {p}"
        ))
        .await,
        0
    );

    // Deleting asks first, then removes the project and its tasks.
    let confirm = get(&alice, &format!("/tasks/{p}/delete")).await;
    assert_eq!(confirm.status, Status::Ok);
    assert!(confirm.body.contains("Delete “New name”?") && confirm.body.contains("1 task,"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM task_projects").await, 1);
    let r = submit(
        &alice,
        &format!("/tasks/{p}/delete"),
        &format!("/tasks/{p}/delete"),
        &[],
    )
    .await;
    assert_eq!(r.location(), Some("/tasks"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM task_projects").await, 0);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM tasks WHERE id = {t}"))
            .await,
        0
    );
    assert_eq!(
        get(&alice, &format!("/tasks/{p}")).await.status,
        Status::NotFound
    );
}

/// A form's address and its fields (besides the CSRF token).
type FormPost = (String, Vec<(&'static str, String)>);

/// Every page and form of a project, with a task `t` and column `c` in it.
fn project_routes(p: i64, t: i64, c: i64, u: i64) -> (Vec<String>, Vec<FormPost>) {
    let gets = [
        format!("/tasks/{p}"),
        format!("/tasks/{p}/settings"),
        format!("/tasks/{p}/list"),
        format!("/tasks/{p}/delete"),
        format!("/tasks/{p}/items/new"),
        format!("/tasks/{p}/items/{t}"),
        format!("/tasks/{p}/items/{t}/edit"),
        format!("/tasks/{p}/items/{t}/delete"),
    ];
    let posts = vec![
        (
            format!("/tasks/{p}/rename"),
            vec![("name", "x".to_string())],
        ),
        (format!("/tasks/{p}/archive"), vec![]),
        (format!("/tasks/{p}/delete"), vec![]),
        (
            format!("/tasks/{p}/members"),
            vec![
                ("who", "mallory".to_string()),
                ("role", "owner".to_string()),
            ],
        ),
        (
            format!("/tasks/{p}/members/{u}/role"),
            vec![("role", "viewer".to_string())],
        ),
        (format!("/tasks/{p}/members/{u}/remove"), vec![]),
        (
            format!("/tasks/{p}/columns"),
            vec![("name", "x".to_string())],
        ),
        (
            format!("/tasks/{p}/columns/{c}"),
            vec![("name", "x".to_string())],
        ),
        (
            format!("/tasks/{p}/columns/{c}/move"),
            vec![("to", "right".to_string())],
        ),
        (format!("/tasks/{p}/columns/{c}/delete"), vec![]),
        (
            format!("/tasks/{p}/items"),
            vec![("title", "x".to_string())],
        ),
        (
            format!("/tasks/{p}/items/{t}/edit"),
            vec![("title", "x".to_string()), ("version", "1".to_string())],
        ),
        (
            format!("/tasks/{p}/items/{t}/move"),
            vec![("to", "right".to_string())],
        ),
        (format!("/tasks/{p}/items/{t}/complete"), vec![]),
        (format!("/tasks/{p}/items/{t}/reopen"), vec![]),
        (format!("/tasks/{p}/items/{t}/delete"), vec![]),
    ];
    (gets.to_vec(), posts)
}

async fn post_with_token(client: &Client, action: &str, fields: &[(&'static str, String)]) -> Resp {
    let token = get(client, "/tasks").await.csrf();
    let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
    all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
    post_raw(client, action, &all, &[]).await
}

#[rocket::async_test]
async fn outsiders_get_404_on_every_project_route_pages_and_api() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let mallory = app.member("mallory").await;
    let p = create_project(&alice, "Private").await;
    let t = create_task(&alice, p, &[("title", "Secret plan")]).await;
    let c = column_id(&app, p, "To do").await;
    let alice_id = user_id(&app, "alice").await;
    let (gets, posts) = project_routes(p, t, c, alice_id);
    for uri in &gets {
        let r = get(&mallory, uri).await;
        assert_eq!(r.status, Status::NotFound, "GET {uri}");
        assert!(!r.body.contains("Private") && !r.body.contains("Secret plan"));
    }
    for (action, fields) in &posts {
        let r = post_with_token(&mallory, action, fields).await;
        assert_eq!(r.status, Status::NotFound, "POST {action}");
    }
    // The same through the API.
    let token = token_of(&mallory, "mallory").await;
    let move_body = format!(r#"{{"column_id":{c}}}"#);
    let api_calls = [
        (Method::Get, format!("/tasks/{p}"), None),
        (Method::Put, format!("/tasks/{p}"), Some(r#"{"name":"x"}"#)),
        (Method::Delete, format!("/tasks/{p}"), None),
        (Method::Get, format!("/tasks/{p}/members"), None),
        (
            Method::Post,
            format!("/tasks/{p}/members"),
            Some(r#"{"who":"mallory"}"#),
        ),
        (
            Method::Put,
            format!("/tasks/{p}/members/{alice_id}"),
            Some(r#"{"role":"viewer"}"#),
        ),
        (
            Method::Delete,
            format!("/tasks/{p}/members/{alice_id}"),
            None,
        ),
        (Method::Get, format!("/tasks/{p}/columns"), None),
        (
            Method::Post,
            format!("/tasks/{p}/columns"),
            Some(r#"{"name":"x"}"#),
        ),
        (
            Method::Put,
            format!("/tasks/{p}/columns/{c}"),
            Some(r#"{"name":"x"}"#),
        ),
        (Method::Delete, format!("/tasks/{p}/columns/{c}"), None),
        (Method::Get, format!("/tasks/{p}/items"), None),
        (
            Method::Post,
            format!("/tasks/{p}/items"),
            Some(r#"{"title":"x"}"#),
        ),
        (Method::Get, format!("/tasks/{p}/items/{t}"), None),
        (
            Method::Put,
            format!("/tasks/{p}/items/{t}"),
            Some(r#"{"title":"x","version":1}"#),
        ),
        (Method::Delete, format!("/tasks/{p}/items/{t}"), None),
        (
            Method::Post,
            format!("/tasks/{p}/items/{t}/move"),
            Some(move_body.as_str()),
        ),
        (Method::Post, format!("/tasks/{p}/items/{t}/complete"), None),
        (Method::Post, format!("/tasks/{p}/items/{t}/reopen"), None),
    ];
    for (method, uri, body) in api_calls {
        let mut req = ApiRequest::new(&mallory, method, &uri).token(&token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await;
        api_json_error(
            &r,
            Status::NotFound,
            "not_found",
            &format!("{method} {uri}"),
        );
    }
    // Nothing changed.
    assert_eq!(role_of(&app, p, "alice").await.as_deref(), Some("owner"));
    assert_eq!(role_of(&app, p, "mallory").await, None);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM tasks WHERE id = {t}"))
            .await,
        1
    );
    assert_eq!(column_of(&app, t).await, "To do");
}

fn api_json_error(r: &Resp, status: Status, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert_eq!(r.json()["error"], code, "{what}: {}", r.body);
}

#[rocket::async_test]
async fn viewers_read_everything_and_change_nothing() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let vera = app.member("vera").await;
    let p = create_project(&alice, "Shared").await;
    add_member(&alice, p, "vera", "viewer").await;
    let t = create_task(
        &alice,
        p,
        &[("title", "Read me"), ("description", "**hello**")],
    )
    .await;
    let c = column_id(&app, p, "Doing").await;
    let vera_id = user_id(&app, "vera").await;

    let board = get(&vera, &format!("/tasks/{p}")).await;
    assert_eq!(board.status, Status::Ok);
    assert!(board.body.contains("Read me"));
    assert!(!board.body.contains("New task") && !board.body.contains("/move\""));
    let task = get(&vera, &format!("/tasks/{p}/items/{t}")).await;
    assert!(task.body.contains("<strong>hello</strong>") && !task.body.contains("/edit\""));

    let (_, posts) = project_routes(p, t, c, vera_id);
    for (action, fields) in &posts {
        if action.ends_with(&format!("/members/{vera_id}/remove")) {
            continue; // leaving is every member's right
        }
        let r = post_with_token(&vera, action, fields).await;
        assert_eq!(r.status, Status::Forbidden, "POST {action}");
    }
    for uri in [
        format!("/tasks/{p}/items/new"),
        format!("/tasks/{p}/items/{t}/edit"),
        format!("/tasks/{p}/delete"),
    ] {
        assert_eq!(
            get(&vera, &uri).await.status,
            Status::Forbidden,
            "GET {uri}"
        );
    }
    let token = token_of(&vera, "vera").await;
    let r = ApiRequest::new(&vera, Method::Post, &format!("/tasks/{p}/items"))
        .token(&token)
        .json(r#"{"title":"Sneaky"}"#)
        .send()
        .await;
    api_json_error(&r, Status::Forbidden, "forbidden", "viewer creates");
    let r = ApiRequest::new(&vera, Method::Get, &format!("/tasks/{p}/items/{t}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM tasks WHERE project_id = {p}"
        ))
        .await,
        1
    );
    assert_eq!(column_of(&app, t).await, "To do");
    assert_eq!(
        app.text(&format!("SELECT name FROM task_projects WHERE id = {p}"))
            .await
            .as_deref(),
        Some("Shared")
    );
}

#[rocket::async_test]
async fn editors_change_tasks_but_not_the_project() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let ed = app.member("eddie").await;
    let p = create_project(&alice, "Shared").await;
    add_member(&alice, p, "eddie", "editor").await;
    let t = create_task(&ed, p, &[("title", "Mine")]).await;
    let page = format!("/tasks/{p}");
    let r = submit(
        &ed,
        &page,
        &format!("/tasks/{p}/items/{t}/move"),
        &[("to", "right")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(column_of(&app, t).await, "Doing");
    let r = submit(
        &ed,
        &page,
        &format!("/tasks/{p}/rename"),
        &[("name", "Mine now")],
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
    let r = submit(
        &ed,
        &page,
        &format!("/tasks/{p}/members"),
        &[("who", "eddie"), ("role", "owner")],
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(role_of(&app, p, "eddie").await.as_deref(), Some("editor"));
    assert_eq!(
        get(&ed, &format!("/tasks/{p}/delete")).await.status,
        Status::Forbidden
    );
}
