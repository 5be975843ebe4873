//! The pages kept per process (#14): the notes list's first page (per
//! member), the blog's first page (per reader) and the admin dashboard's
//! figures. A second view asks the database nothing, yet every change the
//! page shows is there on the very next view, in this process and in
//! another one on the same database.
//!
//! Each test first proves the page really is served from the cache: a row
//! changed in the database without telling anyone is not seen. Without
//! the announcement each change below makes, the test fails on it.

use crate::common;
use common::accounts::*;
use common::blog::{press, write};
use common::mail::send_contact;
use common::notes::create_note;
use common::*;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;

/// `browser`'s view of `uri`, which must open.
pub(crate) async fn page(browser: &Client, uri: &str) -> String {
    let r = get(browser, uri).await;
    assert_eq!(r.status, Status::Ok, "{uri}: {}", r.body);
    r.body
}

/// Another process on the same database, signed in with `browser`'s
/// session (its cookie, sealed with the key the processes share): what
/// `uri` shows there.
pub(crate) async fn on_other(b: &Client, browser: &Client, uri: &str) -> String {
    let cookie = format!(
        "{SESSION}={}",
        browser.cookies().get(SESSION).expect("signed in").value()
    );
    let r = get_with(b, uri, &[("Cookie", cookie.as_str())]).await;
    assert_eq!(r.status, Status::Ok, "{uri} on B: {}", r.body);
    r.body
}

