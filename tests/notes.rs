//! Notes: create, read, update, delete, list and paging; ownership across
//! two members (pages and API); search that takes `%`, `_` and quotes
//! literally; the version conflict; Markdown sanitising. Export and import:
//! tests/notes_import.rs.
//! Every test runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::notes::create_note as create;
use common::*;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

async fn spawn() -> TestApp {
    TestApp::spawn_with(|f| f.merge(("signups_per_address_per_hour", 100))).await
}

async fn token_for(client: &Client, username: &str) -> String {
    let body =
        json!({"email": format!("{username}@example.org"), "password": PASSWORD}).to_string();
    let r = ApiRequest::new(client, Method::Post, "/login")
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    r.json()["token"].as_str().expect("a token").to_string()
}

async fn note_row(app: &TestApp, id: i64) -> (String, String, i64) {
    sqlx::query_as("SELECT title, body, version FROM notes WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db.pool)
        .await
        .expect("note row")
}

#[rocket::async_test]
async fn anonymous_visitors_are_sent_to_sign_in() {
    let app = spawn().await;
    let r = app.get("/notes").await;
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.location().unwrap().starts_with("/login"));
}

#[rocket::async_test]
async fn a_member_creates_reads_edits_and_deletes_a_note() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    assert!(app.get("/notes").await.body.contains("href=\"/notes\""));
    let id = create(
        &app.client,
        &[
            ("title", "Groceries"),
            ("body", "* milk\n* **eggs**"),
            ("tags", "Home, shopping, home"),
            ("pinned", "true"),
        ],
    )
    .await;
    let page = app.get(&format!("/notes/{id}")).await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("Groceries"));
    assert!(page.body.contains("<strong>eggs</strong>"));
    assert!(page.body.contains("#home") && page.body.contains("#shopping"));
    assert!(page.body.contains("pinned"));
    // The list's tag filter offers her tags, alphabetically, and the count
    // beside them (both come from one query).
    let list = app.get("/notes").await;
    let home = list.body.find(r#"<option value="home">home</option>"#);
    let shopping = list
        .body
        .find(r#"<option value="shopping">shopping</option>"#);
    assert!(home.is_some() && home < shopping, "{}", list.body);
    assert!(list.body.contains("1 note."));
    let filtered = app.get("/notes?tag=shopping").await;
    assert!(filtered.body.contains("Groceries"));
    assert!(filtered
        .body
        .contains(r#"<option value="shopping" selected>shopping</option>"#));

    // Edit: the form carries the version it was opened at.
    let edit = app.get(&format!("/notes/{id}/edit")).await;
    assert_eq!(extract_value(&edit.body, "version").as_deref(), Some("1"));
    let r = submit(
        &app.client,
        &format!("/notes/{id}/edit"),
        &format!("/notes/{id}/edit"),
        &[
            ("title", "Groceries for Sunday"),
            ("body", "bread"),
            ("tags", "home"),
            ("version", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let (title, body, version) = note_row(&app, id).await;
    assert_eq!(
        (title.as_str(), body.as_str(), version),
        ("Groceries for Sunday", "bread", 2)
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM note_tags WHERE note_id = {id}"
        ))
        .await,
        1
    );

    // Validation: the form comes back with the input and a message.
    let r = submit(
        &app.client,
        "/notes/new",
        "/notes",
        &[("title", ""), ("body", "kept")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Give the note a title") && r.body.contains("kept"));

    // Delete goes through a confirmation page.
    let confirm = app.get(&format!("/notes/{id}/delete")).await;
    assert_eq!(confirm.status, Status::Ok);
    assert!(confirm.body.contains("Delete the note"));
    let r = submit(
        &app.client,
        &format!("/notes/{id}/delete"),
        &format!("/notes/{id}/delete"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        app.get(&format!("/notes/{id}")).await.status,
        Status::NotFound
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM note_tags").await, 0);
    // Without the token nothing is deleted.
    let id = create(&app.client, &[("title", "Keep me")]).await;
    let r = app.post_raw(&format!("/notes/{id}/delete"), &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM notes").await, 1);
}

#[rocket::async_test]
async fn the_list_pages_puts_pinned_first_hides_archived_and_filters_by_tag() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    let user = app.scalar("SELECT id FROM users").await;
    // 45 notes straight into the table (the form is tested above).
    for i in 0..45 {
        app.exec(&format!(
            "INSERT INTO notes (user_id, title, body, created_at, updated_at) \
             VALUES ({user}, 'Note {i:02}', 'body', {t}, {t})",
            t = 1_700_000_000 + i
        ))
        .await;
    }
    let pinned = create(
        &app.client,
        &[
            ("title", "Pinned one"),
            ("pinned", "true"),
            ("tags", "star"),
        ],
    )
    .await;
    let archived = create(
        &app.client,
        &[
            ("title", "Old stuff"),
            ("archived", "true"),
            ("tags", "star"),
        ],
    )
    .await;
    app.exec("UPDATE notes SET updated_at = 1 WHERE title = 'Pinned one'")
        .await;
    // The form's note is the newest, but the pinned one comes first.
    let first = app.get("/notes").await;
    assert!(first.body.contains("46 notes"), "{}", first.body);
    let pinned_at = first.body.find("Pinned one").expect("pinned shown");
    assert!(pinned_at < first.body.find("Note 44").expect("newest unpinned"));
    assert!(!first.body.contains("Old stuff"));
    assert!(first.body.contains("Page 1 of 3"));
    assert!(!first.body.contains("Note 24"));
    let third = app.get("/notes?page=3").await;
    assert!(third.body.contains("Note 00") && third.body.contains("Page 3 of 3"));
    assert!(!third.body.contains("Note 10"));
    let with_archived = app.get("/notes?archived=true").await;
    assert!(with_archived.body.contains("Old stuff") && with_archived.body.contains("47 notes"));
    let tagged = app.get("/notes?tag=star&archived=true").await;
    assert!(tagged.body.contains("2 notes"), "{}", tagged.body);
    assert!(tagged.body.contains(&format!("/notes/{pinned}")));
    assert!(tagged.body.contains(&format!("/notes/{archived}")));
    let tagged = app.get("/notes?tag=star").await;
    assert!(tagged.body.contains("1 note."), "{}", tagged.body);
}

#[rocket::async_test]
async fn another_members_note_is_404_on_every_page_and_stays_unchanged() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    let id = create(
        &app.client,
        &[("title", "Alice's secret"), ("body", "diary")],
    )
    .await;
    let bob = app.member("bob").await;
    for uri in [
        format!("/notes/{id}"),
        format!("/notes/{id}/edit"),
        format!("/notes/{id}/delete"),
    ] {
        let r = get(&bob, &uri).await;
        assert_eq!(r.status, Status::NotFound, "{uri}");
        assert!(!r.body.contains("secret"));
    }
    let r = submit(
        &bob,
        "/notes/new",
        &format!("/notes/{id}/edit"),
        &[("title", "pwned"), ("body", "x"), ("version", "1")],
    )
    .await;
    assert_eq!(r.status, Status::NotFound);
    let r = submit(
        &bob,
        "/notes/new",
        &format!("/notes/{id}/edit"),
        &[("title", "")],
    )
    .await;
    assert_eq!(r.status, Status::NotFound);
    let r = submit(&bob, "/notes/new", &format!("/notes/{id}/delete"), &[]).await;
    assert_eq!(r.status, Status::NotFound);
    assert!(!get(&bob, "/notes").await.body.contains("secret"));
    assert!(!get(&bob, "/notes?q=diary").await.body.contains("secret"));
    assert_eq!(
        note_row(&app, id).await,
        ("Alice's secret".to_string(), "diary".to_string(), 1)
    );
}

#[rocket::async_test]
async fn another_members_note_is_404_in_the_api_and_stays_unchanged() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    let _bob = app.member("bob").await;
    let alice = token_for(&app.client, "alice").await;
    let bob = token_for(&app.client, "bob").await;
    let body = json!({"title": "Mine", "body": "private", "tags": ["x"]}).to_string();
    let r = ApiRequest::new(&app.client, Method::Post, "/notes")
        .token(&alice)
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();
    let uri = format!("/notes/{id}");
    let r = ApiRequest::new(&app.client, Method::Get, &uri)
        .token(&bob)
        .send()
        .await;
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(r.json()["error"], "not_found");
    let put = json!({"title": "pwned", "version": 1}).to_string();
    let r = ApiRequest::new(&app.client, Method::Put, &uri)
        .token(&bob)
        .json(&put)
        .send()
        .await;
    assert_eq!(r.status, Status::NotFound);
    let r = ApiRequest::new(&app.client, Method::Delete, &uri)
        .token(&bob)
        .send()
        .await;
    assert_eq!(r.status, Status::NotFound);
    let r = ApiRequest::new(&app.client, Method::Get, "/notes")
        .token(&bob)
        .send()
        .await;
    assert_eq!(r.json()["total"], 0);
    assert_eq!(
        note_row(&app, id).await,
        ("Mine".into(), "private".into(), 1)
    );
    // A user_id in the body is ignored: the note is the token's.
    let alice_id = app
        .scalar("SELECT id FROM users WHERE username = 'alice'")
        .await;
    let body = json!({"title": "Planted", "user_id": alice_id}).to_string();
    let r = ApiRequest::new(&app.client, Method::Post, "/notes")
        .token(&bob)
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::Created);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM notes n JOIN users u ON u.id = n.user_id \
                    WHERE n.title = 'Planted' AND u.username = 'bob'"
        )
        .await,
        1
    );
    // No token: 401.
    let r = ApiRequest::new(&app.client, Method::Get, &uri).send().await;
    assert_eq!(r.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn the_api_creates_lists_updates_and_deletes() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    let token = token_for(&app.client, "alice").await;
    for i in 0..3 {
        let body =
            json!({"title": format!("API {i}"), "body": "text", "tags": ["Api"], "pinned": i == 0})
                .to_string();
        let r = ApiRequest::new(&app.client, Method::Post, "/notes")
            .token(&token)
            .json(&body)
            .send()
            .await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        assert_eq!(r.json()["tags"], json!(["api"]));
    }
    let r = ApiRequest::new(&app.client, Method::Get, "/notes?per_page=2&page=2")
        .token(&token)
        .send()
        .await;
    let page = r.json();
    assert_eq!(page["total"], 3);
    assert_eq!(page["notes"].as_array().unwrap().len(), 1);
    let first = ApiRequest::new(&app.client, Method::Get, "/notes")
        .token(&token)
        .send()
        .await
        .json();
    assert_eq!(first["notes"][0]["title"], "API 0");
    let id = first["notes"][1]["id"].as_i64().unwrap();
    let uri = format!("/notes/{id}");
    let put = json!({"body": "changed", "version": 1}).to_string();
    let r = ApiRequest::new(&app.client, Method::Put, &uri)
        .token(&token)
        .json(&put)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let saved = r.json();
    assert_eq!(
        (saved["body"].as_str(), saved["version"].as_i64()),
        (Some("changed"), Some(2))
    );
    assert_eq!(saved["title"], first["notes"][1]["title"]);
    let r = ApiRequest::new(&app.client, Method::Put, &uri)
        .token(&token)
        .json("{\"body\": 1}")
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let r = ApiRequest::new(&app.client, Method::Post, "/notes")
        .token(&token)
        .json("{}")
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.json()["fields"]["title"].is_string());
    let long = json!({"title": "Long", "body": "x".repeat(20_001)}).to_string();
    let r = ApiRequest::new(&app.client, Method::Post, "/notes")
        .token(&token)
        .json(&long)
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.json()["fields"]["body"].is_string());
    let r = ApiRequest::new(&app.client, Method::Delete, &uri)
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::NoContent);
    let r = ApiRequest::new(&app.client, Method::Get, &uri)
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::NotFound);
}

