//! Notes export and import: the round trip; the limits an import is held
//! to (total unpacked size, the member's quota, imports per hour) with a
//! plain message and nothing stored; an export of many notes; other members
//! served while a large import runs. Every test runs on SQLite, and on
//! Postgres with `TEST_DATABASE_URL`.

use crate::common;
use std::io::Read;
use std::time::{Duration, Instant};

use common::notes::{create_note as create, import_zip, notes_zip};
use common::*;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::Client;
use rocket::tokio;
use serde_json::json;

async fn spawn() -> TestApp {
    TestApp::spawn_with(|f| f.merge(("signups_per_address_per_hour", 100))).await
}

async fn notes_of(app: &TestApp, username: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM notes n JOIN users u ON u.id = n.user_id WHERE u.username = $1",
    )
    .bind(username)
    .fetch_one(&app.db.pool)
    .await
    .expect("count")
}

async fn export(client: &Client) -> Vec<u8> {
    let r = client.get("/notes/export").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(r.content_type(), Some(ContentType::ZIP));
    assert!(r
        .headers()
        .get_one("Content-Disposition")
        .is_some_and(|d| d.starts_with("attachment")));
    r.into_bytes().await.expect("zip bytes")
}

type Snapshot = Vec<(String, String, i64, i64, i64, i64, String)>;

async fn snapshot(app: &TestApp, username: &str) -> Snapshot {
    let rows: Vec<(i64, String, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT n.id, n.title, n.body, n.pinned, n.archived, n.created_at, n.updated_at \
         FROM notes n JOIN users u ON u.id = n.user_id WHERE u.username = $1 ORDER BY n.title",
    )
    .bind(username)
    .fetch_all(&app.db.pool)
    .await
    .expect("notes");
    let mut out = Vec::new();
    for (id, title, body, pinned, archived, created, updated) in rows {
        let tags: Vec<String> =
            sqlx::query_scalar("SELECT tag FROM note_tags WHERE note_id = $1 ORDER BY tag")
                .bind(id)
                .fetch_all(&app.db.pool)
                .await
                .expect("tags");
        out.push((
            title,
            body,
            pinned,
            archived,
            created,
            updated,
            tags.join(","),
        ));
    }
    out
}

#[rocket::async_test]
async fn export_then_import_round_trips_every_field() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    create(
        &app.client,
        &[
            ("title", "Front: \"matter\" --- 100% ünïcode 🎉"),
            (
                "body",
                "---\ntitle: fake\n---\n\nline\n\n  trailing spaces  \n",
            ),
            ("tags", "a, b c, ü"),
            ("pinned", "true"),
        ],
    )
    .await;
    create(
        &app.client,
        &[("title", "Archived"), ("body", ""), ("archived", "true")],
    )
    .await;
    create(
        &app.client,
        &[("title", "Plain"), ("body", "just text\r\nwith CRLF")],
    )
    .await;
    app.exec(
        "UPDATE notes SET created_at = 1600000000, updated_at = 1650000000 WHERE title = 'Plain'",
    )
    .await;
    let zip = export(&app.client).await;
    let before = snapshot(&app, "alice").await;
    assert_eq!(before.len(), 3);

    // Into another member's account: the very same notes.
    let bob = app.member("bob").await;
    let r = import_zip(&bob, &zip).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(snapshot(&app, "bob").await, before);
    // Bob's export reads the same, byte for byte but for the ids in file names.
    let again = export(&bob).await;
    assert!(!again.is_empty());

    // Not a zip: refused with a message, nothing stored.
    let r = import_zip(&bob, b"not a zip at all").await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("not a zip"));
    assert_eq!(snapshot(&app, "bob").await.len(), 3);

    // Without the CSRF token: refused.
    let ct = ContentType::new("multipart", "form-data").with_params(("boundary", "b"));
    let body = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.zip\"\r\n\
                Content-Type: application/zip\r\n\r\nxx\r\n--b--\r\n";
    let r = bob
        .post("/notes/import")
        .header(ct)
        .header(Header::new("Accept", "text/html"))
        .body(body)
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Forbidden);
}

