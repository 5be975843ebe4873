//! Many writers at once on one database, across every kind of write a
//! visitor can start: note create, notes import (a large one included),
//! blog article, contact form and sign-up, from several app processes.
//! "database is locked" must never reach a person as a 500: a busy database
//! answers 503 with `Retry-After` at worst. Runs on SQLite, and on Postgres
//! with `TEST_DATABASE_URL`.

use crate::common;
use std::future::Future;
use std::sync::Arc;

use common::notes::{import_zip, notes_zip};
use common::*;
use rocket::local::asynchronous::Client;
use rocket::tokio;

/// A runtime with several workers, as a server has: the writers really run
/// side by side.
fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// What one kind of writer saw: every status, and the successes.
#[derive(Debug, Default)]
struct Seen {
    what: &'static str,
    statuses: Vec<(u16, Option<String>)>,
}

impl Seen {
    fn record(&mut self, r: &Resp) {
        self.statuses
            .push((r.status.code, r.header("retry-after").map(str::to_string)));
    }
    fn count(&self, code: u16) -> usize {
        self.statuses.iter().filter(|(c, _)| *c == code).count()
    }
}

async fn create_notes(client: Arc<Client>, n: usize) -> Seen {
    let mut seen = Seen {
        what: "note create",
        ..Default::default()
    };
    for i in 0..n {
        let title = format!("Stress note {i}");
        let r = submit(
            &client,
            "/notes/new",
            "/notes",
            &[("title", &title), ("body", "text"), ("tags", "a, b")],
        )
        .await;
        seen.record(&r);
    }
    seen
}

async fn write_articles(client: Arc<Client>, who: &str, n: usize) -> Seen {
    let mut seen = Seen {
        what: "blog article",
        ..Default::default()
    };
    for i in 0..n {
        let title = format!("{who} writes article {i}");
        let r = submit(
            &client,
            "/blog/new",
            "/blog",
            &[
                ("title", &title),
                ("description", "A summary"),
                ("body", "Some text"),
                ("tags", "stress"),
            ],
        )
        .await;
        seen.record(&r);
    }
    seen
}

async fn send_contact(client: Arc<Client>, n: usize) -> Seen {
    let mut seen = Seen {
        what: "contact form",
        ..Default::default()
    };
    for i in 0..n {
        let subject = format!("Hello {i}");
        let r = submit(
            &client,
            "/contact",
            "/contact",
            &[
                ("name", "Visitor"),
                ("email", "visitor@example.org"),
                ("subject", &subject),
                ("message", "Just saying hello."),
            ],
        )
        .await;
        seen.record(&r);
    }
    seen
}

async fn sign_up(client: Arc<Client>, username: String) -> Seen {
    let mut seen = Seen {
        what: "sign-up",
        ..Default::default()
    };
    let r = signup(
        &client,
        &username,
        &format!("{username}@example.org"),
        PASSWORD,
    )
    .await;
    seen.record(&r);
    seen
}

