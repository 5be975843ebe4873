//! Tasks: labels and checklists. Labels per project (name and a palette
//! colour, checked; created, renamed, recoloured and deleted after a
//! confirmation by owners and editors), attached to tasks with the task
//! page's checkboxes or the API, shown on cards and the task page; a
//! checklist on each task (add, tick and untick, rename, reorder, delete)
//! with its progress on the card. Viewers read and change nothing;
//! outsiders get 404 on every new route, pages and API alike.
//! Every test runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::html::{field_error, unescape_html};
use common::tasks::*;
use common::*;
use rocket::http::{Method, Status};
use serde_json::Value;

async fn spawn() -> TestApp {
    TestApp::spawn_for_members().await
}

/// Create a label through the labels page; its id.
async fn create_label(
    app: &TestApp,
    client: &rocket::local::asynchronous::Client,
    p: i64,
    name: &str,
    colour: &str,
) -> i64 {
    let r = submit(
        client,
        &format!("/tasks/{p}/labels"),
        &format!("/tasks/{p}/labels"),
        &[("name", name), ("colour", colour)],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    sqlx::query_scalar("SELECT id FROM task_labels WHERE project_id = $1 AND name = $2")
        .bind(p)
        .bind(name)
        .fetch_one(&app.db.pool)
        .await
        .expect("label")
}

/// The card of task `t` on a board page.
fn card(board: &str, t: i64) -> String {
    let start = board.find(&format!("id=\"task-{t}\"")).expect("card");
    let card = &board[start..];
    card[..card.find("</li>").unwrap()].to_string()
}

async fn items_of(app: &TestApp, t: i64) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT text, done FROM task_checklist WHERE task_id = $1 ORDER BY position, id")
        .bind(t)
        .fetch_all(&app.db.pool)
        .await
        .expect("items")
}

async fn item_id(app: &TestApp, t: i64, text: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM task_checklist WHERE task_id = $1 AND text = $2")
        .bind(t)
        .bind(text)
        .fetch_one(&app.db.pool)
        .await
        .expect("item")
}