#[rocket::async_test]
async fn a_zip_of_thousands_of_tiny_files_unpacking_past_the_limit_is_refused() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    // 3,000 notes of 8,000 letters: 24 MB unpacked (the default limit is
    // 20 MiB), each well within the per-file limit, in a zip of under 1 MiB.
    let zip = notes_zip(3_000, "Bomb", |i| format!("{i}{}", "x".repeat(8_000)));
    assert!(zip.len() < 1024 * 1024, "{}", zip.len());
    let r = import_zip(&app.client, &zip).await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    assert!(
        r.body.contains("unpack to more than 20 MiB") && r.body.contains("Nothing was imported"),
        "{}",
        r.body
    );
    assert_eq!(notes_of(&app, "alice").await, 0);
    // The page states the limits.
    let page = app.get("/notes/import").await;
    assert!(page.body.contains("at most 20 MiB"), "{}", page.body);
    assert!(page.body.contains("up to 5,000 notes; you have 0 notes"));
}

#[rocket::async_test]
async fn the_total_size_limit_is_configurable() {
    let app = TestApp::spawn_with(|f| f.merge(("notes.import_max_bytes", 64 * 1024))).await;
    app.signed_in_user("alice").await;
    let zip = notes_zip(40, "Note", |_| "y".repeat(2_000));
    let r = import_zip(&app.client, &zip).await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    assert!(r.body.contains("unpack to more than 64 KiB"), "{}", r.body);
    assert_eq!(notes_of(&app, "alice").await, 0);
    let zip = notes_zip(20, "Note", |_| "y".repeat(2_000));
    let r = import_zip(&app.client, &zip).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(notes_of(&app, "alice").await, 20);
}

#[rocket::async_test]
async fn an_import_past_the_quota_is_refused_with_nothing_stored() {
    let app = TestApp::spawn_with(|f| f.merge(("notes.quota", 10))).await;
    app.signed_in_user("alice").await;
    for i in 0..8 {
        create(
            &app.client,
            &[("title", &format!("Mine {i}")), ("body", "")],
        )
        .await;
    }
    let r = import_zip(&app.client, &notes_zip(5, "Imported", |_| String::new())).await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    assert!(
        r.body.contains(
            "This zip holds 5 notes and you already have 8 notes: a member may keep at most 10 notes. \
             Nothing was imported."
        ),
        "{}",
        r.body
    );
    assert_eq!(notes_of(&app, "alice").await, 8);
    // Up to the quota is fine.
    let r = import_zip(&app.client, &notes_zip(2, "Imported", |_| String::new())).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(notes_of(&app, "alice").await, 10);
}

#[rocket::async_test]
async fn creating_a_note_past_the_quota_is_refused_keeping_what_was_typed() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("notes.quota", 2))
            .merge(("signups_per_address_per_hour", 100))
    })
    .await;
    app.signed_in_user("alice").await;
    create(&app.client, &[("title", "One"), ("body", "")]).await;
    create(&app.client, &[("title", "Two"), ("body", "")]).await;
    let r = app
        .submit(
            "/notes/new",
            "/notes",
            &[
                ("title", "Three & more"),
                ("body", "What I typed"),
                ("tags", "kept"),
            ],
        )
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    assert!(
        r.body
            .contains("You already keep 2 notes, the most a member may keep."),
        "{}",
        r.body
    );
    assert!(r.body.contains("value=\"Three &#38; more\""), "{}", r.body);
    assert!(r.body.contains(">What I typed</textarea>"));
    assert!(r.body.contains("value=\"kept\""));
    assert_eq!(notes_of(&app, "alice").await, 2);

    // The API answers 422 with the message under `fields`.
    let body = json!({"email": "alice@example.org", "password": PASSWORD}).to_string();
    let login = ApiRequest::new(&app.client, Method::Post, "/login")
        .json(&body)
        .send()
        .await;
    let token = login.json()["token"].as_str().expect("token").to_string();
    let note = json!({"title": "Four", "body": ""}).to_string();
    let r = ApiRequest::new(&app.client, Method::Post, "/notes")
        .token(&token)
        .json(&note)
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    assert!(r.json()["fields"]["quota"]
        .as_str()
        .is_some_and(|m| m.contains("the most a member may keep")));
    assert_eq!(notes_of(&app, "alice").await, 2);

    // The quota is per member: Bob still has room.
    let bob = app.member("bob").await;
    create(&bob, &[("title", "Bob's"), ("body", "")]).await;
}