async fn import(client: Arc<Client>, zip: Vec<u8>) -> Seen {
    let mut seen = Seen {
        what: "notes import",
        ..Default::default()
    };
    let r = import_zip(&client, &zip).await;
    seen.record(&r);
    seen
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

#[test]
fn concurrent_writers_never_get_a_500_for_a_busy_database() {
    run(async {
        let app = TestApp::spawn_with(|f| {
            f.merge(("signups_per_address_per_hour", 1000))
                .merge(("blog_posts_per_hour", 1000))
                .merge(("contact.per_address_per_hour", 1000))
        })
        .await;
        // Members, each in a browser (and app process) of their own.
        let mut writers = Vec::new();
        for name in ["wanda", "walt", "wes", "wren"] {
            writers.push(Arc::new(app.member(name).await));
        }
        let bloggers = [
            Arc::new(app.member("bea").await),
            Arc::new(app.member("bob").await),
        ];
        let importer = Arc::new(app.member("ida").await);
        // As large as the import in the report: thousands of notes, each
        // within the per-file limit, squeezing into well under 1 MiB.
        let bomber = Arc::new(app.member("boris").await);
        let visitor = Arc::new(app.another_browser().await);
        let mut newcomers = Vec::new();
        for _ in 0..4 {
            newcomers.push(Arc::new(app.another_browser().await));
        }
        let ordinary = notes_zip(600, "Imported", |i| format!("Note number {i}.\n"));
        let huge = notes_zip(4_500, "Huge", |i| format!("{i}{}", "x".repeat(19_000)));
        assert!(huge.len() < 1024 * 1024, "{}", huge.len());

        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(import(bomber.clone(), huge)));
        tasks.push(tokio::spawn(import(importer.clone(), ordinary)));
        for w in &writers {
            tasks.push(tokio::spawn(create_notes(w.clone(), 12)));
        }
        for (i, b) in bloggers.iter().enumerate() {
            let who = if i == 0 { "bea" } else { "bob" };
            tasks.push(tokio::spawn(write_articles(b.clone(), who, 6)));
        }
        tasks.push(tokio::spawn(send_contact(visitor.clone(), 8)));
        for (i, n) in newcomers.iter().enumerate() {
            tasks.push(tokio::spawn(sign_up(n.clone(), format!("newcomer{i}"))));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.expect("writer task"));
        }

        // No 5xx but 503, and every 503 says when to retry.
        let mut problems = Vec::new();
        for seen in &all {
            for (code, retry_after) in &seen.statuses {
                if *code >= 500 && (*code != 503 || retry_after.is_none()) {
                    problems.push(format!(
                        "{}: {code} (Retry-After {retry_after:?})",
                        seen.what
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");

        // What each writer was told is what was stored.
        for (seen, name) in all[2..6].iter().zip(["wanda", "walt", "wes", "wren"]) {
            let saved = seen.count(303) as i64;
            assert_eq!(notes_of(&app, name).await, saved, "{name}");
        }
        let imported = notes_of(&app, "ida").await;
        assert!(
            imported == 600 || (imported == 0 && all[1].count(303) == 0),
            "ida has {imported}: {:?}",
            all[1].statuses
        );
        let articles = app.scalar("SELECT COUNT(*) FROM articles").await;
        assert_eq!(articles as usize, all[6].count(303) + all[7].count(303));
        let messages = app.scalar("SELECT COUNT(*) FROM contact_messages").await;
        assert_eq!(messages as usize, all[8].count(303));
        let newcomers: usize = all[9..].iter().map(|s| s.count(303)).sum();
        let users = app
            .scalar("SELECT COUNT(*) FROM users WHERE username LIKE 'newcomer%'")
            .await;
        assert_eq!(users as usize, newcomers);
        // Ideally nobody was even asked to retry.
        let busy: usize = all.iter().map(|s| s.count(503)).sum();
        eprintln!("503 answers: {busy}");
    });
}

#[rocket::async_test]
async fn a_write_kept_waiting_past_the_busy_timeout_answers_503_with_retry_after() {
    let app = TestApp::spawn().await;
    if app.db.backend != groundwork::db::Backend::Sqlite {
        return; // Postgres writers wait on row locks; there is no busy timeout.
    }
    app.signed_in_user("walt").await;
    // Another process holds the write lock longer than the busy timeout.
    let mut other = app.db.pool.acquire().await.expect("connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *other)
        .await
        .expect("lock");
    let r = app
        .submit(
            "/notes/new",
            "/notes",
            &[("title", "Waiting"), ("body", "")],
        )
        .await;
    sqlx::query("ROLLBACK")
        .execute(&mut *other)
        .await
        .expect("unlock");
    assert_eq!(r.status.code, 503, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert!(r.body.contains("try again"), "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM notes").await, 0);
    // Once the lock is gone, the same note saves.
    let r = app
        .submit(
            "/notes/new",
            "/notes",
            &[("title", "Waiting"), ("body", "")],
        )
        .await;
    assert_eq!(r.status.code, 303, "{}", r.body);
}