async fn save(app: &TestApp, edit: &str, token: &str, body: &str, version: &str) -> Resp {
    let fields = [
        ("csrf_token", token),
        ("title", "Plan"),
        ("body", body),
        ("version", version),
    ];
    post_raw(&app.client, edit, &fields, &[]).await
}

#[rocket::async_test]
async fn a_stale_save_is_refused_with_409_and_both_texts() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    let id = create(&app.client, &[("title", "Plan"), ("body", "original")]).await;
    let edit = format!("/notes/{id}/edit");
    // Two tabs open the same version; the first saves.
    let tab = app.get(&edit).await;
    let token = tab.csrf();
    assert_eq!(
        save(&app, &edit, &token, "first tab's text", "1")
            .await
            .status,
        Status::SeeOther
    );
    let r = save(&app, &edit, &token, "second tab's text", "1").await;
    assert_eq!(r.status, Status::Conflict);
    assert!(
        r.body.contains("first tab&#39;s text") || r.body.contains("first tab&#x27;s text"),
        "{}",
        r.body
    );
    assert!(r.body.contains("second tab&#39;s text") || r.body.contains("second tab&#x27;s text"));
    assert_eq!(extract_value(&r.body, "version").as_deref(), Some("2"));
    assert_eq!(note_row(&app, id).await.1, "first tab's text");
    // Saving again from the conflict page is a deliberate overwrite.
    assert_eq!(
        save(&app, &edit, &token, "second tab's text", "2")
            .await
            .status,
        Status::SeeOther
    );
    assert_eq!(
        note_row(&app, id).await,
        ("Plan".into(), "second tab's text".into(), 3)
    );

    // The API: 409 with the stored note.
    let token = token_for(&app.client, "alice").await;
    let put = json!({"body": "stale", "version": 1}).to_string();
    let r = ApiRequest::new(&app.client, Method::Put, &format!("/notes/{id}"))
        .token(&token)
        .json(&put)
        .send()
        .await;
    assert_eq!(r.status, Status::Conflict);
    let body: Value = r.json();
    assert_eq!(body["error"], "conflict");
    assert_eq!(body["current"]["body"], "second tab's text");
    assert_eq!(body["current"]["version"], 3);
    assert_eq!(note_row(&app, id).await.2, 3);
}

