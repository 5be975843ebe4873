//! Tasks: the list's filters (status, assignee or nobody, label, due
//! before/after, overdue, text in the title or description), its sort
//! orders (due, priority, created, updated, title; either way) and bounded
//! paging, on the page and in the API; and the drag-and-drop move, which
//! is the board's move form with `before`: the same move, the same checks.
//! Every test runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::html::unescape_html;
use common::tasks::*;
use common::*;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;

async fn spawn() -> TestApp {
    TestApp::spawn_for_members().await
}

/// The titles of the list page at `query`, in order.
async fn page_titles(client: &Client, p: i64, query: &str) -> Vec<String> {
    let r = get(client, &format!("/tasks/{p}/list?{query}")).await;
    assert_eq!(r.status, Status::Ok, "{query}: {}", r.body);
    let body = unescape_html(&r.body);
    let Some(start) = body.find("<tbody>") else {
        return Vec::new();
    };
    let body = &body[start..body.find("</tbody>").unwrap()];
    let marker = format!("<a href=\"/tasks/{p}/items/");
    body.split(&marker)
        .skip(1)
        .filter_map(|rest| {
            let rest = &rest[rest.find('>')? + 1..];
            Some(rest[..rest.find("</a>")?].to_string())
        })
        .collect()
}

/// The titles the API lists at `query`, in order.
async fn api_titles(client: &Client, token: &str, p: i64, query: &str) -> Vec<String> {
    let r = api_call(
        client,
        token,
        Method::Get,
        &format!("/tasks/{p}/items?{query}"),
        None,
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{query}: {}", r.body);
    r.json()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect()
}

async fn set(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(&app.db.pool).await.expect(sql);
}

#[rocket::async_test]
async fn every_filter_and_sort_order_on_the_page_and_in_the_api() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    app.member("bob").await;
    let token = token_of(&alice, "alice").await;
    let p = create_project(&alice, "Filters").await;
    add_member(&alice, p, "bob", "editor").await;
    let bob = user_id_of(&app, "bob").await.to_string();
    // Four tasks: dates, priorities, assignees and words differ.
    let a = create_task(
        &alice,
        p,
        &[
            ("title", "Alpha"),
            ("due_date", "2020-01-10"),
            ("priority", "low"),
            ("assignee", &bob),
        ],
    )
    .await;
    let b = create_task(
        &alice,
        p,
        &[
            ("title", "bravo"),
            ("due_date", "2099-03-01"),
            ("priority", "urgent"),
            ("description", "needs 100% of the budget"),
        ],
    )
    .await;
    let c = create_task(
        &alice,
        p,
        &[
            ("title", "Charlie"),
            ("priority", "medium"),
            ("assignee", &bob),
        ],
    )
    .await;
    let d = create_task(&alice, p, &[("title", "delta"), ("due_date", "2021-06-01")]).await;
    // d is done (completed): not overdue although its date is past.
    let done = column_id(&app, p, "Done").await;
    let r = submit(
        &alice,
        &format!("/tasks/{p}"),
        &format!("/tasks/{p}/items/{d}/move"),
        &[("column", &done.to_string())],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let label = {
        let r = api_call(
            &alice,
            &token,
            Method::Post,
            &format!("/tasks/{p}/labels"),
            Some(r#"{"name":"Ops","colour":"green"}"#),
        )
        .await;
        r.json()["id"].as_i64().unwrap()
    };
    let body = format!(r#"{{"label_ids":[{label}]}}"#);
    for t in [b, c] {
        let r = api_call(
            &alice,
            &token,
            Method::Put,
            &format!("/tasks/{p}/items/{t}/labels"),
            Some(&body),
        )
        .await;
        assert_eq!(r.status, Status::Ok);
    }
    let todo = column_id(&app, p, "To do").await;
    // Distinct creation and change times, so those orders are known.
    for (t, created, updated) in [(a, 100, 400), (b, 200, 300), (c, 300, 200), (d, 400, 100)] {
        set(
            &app,
            &format!(
                "UPDATE tasks SET created_at = {created}, updated_at = {updated} WHERE id = {t}"
            ),
        )
        .await;
    }

    // (page query, API query, expected titles)
    let cases: Vec<(String, String, Vec<&str>)> = vec![
        (
            "".into(),
            "".into(),
            vec!["Alpha", "bravo", "Charlie", "delta"],
        ),
        (
            format!("column={todo}"),
            format!("column_id={todo}"),
            vec!["Alpha", "bravo", "Charlie"],
        ),
        (
            format!("column={done}"),
            format!("column_id={done}"),
            vec!["delta"],
        ),
        (
            format!("assignee={bob}"),
            format!("assignee_id={bob}"),
            vec!["Alpha", "Charlie"],
        ),
        (
            "assignee=none".into(),
            "assignee_id=none".into(),
            vec!["bravo", "delta"],
        ),
        (
            format!("label={label}"),
            format!("label_id={label}"),
            vec!["bravo", "Charlie"],
        ),
        (
            "due_before=2021-06-01".into(),
            "due_before=2021-06-01".into(),
            vec!["Alpha", "delta"],
        ),
        (
            "due_after=2021-06-01".into(),
            "due_after=2021-06-01".into(),
            vec!["bravo", "delta"],
        ),
        (
            "due_after=2020-02-01&due_before=2030-01-01".into(),
            "due_after=2020-02-01&due_before=2030-01-01".into(),
            vec!["delta"],
        ),
        ("overdue=1".into(), "overdue=true".into(), vec!["Alpha"]),
        ("q=100%25".into(), "q=100%25".into(), vec!["bravo"]),
        ("q=ALPH".into(), "q=ALPH".into(), vec!["Alpha"]),
        ("q=%25".into(), "q=%25".into(), vec!["bravo"]),
        ("q=_".into(), "q=_".into(), vec![]),
        (
            format!("label={label}&assignee={bob}"),
            format!("label_id={label}&assignee_id={bob}"),
            vec!["Charlie"],
        ),
        (
            "sort=due".into(),
            "sort=due".into(),
            vec!["Alpha", "delta", "bravo", "Charlie"],
        ),
        (
            "sort=due&dir=desc".into(),
            "sort=due&dir=desc".into(),
            vec!["bravo", "delta", "Alpha", "Charlie"],
        ),
        (
            "sort=priority&dir=desc".into(),
            "sort=priority&dir=desc".into(),
            vec!["bravo", "Charlie", "Alpha", "delta"],
        ),
        (
            "sort=priority".into(),
            "sort=priority".into(),
            vec!["delta", "Alpha", "Charlie", "bravo"],
        ),
        (
            "sort=created&dir=desc".into(),
            "sort=created&dir=desc".into(),
            vec!["delta", "Charlie", "bravo", "Alpha"],
        ),
        (
            "sort=updated".into(),
            "sort=updated".into(),
            vec!["delta", "Charlie", "bravo", "Alpha"],
        ),
        (
            "sort=title".into(),
            "sort=title".into(),
            vec!["Alpha", "bravo", "Charlie", "delta"],
        ),
        (
            "sort=title&dir=desc".into(),
            "sort=title&dir=desc".into(),
            vec!["delta", "Charlie", "bravo", "Alpha"],
        ),
    ];
    for (page_q, api_q, want) in &cases {
        assert_eq!(
            page_titles(&alice, p, page_q).await,
            *want,
            "page ?{page_q}"
        );
        assert_eq!(
            api_titles(&alice, &token, p, api_q).await,
            *want,
            "API ?{api_q}"
        );
    }
    // The page keeps the chosen filters and order in its form.
    let r = get(
        &alice,
        &format!("/tasks/{p}/list?label={label}&sort=due&dir=desc&overdue=1"),
    )
    .await;
    assert!(r
        .body
        .contains(&format!("<option value=\"{label}\" selected>Ops</option>")));
    assert!(
        r.body.contains("<option value=\"due\" selected>")
            && r.body.contains("<option value=\"desc\" selected>")
    );
    assert!(r
        .body
        .contains("name=\"overdue\" type=\"checkbox\" value=\"1\" checked"));
    // Unreadable values: the page says so and lists everything; the API answers 422 naming each.
    let r = get(
        &alice,
        &format!("/tasks/{p}/list?sort=colour&due_before=soon"),
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("could not be read"));
    let r = api_call(&alice, &token, Method::Get, &format!("/tasks/{p}/items?sort=colour&dir=up&due_before=soon&due_after=2026-02-30&overdue=maybe&label_id=x&assignee_id=y"), None).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let fields = &r.json()["fields"];
    for f in [
        "sort",
        "dir",
        "due_before",
        "due_after",
        "overdue",
        "label_id",
        "assignee_id",
    ] {
        assert!(fields[f].is_string(), "{f}: {}", r.body);
    }
}

#[rocket::async_test]
async fn pages_are_stable_and_bounded() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let token = token_of(&alice, "alice").await;
    let p = create_project(&alice, "Paging").await;
    for i in 0..7 {
        create_task(
            &alice,
            p,
            &[("title", &format!("Task {i}")), ("priority", "high")],
        )
        .await;
    }
    // Equal priorities: the id breaks the tie, so pages neither repeat nor skip.
    let mut seen = Vec::new();
    for page in 1..=3 {
        seen.extend(
            api_titles(
                &alice,
                &token,
                p,
                &format!("sort=priority&per_page=3&page={page}"),
            )
            .await,
        );
    }
    assert_eq!(
        seen,
        (0..7).map(|i| format!("Task {i}")).collect::<Vec<_>>()
    );
    let r = api_call(
        &alice,
        &token,
        Method::Get,
        &format!("/tasks/{p}/items?per_page=100&page=52"),
        None,
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.json()["fields"]["page"]
        .as_str()
        .unwrap()
        .contains("narrow the filters"));
    let r = api_call(
        &alice,
        &token,
        Method::Get,
        &format!("/tasks/{p}/items?per_page=100&page=51"),
        None,
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    // A page far past the end on the list page still shows a page.
    let r = get(&alice, &format!("/tasks/{p}/list?page=999999")).await;
    assert_eq!(r.status, Status::Ok);
}

#[rocket::async_test]
async fn drag_and_drop_posts_the_same_move_as_the_form() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let vera = app.member("vera").await;
    let p = create_project(&alice, "Board").await;
    add_member(&alice, p, "vera", "viewer").await;
    let x = create_task(&alice, p, &[("title", "X")]).await;
    let doing = column_id(&app, p, "Doing").await;
    let y = create_task(&alice, p, &[("title", "Y"), ("column", &doing.to_string())]).await;
    let z = create_task(&alice, p, &[("title", "Z"), ("column", &doing.to_string())]).await;
    // The board offers the script, and marks columns and cards for it.
    let board = get(&alice, &format!("/tasks/{p}")).await;
    assert!(board
        .body
        .contains("<script src=\"/static/js/tasks-board.js\" defer></script>"));
    assert!(
        board.body.contains(&format!("data-column=\"{doing}\""))
            && board.body.contains(&format!("data-task=\"{x}\""))
    );
    let js = get(&alice, "/static/js/tasks-board.js").await;
    assert_eq!(js.status, Status::Ok);
    assert!(js.body.contains("form.submit()"));
    // A viewer's board has no script and no move forms.
    let vboard = get(&vera, &format!("/tasks/{p}")).await;
    assert!(!vboard.body.contains("tasks-board.js") && !vboard.body.contains("/move\""));

    // The drop: the card's move form with the column and the card below the drop point.
    let mv = format!("/tasks/{p}/items/{x}/move");
    let board_uri = format!("/tasks/{p}");
    let r = submit(
        &alice,
        &board_uri,
        &mv,
        &[("column", &doing.to_string()), ("before", &z.to_string())],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some(&*format!("/tasks/{p}#task-{x}")));
    let order: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM tasks WHERE column_id = $1 ORDER BY position, id")
            .bind(doing)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(order, [y, x, z]);
    let page = get(&alice, &format!("/tasks/{p}/items/{x}")).await;
    assert!(unescape_html(&page.body).contains("moved it: To do → Doing"));
    // Into Done completes it, as the form does; without `before` it goes to the end.
    let done = column_id(&app, p, "Done").await;
    submit(
        &alice,
        &board_uri,
        &mv,
        &[("column", &done.to_string()), ("before", "")],
    )
    .await;
    assert_eq!(column_of(&app, x).await, "Done");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM tasks WHERE id = {x} AND completed_at IS NOT NULL"
        ))
        .await,
        1
    );
    // `before` must be a task of the target column: nothing moves, the board says why.
    let r = submit(
        &alice,
        &board_uri,
        &mv,
        &[("column", &doing.to_string()), ("before", &x.to_string())],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(column_of(&app, x).await, "Done");
    let board = get(&alice, &board_uri).await;
    assert!(board
        .body
        .contains("Drop the task before a task of the column"));
    // The viewer's drop is refused like the viewer's form.
    let r = post_with_token(
        &vera,
        &mv,
        &[("column", doing.to_string()), ("before", y.to_string())],
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(column_of(&app, x).await, "Done");
}
