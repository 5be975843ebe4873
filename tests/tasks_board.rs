//! Tasks: the board and the task pages. Moving a task without JavaScript
//! (the "Move to" select and the ←/→ buttons), completion recorded by
//! moving into a done column or with the Complete button, the activity
//! lines, the task form's checks, Markdown shown safely, the stale edit
//! that answers 409 with both versions, and owners' column changes.
//! Every test runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::html::{escaped_script, field_error, unescape_html};
use common::tasks::*;
use common::*;
use rocket::http::Status;

async fn spawn() -> TestApp {
    TestApp::spawn_for_members().await
}

async fn completion(app: &TestApp, task: i64) -> (Option<i64>, Option<String>) {
    sqlx::query_as(
        "SELECT t.completed_at, u.username FROM tasks t LEFT JOIN users u ON u.id = t.completed_by \
         WHERE t.id = $1",
    )
    .bind(task)
    .fetch_one(&app.db.pool)
    .await
    .expect("task")
}

#[rocket::async_test]
async fn a_task_moves_across_the_board_without_javascript() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let p = create_project(&alice, "Launch").await;
    let t = create_task(&alice, p, &[("title", "Write copy")]).await;
    let board_uri = format!("/tasks/{p}");
    let board = get(&alice, &board_uri).await;
    // The card carries plain forms: the select and the → button (no ← in the first column).
    let card = &board.body[board.body.find(&format!("id=\"task-{t}\"")).unwrap()..];
    let card = &card[..card.find("</li>").unwrap()];
    assert!(card.contains(&format!("action=\"/tasks/{p}/items/{t}/move\"")));
    assert!(card.contains("name=\"column\"") && card.contains("value=\"right\""));
    assert!(!card.contains("value=\"left\""));

    // The select: straight to Doing.
    let doing = column_id(&app, p, "Doing").await;
    let move_uri = format!("/tasks/{p}/items/{t}/move");
    let r = submit(
        &alice,
        &board_uri,
        &move_uri,
        &[("column", &doing.to_string())],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some(&*format!("/tasks/{p}#task-{t}")));
    assert_eq!(column_of(&app, t).await, "Doing");
    let board = get(&alice, &board_uri).await;
    assert!(unescape_html(&board.body).contains("“Write copy” moved to Doing."));
    let doing_at = board.body.find(">Doing <").unwrap();
    let done_at = board.body.find(">Done <").unwrap();
    let card_at = board.body.find(&format!("id=\"task-{t}\"")).unwrap();
    assert!(doing_at < card_at && card_at < done_at);

    // → into Done completes it, recording who and when; ← reopens it.
    let r = submit(&alice, &board_uri, &move_uri, &[("to", "right")]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(column_of(&app, t).await, "Done");
    let (at, by) = completion(&app, t).await;
    assert!(at.is_some());
    assert_eq!(by.as_deref(), Some("alice"));
    // At the right end there is nowhere further: the task stays.
    let r = submit(&alice, &board_uri, &move_uri, &[("to", "right")]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(column_of(&app, t).await, "Done");
    submit(&alice, &board_uri, &move_uri, &[("to", "left")]).await;
    assert_eq!(column_of(&app, t).await, "Doing");
    assert_eq!(completion(&app, t).await, (None, None));

    // Every change left an activity line with who did it.
    let page = get(&alice, &format!("/tasks/{p}/items/{t}")).await;
    let text = unescape_html(&page.body);
    for line in [
        "created the task in To do",
        "moved it: To do → Doing",
        "moved it: Doing → Done",
        "completed it",
        "moved it: Done → Doing",
        "reopened it",
    ] {
        assert!(text.contains(line), "missing {line:?}");
    }
    // A column of another project is refused.
    let other = create_project(&alice, "Other").await;
    let foreign = column_id(&app, other, "Done").await;
    let r = submit(
        &alice,
        &board_uri,
        &move_uri,
        &[("column", &foreign.to_string())],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(column_of(&app, t).await, "Doing");
}

#[rocket::async_test]
async fn complete_and_reopen_buttons_record_who_and_when() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let p = create_project(&alice, "Chores").await;
    add_member(&alice, p, "bob", "editor").await;
    let t = create_task(&alice, p, &[("title", "Dishes")]).await;
    let task_uri = format!("/tasks/{p}/items/{t}");
    let r = submit(&bob, &task_uri, &format!("{task_uri}/complete"), &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(column_of(&app, t).await, "Done");
    let page = get(&alice, &task_uri).await;
    assert!(page.body.contains("Completed</dt><dd>bob, "));
    assert!(page.body.contains(&format!("action=\"{task_uri}/reopen\"")));
    submit(&alice, &task_uri, &format!("{task_uri}/reopen"), &[]).await;
    assert_eq!(column_of(&app, t).await, "To do");
    assert_eq!(completion(&app, t).await, (None, None));
}

#[rocket::async_test]
async fn the_task_form_checks_each_field_and_keeps_the_input() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let _stranger = app.member("stranger").await;
    let p = create_project(&alice, "Forms").await;
    let stranger = app
        .scalar("SELECT id FROM users WHERE username = 'stranger'")
        .await
        .to_string();
    let r = submit(
        &alice,
        &format!("/tasks/{p}/items/new"),
        &format!("/tasks/{p}/items"),
        &[
            ("title", ""),
            ("description", "kept text"),
            ("due_date", "2026-02-30"),
            ("due_time", "25:61"),
            ("priority", "extreme"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(
        field_error(&r.body, "title").as_deref(),
        Some("Give the task a title.")
    );
    assert_eq!(
        field_error(&r.body, "due_date").as_deref(),
        Some("Use a date like 2026-12-31.")
    );
    assert_eq!(
        field_error(&r.body, "due_time").as_deref(),
        Some("Use a time like 09:30.")
    );
    assert!(field_error(&r.body, "priority").is_some());
    assert!(r.body.contains("kept text") && r.body.contains("value=\"2026-02-30\""));
    // The assignee must be a member.
    let r = submit(
        &alice,
        &format!("/tasks/{p}/items/new"),
        &format!("/tasks/{p}/items"),
        &[("title", "Fine"), ("assignee", &stranger)],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(
        field_error(&r.body, "assignee").as_deref(),
        Some("Choose a member of the project, or nobody.")
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM tasks").await, 0);

    // A good one, with everything.
    let alice_id = app
        .scalar("SELECT id FROM users WHERE username = 'alice'")
        .await;
    let t = create_task(
        &alice,
        p,
        &[
            ("title", "Ship it"),
            ("description", "**Now** <script>alert(1)</script>"),
            ("assignee", &alice_id.to_string()),
            ("due_date", "2026-12-31"),
            ("due_time", "09:30"),
            ("priority", "urgent"),
        ],
    )
    .await;
    let page = get(&alice, &format!("/tasks/{p}/items/{t}")).await;
    assert!(page.body.contains("<strong>Now</strong>"));
    assert!(!page.body.contains("<script>alert(1)"));
    assert_eq!(escaped_script(&page.body), 1);
    assert!(page.body.contains("2026-12-31 09:30") && page.body.contains("urgent"));
    assert!(page.body.contains("Assignee</dt><dd>alice"));
}

#[rocket::async_test]
async fn a_stale_edit_answers_409_with_both_versions_and_loses_nothing() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let p = create_project(&alice, "Docs").await;
    add_member(&alice, p, "bob", "editor").await;
    let t = create_task(&alice, p, &[("title", "Draft"), ("description", "first")]).await;
    let edit = format!("/tasks/{p}/items/{t}/edit");
    // Both open the form at version 1; bob saves first.
    let alice_form = get(&alice, &edit).await;
    assert_eq!(
        extract_value(&alice_form.body, "version").as_deref(),
        Some("1")
    );
    let r = submit(
        &bob,
        &edit,
        &edit,
        &[
            ("title", "Bob's title"),
            ("description", "bob's text"),
            ("version", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);

    let r = post_raw(
        &alice,
        &edit,
        &[
            ("csrf_token", &alice_form.csrf()),
            ("title", "Alice's title"),
            ("description", "alice's text"),
            ("version", "1"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Conflict);
    let text = unescape_html(&r.body);
    assert!(text.contains("changed by someone else"));
    assert!(text.contains("Bob's title") && text.contains("bob's text"));
    assert!(text.contains("Alice's title") && text.contains("alice's text"));
    assert_eq!(extract_value(&r.body, "version").as_deref(), Some("2"));
    let stored: (String, String, i64) =
        sqlx::query_as("SELECT title, description, version FROM tasks WHERE id = $1")
            .bind(t)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(stored, ("Bob's title".into(), "bob's text".into(), 2));

    // Saving again from the 409 page is a deliberate overwrite.
    let r = post_raw(
        &alice,
        &edit,
        &[
            ("csrf_token", &alice_form.csrf()),
            ("title", "Alice's title"),
            ("description", "alice's text"),
            ("version", "2"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        app.text(&format!("SELECT title FROM tasks WHERE id = {t}"))
            .await
            .as_deref(),
        Some("Alice's title")
    );
}

#[rocket::async_test]
async fn owners_rename_add_reorder_and_remove_empty_columns() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let p = create_project(&alice, "Columns").await;
    let settings = format!("/tasks/{p}/settings");
    let to_do = column_id(&app, p, "To do").await;
    let doing = column_id(&app, p, "Doing").await;
    let r = submit(
        &alice,
        &settings,
        &format!("/tasks/{p}/columns/{to_do}"),
        &[("name", "Backlog")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let r = submit(
        &alice,
        &settings,
        &format!("/tasks/{p}/columns"),
        &[("name", "Review")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let review = column_id(&app, p, "Review").await;
    // Review moves left of Done.
    submit(
        &alice,
        &settings,
        &format!("/tasks/{p}/columns/{review}/move"),
        &[("to", "left")],
    )
    .await;
    let order: Vec<String> =
        sqlx::query_scalar("SELECT name FROM task_columns WHERE project_id = $1 ORDER BY position")
            .bind(p)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(order, ["Backlog", "Doing", "Review", "Done"]);
    let board = get(&alice, &format!("/tasks/{p}")).await;
    let at = |name: &str| board.body.find(&format!(">{name} <")).unwrap();
    assert!(at("Backlog") < at("Doing") && at("Doing") < at("Review") && at("Review") < at("Done"));

    // A column with a task stays; an empty one goes.
    let t = create_task(
        &alice,
        p,
        &[("title", "Busy"), ("column", &doing.to_string())],
    )
    .await;
    let r = submit(
        &alice,
        &settings,
        &format!("/tasks/{p}/columns/{doing}/delete"),
        &[],
    )
    .await;
    let after = get(&alice, r.location().unwrap()).await;
    assert!(after.body.contains("Only an empty column can be removed"));
    assert_eq!(column_of(&app, t).await, "Doing");
    submit(
        &alice,
        &settings,
        &format!("/tasks/{p}/columns/{review}/delete"),
        &[],
    )
    .await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM task_columns WHERE project_id = {p}"
        ))
        .await,
        3
    );
    // An empty name is refused.
    let r = submit(
        &alice,
        &settings,
        &format!("/tasks/{p}/columns"),
        &[("name", " ")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(
        field_error(&r.body, "column-name").as_deref(),
        Some("Give it a name.")
    );
}

#[rocket::async_test]
async fn the_list_view_filters_and_pages() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let p = create_project(&alice, "Many").await;
    let doing = column_id(&app, p, "Doing").await;
    for i in 0..3 {
        create_task(&alice, p, &[("title", &format!("Apple {i}"))]).await;
    }
    create_task(
        &alice,
        p,
        &[
            ("title", "Banana"),
            ("description", "yellow 100%"),
            ("column", &doing.to_string()),
        ],
    )
    .await;
    let r = get(&alice, &format!("/tasks/{p}/list?q=apple")).await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("3 tasks.") && !r.body.contains("Banana"));
    let r = get(&alice, &format!("/tasks/{p}/list?q=100%25")).await;
    assert!(r.body.contains("1 task.") && r.body.contains("Banana"));
    let r = get(&alice, &format!("/tasks/{p}/list?column={doing}")).await;
    assert!(r.body.contains("1 task.") && r.body.contains("Banana"));
    let r = get(&alice, &format!("/tasks/{p}/list?page=-4&column=x")).await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("4 tasks."));
}

#[rocket::async_test]
async fn editors_comment_in_markdown_and_viewers_read_the_comments() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let vera = app.member("vera").await;
    let p = create_project(&alice, "Talk").await;
    add_member(&alice, p, "vera", "viewer").await;
    let t = create_task(&alice, p, &[("title", "Discuss")]).await;
    let task_uri = format!("/tasks/{p}/items/{t}");
    let action = format!("{task_uri}/comments");
    let r = submit(&alice, &task_uri, &action, &[("body", "   ")]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(
        field_error(&r.body, "body").as_deref(),
        Some("Write something first.")
    );
    let r = submit(
        &alice,
        &task_uri,
        &action,
        &[("body", "**Agreed** <img src=x onerror=alert(1)>")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let page = get(&vera, &task_uri).await;
    assert!(page.body.contains("<strong>Agreed</strong>"));
    assert!(!page.body.contains("<img"));
    assert!(!page.body.contains(&format!("action=\"{action}\"")));
    let r = submit(&vera, &task_uri, &action, &[("body", "Me too")]).await;
    assert_eq!(r.status, Status::Forbidden);
    let token = token_of(&vera, "vera").await;
    let r = common::json_api::ApiRequest::new(&vera, rocket::http::Method::Get, &action)
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.json()[0]["username"], "alice");
    assert_eq!(r.json().as_array().unwrap().len(), 1);
}

#[rocket::async_test]
async fn my_tasks_groups_what_is_assigned_to_me_by_due_date() {
    let app = spawn().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let p = create_project(&alice, "Work").await;
    let q = create_project(&bob, "Home").await;
    add_member(&bob, q, "alice", "editor").await;
    let me = app
        .scalar("SELECT id FROM users WHERE username = 'alice'")
        .await
        .to_string();
    let day = |offset: i64| {
        let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(offset);
        format!("{d}")
    };
    let mine = |title: &'static str, due: String| {
        let me = me.clone();
        async move {
            vec![
                ("title", title.to_string()),
                ("assignee", me),
                ("due_date", due),
            ]
        }
    };
    for (project, fields) in [
        (p, mine("Late report", day(-2)).await),
        (q, mine("Call today", day(0)).await),
        (p, mine("Plan the week", day(3)).await),
        (p, mine("Next quarter", day(40)).await),
        (q, mine("Someday", String::new()).await),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        create_task(&alice, project, &fields).await;
    }
    create_task(&alice, p, &[("title", "Not mine")]).await;
    let done = create_task(&alice, p, &[("title", "Finished"), ("assignee", &me)]).await;
    submit(
        &alice,
        &format!("/tasks/{p}"),
        &format!("/tasks/{p}/items/{done}/complete"),
        &[],
    )
    .await;

    let page = get(&alice, "/tasks/mine").await;
    assert_eq!(page.status, Status::Ok);
    let order = [
        "Overdue",
        "Late report",
        "Today",
        "Call today",
        "This week",
        "Plan the week",
        "Later",
        "Next quarter",
        "No due date",
        "Someday",
    ];
    let mut at = 0;
    for text in order {
        let found = page.body[at..]
            .find(text)
            .unwrap_or_else(|| panic!("{text} out of order"));
        at += found;
    }
    assert!(!page.body.contains("Not mine") && !page.body.contains("Finished"));
    assert!(page.body.contains("Home") && page.body.contains("Work"));
    // Leaving a project takes its tasks off the list.
    let alice_id = me.parse::<i64>().unwrap();
    submit(
        &alice,
        &format!("/tasks/{q}/settings"),
        &format!("/tasks/{q}/members/{alice_id}/remove"),
        &[],
    )
    .await;
    let page = get(&alice, "/tasks/mine").await;
    assert!(!page.body.contains("Call today") && page.body.contains("Late report"));
}