/// The sorted titles `GET /notes?q=` finds.
async fn titles(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    let uri = format!("/notes?q={}", rocket::http::RawStr::new(q).percent_encode());
    let r = ApiRequest::new(&app.client, Method::Get, &uri)
        .token(token)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{q}: {}", r.body);
    let mut t: Vec<String> = r.json()["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_string())
        .collect();
    t.sort();
    t
}

#[rocket::async_test]
async fn search_takes_percent_underscore_and_quotes_literally() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    let token = token_for(&app.client, "alice").await;
    let notes = [
        ("Sale", "everything 50% off today"),
        ("Numbers", "500 items and 50 boxes"),
        ("Code", "call snake_case functions"),
        ("Snakes", "snake case is not snake_case"),
        ("Quote", "she said \"hello world\" and it's fine"),
        ("Other", "hello there world"),
        ("Operators", "cats OR dogs NOT birds"),
    ];
    for (title, body) in notes {
        let b = json!({"title": title, "body": body}).to_string();
        let r = ApiRequest::new(&app.client, Method::Post, "/notes")
            .token(&token)
            .json(&b)
            .send()
            .await;
        assert_eq!(r.status, Status::Created);
    }
    assert_eq!(titles(&app, &token, "%").await, vec!["Sale"]);
    assert_eq!(titles(&app, &token, "50%").await, vec!["Sale"]);
    assert_eq!(titles(&app, &token, "_").await, vec!["Code", "Snakes"]);
    assert_eq!(
        titles(&app, &token, "snake_case").await,
        vec!["Code", "Snakes"]
    );
    assert_eq!(titles(&app, &token, "snake_").await, vec!["Code", "Snakes"]);
    assert_eq!(titles(&app, &token, "\"hello world\"").await, vec!["Quote"]);
    assert_eq!(titles(&app, &token, "it's").await, vec!["Quote"]);
    assert_eq!(titles(&app, &token, "'").await, vec!["Quote"]);
    assert_eq!(titles(&app, &token, "\"").await, vec!["Quote"]);
    assert_eq!(
        titles(&app, &token, "hello world").await,
        vec!["Other", "Quote"]
    );
    assert_eq!(titles(&app, &token, "HELLO").await, vec!["Other", "Quote"]);
    // FTS operators and syntax are plain words here.
    assert_eq!(titles(&app, &token, "OR").await, vec!["Operators"]);
    assert_eq!(titles(&app, &token, "cats OR").await, vec!["Operators"]);
    assert_eq!(titles(&app, &token, "NOT birds").await, vec!["Operators"]);
    assert_eq!(
        titles(&app, &token, "title:Sale").await,
        Vec::<String>::new()
    );
    assert_eq!(titles(&app, &token, "cat*").await, Vec::<String>::new());
    assert_eq!(titles(&app, &token, "50").await, vec!["Numbers", "Sale"]);
    assert_eq!(titles(&app, &token, "\\").await, Vec::<String>::new());
    assert_eq!(
        titles(&app, &token, "nothing-like-this").await,
        Vec::<String>::new()
    );
    // The index follows edits and deletes.
    let found = ApiRequest::new(&app.client, Method::Get, "/notes?q=boxes")
        .token(&token)
        .send()
        .await;
    let id = found.json()["notes"][0]["id"].as_i64().unwrap();
    let put = json!({"body": "crates now", "version": 1}).to_string();
    let uri = format!("/notes/{id}");
    let r = ApiRequest::new(&app.client, Method::Put, &uri)
        .token(&token)
        .json(&put)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok);
    assert!(titles(&app, &token, "boxes").await.is_empty());
    assert_eq!(titles(&app, &token, "crates").await, vec!["Numbers"]);
    let r = ApiRequest::new(&app.client, Method::Delete, &uri)
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::NoContent);
    assert!(titles(&app, &token, "crates").await.is_empty());
    assert_eq!(titles(&app, &token, "50").await, vec!["Sale"]);
    // The page escapes what was searched for.
    let page = app.get("/notes?q=%3Cscript%3E%22").await;
    assert_eq!(page.status, Status::Ok);
    assert!(!page.body.contains("<script>\""));
}