#[rocket::async_test]
async fn every_change_to_a_members_notes_is_on_the_next_list() {
    let app = TestApp::spawn_for_members().await;
    let browser = app.member("nora").await;
    let first = create_note(&browser, &[("title", "Seed list"), ("body", "x")]).await;
    assert!(page(&browser, "/notes").await.contains("Seed list"));
    app.exec_unannounced(&format!(
        "UPDATE notes SET title = 'Changed behind its back' WHERE id = {first}"
    ))
    .await;
    let list = page(&browser, "/notes").await;
    assert!(
        list.contains("Seed list") && !list.contains("Changed behind its back"),
        "the second view was not served from the cache"
    );
    // A search not asked before reads the database (the rest of the pages
    // kept: `page_caches_detail.rs`).
    assert!(page(&browser, "/notes?q=behind")
        .await
        .contains("Changed behind its back"));

    // A new note, with a tag for the filter.
    create_note(
        &browser,
        &[("title", "Bees in June"), ("body", "b"), ("tags", "garden")],
    )
    .await;
    let list = page(&browser, "/notes").await;
    assert!(list.contains("Bees in June"), "{list}");
    assert!(list.contains("Changed behind its back"), "{list}");
    assert!(list.contains("tag=garden"), "the tag filter: {list}");

    // An edit (the form carries the version it started from).
    let edit = page(&browser, &format!("/notes/{first}/edit")).await;
    let version = extract_value(&edit, "version").expect("version field");
    let r = submit(
        &browser,
        &format!("/notes/{first}/edit"),
        &format!("/notes/{first}/edit"),
        &[
            ("title", "Renamed note"),
            ("body", "x"),
            ("version", &version),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(page(&browser, "/notes").await.contains("Renamed note"));

    // A delete.
    let r = submit(
        &browser,
        &format!("/notes/{first}/delete"),
        &format!("/notes/{first}/delete"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(!page(&browser, "/notes").await.contains("Renamed note"));

    // An import.
    let zip = common::notes::notes_zip(1, "Imported", |_| "from a file".into());
    let r = common::notes::import_zip(&browser, &zip).await;
    assert!(r.status.code < 400, "{}", r.body);
    assert!(page(&browser, "/notes").await.contains("Imported 1"));

    // A long body is kept cut after the excerpt, which reads as before.
    let long = format!("{}{}", "a".repeat(160), "b".repeat(300));
    create_note(&browser, &[("title", "Long one"), ("body", long.as_str())]).await;
    for _ in 0..2 {
        let list = page(&browser, "/notes").await;
        assert!(list.contains(&format!("{}…", "a".repeat(160))), "{list}");
        assert!(!list.contains(&format!("{}b", "a".repeat(160))), "{list}");
    }

    // Another member's list is theirs alone, and kept apart.
    let other = app.member("otto").await;
    assert!(!page(&other, "/notes").await.contains("Bees in June"));
}

#[rocket::async_test]
async fn a_note_saved_through_another_process_is_listed_at_once() {
    let app = TestApp::spawn_for_members().await;
    let browser = app.member("nell").await;
    let b = app.another_browser().await;
    app_listening(&b).await;
    let list = on_other(&b, &browser, "/notes").await;
    assert!(!list.contains("Written on A"));
    create_note(&browser, &[("title", "Written on A"), ("body", "x")]).await;
    assert!(
        on_other(&b, &browser, "/notes")
            .await
            .contains("Written on A"),
        "B is stale"
    );
}

#[rocket::async_test]
async fn every_change_to_the_blog_is_on_the_next_list() {
    let app = TestApp::spawn_for_members().await;
    let author = app.member("ada").await;
    let reader = app.member("rex").await;
    let url = write(&author, "Seed article", "Body", "garden").await;
    let slug = url.trim_start_matches("/blog/").to_string();
    assert!(page(&reader, "/blog").await.contains("Seed article"));
    assert!(app.get("/blog").await.body.contains("Seed article"));
    app.exec_unannounced(&format!(
        "UPDATE articles SET title = 'Changed behind its back' WHERE slug = '{slug}'"
    ))
    .await;
    for viewer in [&reader, &app.client] {
        let list = page(viewer, "/blog").await;
        assert!(
            list.contains("Seed article") && !list.contains("Changed behind its back"),
            "the second view was not served from the cache"
        );
    }

    // A new article, seen by a member and a visitor alike.
    write(&author, "Second article", "Body", "bees").await;
    for viewer in [&reader, &app.client] {
        let list = page(viewer, "/blog").await;
        assert!(list.contains("Second article"), "{list}");
        assert!(list.contains("Changed behind its back"));
        assert!(list.contains("/blog/tag/bees"), "popular tags: {list}");
    }

    // A favourite's count.
    assert!(page(&reader, "/blog").await.contains("0 favourites"));
    let r = press(&reader, &url, &format!("{url}/favorite")).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(page(&reader, "/blog").await.contains("1 favourite<"));

    // The author's new username (through the API).
    let token = common::json_api::token_for(&app.client, "ada@example.org").await;
    let rename = serde_json::json!({"user": {"username": "ada_l"}});
    let r = common::conduit::rw(&app, Method::Put, "/api/user", Some(&token), Some(rename)).await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert!(page(&reader, "/blog").await.contains(">ada_l</a>"));

    // The reader mutes the author: their articles leave the reader's list.
    let r = press(&reader, "/blog/author/ada_l", "/members/ada_l/mute").await;
    assert!(r.status.code < 400, "{}", r.body);
    assert!(!page(&reader, "/blog").await.contains("Second article"));
    assert!(app.get("/blog").await.body.contains("Second article"));

    // An admin disables the author: gone for everyone.
    let admin = app.admin_browser("boss").await;
    let id = app
        .scalar("SELECT id FROM users WHERE username = 'ada_l'")
        .await;
    let r = press(
        &admin,
        &format!("/admin/users/{id}"),
        &format!("/admin/users/{id}/disable"),
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(!app.get("/blog").await.body.contains("Second article"));
}

#[rocket::async_test]
async fn an_article_published_through_another_process_is_listed_at_once() {
    let app = TestApp::spawn_for_members().await;
    let author = app.member("ava").await;
    let b = app.another_browser().await;
    app_listening(&b).await;
    assert!(!page(&b, "/blog").await.contains("Written on A"));
    write(&author, "Written on A", "Body", "").await;
    assert!(
        page(&b, "/blog").await.contains("Written on A"),
        "B is stale"
    );
}

/// The dashboard's "N contact messages to handle".
fn to_handle(dashboard: &str) -> String {
    let at = dashboard
        .find("contact messages to handle")
        .expect("the contact figure");
    let before = &dashboard[..at];
    let start = before
        .rfind("<span class=\"stat-value\">")
        .expect("a value")
        + "<span class=\"stat-value\">".len();
    before[start..].split('<').next().unwrap_or("").to_string()
}

/// The app, its workers looking for jobs every 0.1 s.
pub(crate) async fn prompt_app() -> TestApp {
    TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("jobs.poll_interval", 0.1))
    })
    .await
}

/// Wait until no job is due or running (the mail a sign-up or a message
/// queued has gone; a digest due later may wait), and its announcement has arrived: a job
/// finishing drops the dashboard's figures, as it must.
pub(crate) async fn jobs_settled(app: &TestApp) {
    for _ in 0..1000 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let busy = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM jobs WHERE state = 'running' \
                 OR (state = 'queued' AND run_at <= {now})"
            ))
            .await;
        if busy == 0 {
            rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            return;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("jobs still due after 10 s");
}

#[rocket::async_test]
async fn every_change_the_dashboard_counts_is_there_on_the_next_view() {
    let app = prompt_app().await;
    let admin = app.admin_browser("root").await;
    // A job finishing anywhere in this test process empties the figures
    // (on SQLite an announcement made inside a transaction reaches every
    // app of the process: `events::publish_in`), and the other tests run
    // jobs meanwhile: so the proof is tried until one pair of views falls
    // between two of theirs.
    let mut unannounced = 0;
    let mut proved = false;
    for _ in 0..20 {
        jobs_settled(&app).await;
        let before = to_handle(&page(&admin, "/admin").await);
        app.exec_unannounced(
            "INSERT INTO contact_messages (name, email, subject, message, ip, user_agent, is_spam, created_at) \
             VALUES ('x', 'x@example.org', 'behind', 'its back', '', '', 0, 0)",
        )
        .await;
        unannounced += 1;
        if to_handle(&page(&admin, "/admin").await) == before {
            proved = true;
            break;
        }
    }
    assert!(proved, "the second view was never served from the cache");

    // A message through the contact form (with its mail to the admins).
    let visitor = app.another_browser().await;
    let r = send_contact(&visitor, "Vera", "vera@example.org", "Hello", "A question").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let dashboard = page(&admin, "/admin").await;
    let all = unannounced + 1;
    assert_eq!(to_handle(&dashboard), all.to_string(), "{dashboard}");
    assert!(dashboard.contains(&format!("({all} in all)")));

    // Marked handled (the figure first kept again).
    jobs_settled(&app).await;
    assert_eq!(to_handle(&page(&admin, "/admin").await), all.to_string());
    let id = app
        .scalar("SELECT id FROM contact_messages WHERE subject = 'Hello'")
        .await;
    let r = submit(
        &admin,
        &format!("/admin/contact/{id}"),
        &format!("/admin/contact/{id}/handled"),
        &[("handled", "true")],
    )
    .await;
    assert!(r.status.code < 400, "{}", r.body);
    assert_eq!(
        to_handle(&page(&admin, "/admin").await),
        (all - 1).to_string()
    );

    // A new member.
    let before = page(&admin, "/admin").await;
    assert!(before.contains("users (1 admin, 0 disabled)"), "{before}");
    app.member("newcomer").await;
    let after = page(&admin, "/admin").await;
    assert!(
        after.contains("<span class=\"stat-value\">2</span><span class=\"stat-label\">users"),
        "{after}"
    );
}

#[rocket::async_test]
async fn a_contact_message_through_another_process_is_counted_at_once() {
    let app = prompt_app().await;
    let admin = app.admin_browser("chief").await;
    let b = app.another_browser().await;
    app_listening(&b).await;
    jobs_settled(&app).await;
    assert_eq!(to_handle(&on_other(&b, &admin, "/admin").await), "0");
    let r = send_contact(&app.client, "Vic", "vic@example.org", "Hi", "A question").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        to_handle(&on_other(&b, &admin, "/admin").await),
        "1",
        "B is stale"
    );
}