#[rocket::async_test]
async fn labels_are_created_checked_attached_shown_and_deleted() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let p = create_project(&alice, "Site").await;
    let t = create_task(&alice, p, &[("title", "Fix the header")]).await;
    let labels_uri = format!("/tasks/{p}/labels");

    // Invalid input comes back with 422, each message beside its field, the text kept.
    let r = submit(
        &alice,
        &labels_uri,
        &labels_uri,
        &[("name", " "), ("colour", "red")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(field_error(&r.body, "name").is_some());
    let r = submit(
        &alice,
        &labels_uri,
        &labels_uri,
        &[("name", "<b>Bug</b>"), ("colour", "#ff0000")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(field_error(&r.body, "colour")
        .unwrap()
        .contains("Choose one of the colours"));
    assert!(
        r.body.contains("value=\"&#60;b&#62;Bug&#60;/b&#62;\""),
        "kept and escaped: {}",
        &r.body[r.body.find("id=\"name\"").unwrap()..][..300]
    );

    let bug = create_label(&app, &alice, p, "<b>Bug</b>", "red").await;
    let ux = create_label(&app, &alice, p, "UX", "blue").await;
    // A second label of the same name is refused beside the field.
    let r = submit(
        &alice,
        &labels_uri,
        &labels_uri,
        &[("name", "UX"), ("colour", "green")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(field_error(&r.body, "name").unwrap().contains("already"));

    // Attach both from the task page's checkboxes.
    let task_uri = format!("/tasks/{p}/items/{t}");
    let page = get(&alice, &task_uri).await;
    assert!(page
        .body
        .contains(&format!("name=\"label\" value=\"{bug}\"")));
    let token = page.csrf();
    let action = format!("{task_uri}/labels");
    let (b, u) = (bug.to_string(), ux.to_string());
    let r = post_raw(
        &alice,
        &action,
        &[("csrf_token", &token), ("label", &b), ("label", &u)],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let board = get(&alice, &format!("/tasks/{p}")).await;
    let c = card(&board.body, t);
    assert!(
        c.contains("<span class=\"label label-red\">&#60;b&#62;Bug&#60;/b&#62;</span>"),
        "{c}"
    );
    assert!(c.contains("<span class=\"label label-blue\">UX</span>"));
    let page = get(&alice, &task_uri).await;
    assert!(unescape_html(&page.body).contains("changed the labels: added <b>Bug</b>, UX"));

    // Unticking one removes it; a label of another project is refused.
    let r = post_raw(
        &alice,
        &action,
        &[("csrf_token", &token), ("label", &u)],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let links = format!("SELECT COUNT(*) FROM task_label_links WHERE task_id = {t}");
    assert_eq!(app.scalar(&links).await, 1);
    let other = create_project(&alice, "Other").await;
    let foreign = create_label(&app, &alice, other, "Foreign", "grey")
        .await
        .to_string();
    let r = post_raw(
        &alice,
        &action,
        &[("csrf_token", &token), ("label", &foreign)],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(app.scalar(&links).await, 1, "nothing changed");

    // Rename and recolour; the same checks apply.
    let edit = format!("/tasks/{p}/labels/{ux}/edit");
    let r = submit(
        &alice,
        &labels_uri,
        &edit,
        &[("name", "Design"), ("colour", "purple")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let r = submit(
        &alice,
        &labels_uri,
        &edit,
        &[("name", ""), ("colour", "purple")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Give the label a name."));
    let board = get(&alice, &format!("/tasks/{p}")).await;
    assert!(card(&board.body, t).contains("<span class=\"label label-purple\">Design</span>"));

    // Deleting asks first, then takes it off the task.
    let confirm = get(&alice, &format!("/tasks/{p}/labels/{ux}/delete")).await;
    assert_eq!(confirm.status, Status::Ok);
    assert!(unescape_html(&confirm.body).contains("It is taken off 1 task of Site"));
    let r = submit(
        &alice,
        &labels_uri,
        &format!("/tasks/{p}/labels/{ux}/delete"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(app.scalar(&links).await, 0);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM task_labels WHERE project_id = {p}"
        ))
        .await,
        1
    );
}

#[rocket::async_test]
async fn a_checklist_keeps_order_and_shows_progress_on_the_card() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let p = create_project(&alice, "Move house").await;
    let t = create_task(&alice, p, &[("title", "Pack")]).await;
    let task_uri = format!("/tasks/{p}/items/{t}");
    let add = format!("{task_uri}/checklist");
    for text in ["Books", "Plates", "<script>x</script>"] {
        let r = submit(&alice, &task_uri, &add, &[("text", text)]).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    }
    // Empty text: 422, the message beside the field.
    let r = submit(&alice, &task_uri, &add, &[("text", "  ")]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Write what needs doing."));
    let page = get(&alice, &task_uri).await;
    assert!(
        page.body.contains("&#60;script&#62;x&#60;/script&#62;")
            && !page.body.contains("<script>x")
    );

    let plates = item_id(&app, t, "Plates").await;
    let item_uri = format!("{task_uri}/checklist/{plates}");
    let r = submit(&alice, &task_uri, &item_uri, &[("done", "1")]).await;
    assert_eq!(r.status, Status::SeeOther);
    let board = get(&alice, &format!("/tasks/{p}")).await;
    assert!(
        card(&board.body, t).contains("1/3"),
        "{}",
        card(&board.body, t)
    );
    // Up, rename, untick.
    submit(&alice, &task_uri, &item_uri, &[("to", "up")]).await;
    submit(&alice, &task_uri, &item_uri, &[("text", "Dishes")]).await;
    let r = submit(&alice, &task_uri, &item_uri, &[("text", "")]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(
        items_of(&app, t).await,
        [
            ("Dishes".to_string(), 1),
            ("Books".to_string(), 0),
            ("<script>x</script>".to_string(), 0)
        ]
    );
    submit(&alice, &task_uri, &item_uri, &[("done", "0")]).await;
    let books = item_id(&app, t, "Books").await;
    submit(
        &alice,
        &task_uri,
        &format!("{task_uri}/checklist/{books}"),
        &[("to", "down")],
    )
    .await;
    let r = submit(
        &alice,
        &task_uri,
        &format!("{task_uri}/checklist/{books}/delete"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        items_of(&app, t).await,
        [
            ("Dishes".to_string(), 0),
            ("<script>x</script>".to_string(), 0)
        ]
    );
    let board = get(&alice, &format!("/tasks/{p}")).await;
    assert!(card(&board.body, t).contains("0/2"));
}

#[rocket::async_test]
async fn labels_and_checklists_through_the_api() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let token = token_of(&alice, "alice").await;
    let p = create_project(&alice, "API").await;
    let t = create_task(&alice, p, &[("title", "One")]).await;
    let r = api_call(
        &alice,
        &token,
        Method::Post,
        &format!("/tasks/{p}/labels"),
        Some(r#"{"name":"Bug","colour":"red"}"#),
    )
    .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let bug = r.json()["id"].as_i64().unwrap();
    let r = api_call(
        &alice,
        &token,
        Method::Post,
        &format!("/tasks/{p}/labels"),
        Some(r#"{"name":"Bug"}"#),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.json()["fields"]["name"].is_string());
    let r = api_call(
        &alice,
        &token,
        Method::Post,
        &format!("/tasks/{p}/labels"),
        Some(r##"{"name":"X","colour":"#fff"}"##),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let r = api_call(
        &alice,
        &token,
        Method::Put,
        &format!("/tasks/{p}/labels/{bug}"),
        Some(r#"{"colour":"teal"}"#),
    )
    .await;
    assert_eq!(r.json()["colour"], "teal");
    assert_eq!(r.json()["name"], "Bug");
    let body = format!(r#"{{"label_ids":[{bug}]}}"#);
    let r = api_call(
        &alice,
        &token,
        Method::Put,
        &format!("/tasks/{p}/items/{t}/labels"),
        Some(&body),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()[0]["name"], "Bug");
    let r = api_call(
        &alice,
        &token,
        Method::Put,
        &format!("/tasks/{p}/items/{t}/labels"),
        Some(r#"{"label_ids":[999999]}"#),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let r = api_call(
        &alice,
        &token,
        Method::Get,
        &format!("/tasks/{p}/items/{t}/labels"),
        None,
    )
    .await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);

    let list = format!("/tasks/{p}/items/{t}/checklist");
    for text in ["a", "b", "c"] {
        let body = format!(r#"{{"text":"{text}"}}"#);
        let r = api_call(&alice, &token, Method::Post, &list, Some(&body)).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
    }
    let r = api_call(&alice, &token, Method::Post, &list, Some(r#"{"text":""}"#)).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let c = item_id(&app, t, "c").await;
    let r = api_call(
        &alice,
        &token,
        Method::Put,
        &format!("{list}/{c}"),
        Some(r#"{"done":true,"move":"up","text":"C"}"#),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["done"], true);
    let r = api_call(
        &alice,
        &token,
        Method::Put,
        &format!("{list}/{c}"),
        Some(r#"{"move":"sideways"}"#),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let r = api_call(&alice, &token, Method::Get, &list, None).await;
    let json = r.json();
    let texts: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["a", "C", "b"]);
    let a = item_id(&app, t, "a").await;
    let r = api_call(&alice, &token, Method::Delete, &format!("{list}/{a}"), None).await;
    assert_eq!(r.status, Status::NoContent);
    let r = api_call(
        &alice,
        &token,
        Method::Delete,
        &format!("/tasks/{p}/labels/{bug}"),
        None,
    )
    .await;
    assert_eq!(r.status, Status::NoContent);
    let r = api_call(
        &alice,
        &token,
        Method::Get,
        &format!("/tasks/{p}/labels"),
        None,
    )
    .await;
    assert_eq!(r.json(), Value::Array(vec![]));
}

/// Every new form and API call for project `p`, task `t`, label `l`, item `i`.
fn new_routes(p: i64, t: i64, l: i64, i: i64) -> (Vec<String>, Vec<FormPost>, Vec<ApiCall>) {
    let gets = vec![
        format!("/tasks/{p}/labels"),
        format!("/tasks/{p}/labels/{l}/delete"),
    ];
    let s = |v: &str| v.to_string();
    let posts = vec![
        (
            format!("/tasks/{p}/labels"),
            vec![("name", s("x")), ("colour", s("red"))],
        ),
        (
            format!("/tasks/{p}/labels/{l}/edit"),
            vec![("name", s("x")), ("colour", s("red"))],
        ),
        (format!("/tasks/{p}/labels/{l}/delete"), vec![]),
        (
            format!("/tasks/{p}/items/{t}/labels"),
            vec![("label", l.to_string())],
        ),
        (
            format!("/tasks/{p}/items/{t}/checklist"),
            vec![("text", s("x"))],
        ),
        (
            format!("/tasks/{p}/items/{t}/checklist/{i}"),
            vec![("done", s("1"))],
        ),
        (
            format!("/tasks/{p}/items/{t}/checklist/{i}"),
            vec![("text", s("renamed"))],
        ),
        (
            format!("/tasks/{p}/items/{t}/checklist/{i}"),
            vec![("to", s("down"))],
        ),
        (format!("/tasks/{p}/items/{t}/checklist/{i}/delete"), vec![]),
    ];
    let api = vec![
        (Method::Get, format!("/tasks/{p}/labels"), None),
        (
            Method::Post,
            format!("/tasks/{p}/labels"),
            Some(r#"{"name":"y"}"#),
        ),
        (
            Method::Put,
            format!("/tasks/{p}/labels/{l}"),
            Some(r#"{"name":"y"}"#),
        ),
        (Method::Delete, format!("/tasks/{p}/labels/{l}"), None),
        (Method::Get, format!("/tasks/{p}/items/{t}/labels"), None),
        (
            Method::Put,
            format!("/tasks/{p}/items/{t}/labels"),
            Some(r#"{"label_ids":[]}"#),
        ),
        (Method::Get, format!("/tasks/{p}/items/{t}/checklist"), None),
        (
            Method::Post,
            format!("/tasks/{p}/items/{t}/checklist"),
            Some(r#"{"text":"y"}"#),
        ),
        (
            Method::Put,
            format!("/tasks/{p}/items/{t}/checklist/{i}"),
            Some(r#"{"done":true}"#),
        ),
        (
            Method::Delete,
            format!("/tasks/{p}/items/{t}/checklist/{i}"),
            None,
        ),
    ];
    (gets, posts, api)
}

type FormPost = (String, Vec<(&'static str, String)>);
type ApiCall = (Method, String, Option<&'static str>);

/// What the label, its link and the checklist look like, to see nothing changed.
async fn snapshot(app: &TestApp, p: i64, t: i64) -> (i64, i64, String) {
    let labels = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM task_labels WHERE project_id = {p}"
        ))
        .await;
    let links = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM task_label_links WHERE task_id = {t}"
        ))
        .await;
    let items: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT text, done, position FROM task_checklist WHERE task_id = $1 ORDER BY id",
    )
    .bind(t)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    (labels, links, format!("{items:?}"))
}

#[rocket::async_test]
async fn viewers_read_labels_and_checklists_and_outsiders_get_404() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let vera = app.member("vera").await;
    let mallory = app.member("mallory").await;
    let p = create_project(&alice, "Private").await;
    add_member(&alice, p, "vera", "viewer").await;
    let t = create_task(&alice, p, &[("title", "Secret")]).await;
    let l = create_label(&app, &alice, p, "Hush", "pink").await;
    let task_uri = format!("/tasks/{p}/items/{t}");
    submit(
        &alice,
        &task_uri,
        &format!("{task_uri}/checklist"),
        &[("text", "Step one")],
    )
    .await;
    let i = item_id(&app, t, "Step one").await;
    let token = get(&alice, &task_uri).await.csrf();
    post_raw(
        &alice,
        &format!("{task_uri}/labels"),
        &[("csrf_token", &token), ("label", &l.to_string())],
        &[],
    )
    .await;
    let before = snapshot(&app, p, t).await;
    let (gets, posts, api) = new_routes(p, t, l, i);

    // A viewer sees the label and the item, without the forms that change them.
    let page = get(&vera, &task_uri).await;
    assert!(page.body.contains("Hush") && page.body.contains("Step one"));
    assert!(!page
        .body
        .contains(&format!("action=\"{task_uri}/checklist\"")));
    assert!(!page.body.contains(&format!("action=\"{task_uri}/labels\"")));
    let labels_page = get(&vera, &format!("/tasks/{p}/labels")).await;
    assert_eq!(labels_page.status, Status::Ok);
    assert!(labels_page.body.contains("Hush") && !labels_page.body.contains("New label"));
    for (action, fields) in &posts {
        let r = post_with_token(&vera, action, fields).await;
        assert_eq!(r.status, Status::Forbidden, "viewer POST {action}");
    }
    let vtoken = token_of(&vera, "vera").await;
    for (m, uri, body) in &api {
        let r = api_call(&vera, &vtoken, *m, uri, *body).await;
        let want = if *m == Method::Get {
            Status::Ok
        } else {
            Status::Forbidden
        };
        assert_eq!(r.status, want, "viewer {m} {uri}: {}", r.body);
    }
    assert_eq!(snapshot(&app, p, t).await, before);

    // An outsider gets 404 for all of it, pages and API.
    for uri in &gets {
        let r = get(&mallory, uri).await;
        assert_eq!(r.status, Status::NotFound, "GET {uri}");
        assert!(!r.body.contains("Hush"));
    }
    for (action, fields) in &posts {
        let r = post_with_token(&mallory, action, fields).await;
        assert_eq!(r.status, Status::NotFound, "outsider POST {action}");
    }
    let mtoken = token_of(&mallory, "mallory").await;
    for (m, uri, body) in &api {
        let r = api_call(&mallory, &mtoken, *m, uri, *body).await;
        assert_eq!(r.status, Status::NotFound, "outsider {m} {uri}");
        assert_eq!(r.json()["error"], "not_found");
    }
    assert_eq!(snapshot(&app, p, t).await, before);
    // A label or item of another project or task is a 404 too, even to a member.
    let other = create_project(&mallory, "Mine").await;
    let r = get(&mallory, &format!("/tasks/{other}/labels/{l}/delete")).await;
    assert_eq!(r.status, Status::NotFound);
    let mt = create_task(&mallory, other, &[("title", "Mine")]).await;
    let r = api_call(
        &mallory,
        &mtoken,
        Method::Delete,
        &format!("/tasks/{other}/items/{mt}/checklist/{i}"),
        None,
    )
    .await;
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(snapshot(&app, p, t).await, before);
}