#[rocket::async_test]
async fn markdown_is_rendered_without_script_links_or_raw_html() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    let body = "# Heading\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1)) \
                [ok](https://example.org)\n\n<img src=x onerror=alert(1)>\n\n\
                <a href=\"javascript:alert(2)\">raw</a> <b onmouseover=\"alert(3)\">bold</b>\n\n\
                ![pic](javascript:alert(4))";
    let id = create(
        &app.client,
        &[("title", "<script>alert('t')</script>"), ("body", body)],
    )
    .await;
    let page = app.get(&format!("/notes/{id}")).await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("<h1>Heading</h1>"));
    assert!(page.body.contains("href=\"https://example.org\""));
    // Every real tag on the page: none is a script, none has an event
    // handler or a javascript: URL. (Escaped text may mention them.)
    let body = common::html::without_site_script(&page.body);
    for tag in body
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        let tag = tag.to_lowercase();
        assert!(!tag.starts_with("script"), "<{tag}>");
        assert!(!tag.contains("javascript:"), "<{tag}>");
        assert!(
            !tag.split_whitespace()
                .any(|a| a.starts_with("on") && a.contains('=')),
            "<{tag}>"
        );
    }
    assert!(!page.body.contains("<b "));
    // Raw HTML is shown as text, the title escaped.
    assert!(page.body.contains("&lt;script&gt;"));
    let list = app.get("/notes").await;
    assert!(!list.body.to_lowercase().contains("<script>alert"));
}