#[rocket::async_test]
async fn imports_are_limited_per_member_per_hour() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("notes.imports_per_hour", 2))
            .merge(("signups_per_address_per_hour", 100))
    })
    .await;
    app.signed_in_user("alice").await;
    let zip = notes_zip(3, "Imported", |_| String::new());
    for _ in 0..2 {
        let r = import_zip(&app.client, &zip).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    }
    let r = import_zip(&app.client, &zip).await;
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
    assert!(
        r.body.contains(
            "You have started 2 imports in the last hour, the most allowed. Nothing was imported. \
             Please try again in 60 minutes."
        ),
        "{}",
        r.body
    );
    assert_eq!(notes_of(&app, "alice").await, 6);
    // Another member is not held back.
    let bob = app.member("bob").await;
    let r = import_zip(&bob, &zip).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

#[rocket::async_test]
async fn an_export_of_many_notes_is_a_valid_zip_holding_every_note() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    let r = import_zip(
        &app.client,
        &notes_zip(1_234, "Many", |i| format!("Body {i}\n")),
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let bytes = export(&app.client).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
    assert_eq!(zip.len(), 1_234);
    let mut bodies = Vec::new();
    for i in 0..zip.len() {
        let mut text = String::new();
        zip.by_index(i)
            .expect("entry")
            .read_to_string(&mut text)
            .expect("readable");
        bodies.push(text);
    }
    for i in [0, 199, 200, 777, 1_233] {
        let wanted = format!("title: \"Many {i}\"");
        let body = format!("---\nBody {i}\n");
        assert!(
            bodies
                .iter()
                .any(|t| t.contains(&wanted) && t.ends_with(&body)),
            "note {i} missing"
        );
    }
}

#[rocket::async_test]
async fn another_member_is_served_while_a_large_import_runs() {
    let app = spawn().await;
    app.signed_in_user("alice").await;
    let bob = app.member("bob").await;
    let zip = notes_zip(2_000, "Big", |i| {
        format!("Note {i}: {}", "words ".repeat(50))
    });
    let started = Instant::now();
    let import = async {
        let r = import_zip(&app.client, &zip).await;
        (r, Instant::now())
    };
    let others = async {
        // Once the import has stored its first notes, Bob reads and writes.
        while notes_of(&app, "alice").await == 0 {
            assert!(started.elapsed() < Duration::from_secs(120), "no import");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let list = get(&bob, "/notes").await;
        let created = submit(
            &bob,
            "/notes/new",
            "/notes",
            &[("title", "Mine"), ("body", "")],
        )
        .await;
        (list, created, Instant::now())
    };
    let ((imported, import_done), (list, created, bob_done)) = tokio::join!(import, others);
    assert_eq!(imported.status, Status::SeeOther, "{}", imported.body);
    assert_eq!(list.status, Status::Ok, "{}", list.body);
    assert_eq!(created.status, Status::SeeOther, "{}", created.body);
    assert!(
        bob_done < import_done,
        "Bob waited for the whole import ({:?} after it)",
        bob_done - import_done
    );
    assert_eq!(notes_of(&app, "alice").await, 2_000);
    assert_eq!(notes_of(&app, "bob").await, 1);
}
