//! The mail system end to end: the outbox, deliveries as jobs, retries,
//! failures shown to admins, and several workers on one database. A real
//! SMTP server on 127.0.0.1 (tests/common/smtp.rs) receives what is sent.

use crate::common;
use common::mail::*;
use common::smtp::*;
use common::*;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use groundwork::db::Backend;
use rocket::http::Status;
use rocket::local::asynchronous::Client;

async fn contact_id(app: &TestApp, subject: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM contact_messages WHERE subject = '{subject}'"
    ))
    .await
}

/// Outbox rows with their delivery jobs, for conditions on both (`o.`, `j.`).
const DELIVERIES: &str = "outbox o LEFT JOIN jobs j ON j.id = o.job_id";

/// How many mails' deliveries match `condition`.
async fn deliveries(app: &TestApp, condition: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM {DELIVERIES} WHERE {condition}"
    ))
    .await
}

/// `n` queued outbox rows with their delivery jobs, inserted directly, with
/// distinct recipients and Message-IDs (`<bulk-i@test>`).
async fn queue_bulk(app: &TestApp, n: usize) {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "('<bulk-{i}@test>', 'contact', 'rcpt{i}@example.org', NULL, 'Bulk {i}', 'text {i}', \
                 '<p>html {i}</p>', 0)"
            )
        })
        .collect();
    app.exec(&format!(
        "INSERT INTO outbox (message_id, template, to_addr, reply_to, subject, text_body, html_body, \
         created_at) VALUES {}",
        rows.join(", ")
    ))
    .await;
    // As the migration links the mails queued before jobs existed.
    app.exec(
        "INSERT INTO jobs (kind, payload, state, run_at, attempts, created_at, updated_at) \
         SELECT 'mail', '{\"outbox_id\":' || id || '}', 'queued', 0, 0, 0, 0 FROM outbox \
         WHERE job_id IS NULL ORDER BY id",
    )
    .await;
    app.exec(
        "UPDATE outbox SET job_id = (SELECT j.id FROM jobs j WHERE j.kind = 'mail' \
         AND j.payload = '{\"outbox_id\":' || outbox.id || '}') WHERE job_id IS NULL",
    )
    .await;
}

/// A new app process with its delivery worker on, on the same database.
async fn worker_process(app: &TestApp) -> Client {
    Client::tracked(groundwork::build(
        app.figment().merge(("mail.worker", true)),
    ))
    .await
    .expect("worker process starts")
}

// ------------------------------------------------------------ outages

#[rocket::async_test]
async fn with_smtp_down_visitors_are_thanked_at_once_and_mail_goes_out_exactly_once_when_it_returns(
) {
    let port = free_port();
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &format!("smtp://127.0.0.1:{port}"))
            .merge(("contact.recipients", vec!["a@example.org", "b@example.org"]))
    })
    .await;

    for i in 1..=3 {
        let started = Instant::now();
        let r = send_contact(
            &app.client,
            "Vera",
            "vera@example.net",
            &format!("During the outage {i}"),
            "Hello",
        )
        .await;
        assert_thanked(&r);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the visitor waited {:?}",
            started.elapsed()
        );
        assert!(app.get("/contact/thanks").await.body.contains("Thank you"));
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 3);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox").await, 6);
    eventually!(
        DEADLINE,
        "a failed attempt on every outbox row",
        deliveries(
            &app,
            "j.state = 'queued' AND j.attempts >= 1 AND j.last_error IS NOT NULL"
        )
        .await
            == 6
    );

    let sink = SmtpSink::start_on(port).await;
    let mails = expect_exactly(&app, &sink, 6).await;
    let ids = message_ids(&mails);
    assert_unique(&ids);
    let stored: BTreeSet<String> = sqlx::query_scalar("SELECT message_id FROM outbox")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), stored);
    assert_eq!(
        deliveries(&app, "o.sent_at IS NOT NULL AND j.attempts >= 2").await,
        6
    );
}

#[rocket::async_test]
async fn a_hanging_smtp_server_does_not_keep_the_visitor_waiting() {
    // A server that accepts connections and never says a word.
    let listener = rocket::tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = rocket::tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &format!("smtp://{addr}"))
            .merge(("mail.timeout", 60))
            .merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;

    for i in 1..=2 {
        let started = Instant::now();
        assert_thanked(
            &send_contact(
                &app.client,
                "Vera",
                "vera@example.net",
                &format!("Stuck {i}"),
                "Hello",
            )
            .await,
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the visitor waited {:?}",
            started.elapsed()
        );
    }
    eventually!(
        DEADLINE,
        "the worker to be stuck sending",
        deliveries(&app, "j.state = 'running'").await >= 1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 2);
    assert_eq!(deliveries(&app, "o.sent_at IS NOT NULL").await, 0);
    silent.abort();
}

#[rocket::async_test]
async fn a_temporary_smtp_error_is_retried_until_the_server_accepts() {
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::Temporary);
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;
    let admin = app.admin_browser("boss").await;

    assert_thanked(
        &send_contact(
            &app.client,
            "Vera",
            "vera@example.net",
            "Try again",
            "Hello",
        )
        .await,
    );
    eventually!(
        DEADLINE,
        "a recorded 451",
        deliveries(
            &app,
            "o.related_type = 'contact' AND j.state = 'queued' AND j.attempts >= 1 \
             AND j.last_error LIKE '%451%'"
        )
        .await
            == 1
    );
    let id = contact_id(&app, "Try again").await;
    let page = get(&admin, &format!("/admin/contact/{id}")).await;
    assert_eq!(page.status, Status::Ok);
    assert!(
        page.body.contains("a@example.org</strong>: retrying"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("451") && page.body.contains("next attempt"),
        "{}",
        page.body
    );
    assert!(sink.received().is_empty());

    // A second answer of 451 is still not the end.
    eventually!(
        DEADLINE,
        "a second attempt",
        deliveries(
            &app,
            "o.related_type = 'contact' AND j.state = 'queued' AND j.attempts >= 2"
        )
        .await
            == 1
    );
    sink.set_mode(Mode::Accept);
    let mails = expect_exactly(&app, &sink, 1).await;
    assert_eq!(rcpts(&mails[0]), vec!["a@example.org"]);
    assert_eq!(
        mails[0].header("Message-ID"),
        app.text("SELECT message_id FROM outbox WHERE related_type = 'contact'")
            .await
    );
    assert_eq!(
        deliveries(
            &app,
            "o.related_type = 'contact' AND o.sent_at IS NOT NULL AND j.attempts >= 3"
        )
        .await,
        1
    );
    let page = get(&admin, &format!("/admin/contact/{id}")).await;
    assert!(
        page.body.contains("a@example.org</strong>: sent"),
        "{}",
        page.body
    );
}

#[rocket::async_test]
async fn a_permanent_smtp_error_is_shown_as_failed_and_retry_now_delivers_it() {
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::Permanent);
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;
    let admin = app.admin_browser("boss").await;

    assert_thanked(
        &send_contact(&app.client, "Vera", "vera@example.net", "Bounced", "Hello").await,
    );
    eventually!(
        DEADLINE,
        "the mail to be marked failed",
        deliveries(&app, "o.related_type = 'contact' AND j.state = 'dead'").await == 1
    );
    let error = app
        .text(&format!(
            "SELECT j.last_error FROM {DELIVERIES} WHERE o.related_type = 'contact'"
        ))
        .await
        .unwrap();
    assert!(error.contains("550"), "last_error: {error}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT j.attempts FROM {DELIVERIES} WHERE o.related_type = 'contact'"
        ))
        .await,
        1,
        "a 5xx answer is not retried"
    );
    assert!(sink.received().is_empty());

    let id = contact_id(&app, "Bounced").await;
    let list = get(&admin, "/admin/contact").await;
    assert!(list.body.contains("a@example.org: failed"), "{}", list.body);
    let page = get(&admin, &format!("/admin/contact/{id}")).await;
    assert_eq!(page.status, Status::Ok);
    assert!(
        page.body.contains("a@example.org</strong>: failed"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("550") && page.body.contains("Mailbox unavailable"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Retry now"));
    // The given-up delivery is on the jobs page too.
    let jobs = get(&admin, "/admin/jobs?state=dead").await;
    assert!(
        jobs.body.contains("mail") && jobs.body.contains("550"),
        "{}",
        jobs.body
    );
    let prefix = format!("action=\"/admin/contact/{id}/deliveries/");
    let at = page.body.find(&prefix).expect("a retry form") + "action=\"".len();
    let action = page.body[at..at + page.body[at..].find('"').unwrap()].to_string();
    assert!(action.ends_with("/retry"), "{action}");

    sink.set_mode(Mode::Accept);
    let r = post_raw(
        &admin,
        &action,
        &[("csrf_token", page.csrf().as_str())],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some(format!("/admin/contact/{id}").as_str()));
    let mails = expect_exactly(&app, &sink, 1).await;
    assert_eq!(rcpts(&mails[0]), vec!["a@example.org"]);
    assert_eq!(
        deliveries(&app, "o.related_type = 'contact' AND o.sent_at IS NOT NULL").await,
        1
    );
    let page = get(&admin, &format!("/admin/contact/{id}")).await;
    assert!(
        page.body.contains("a@example.org</strong>: sent"),
        "{}",
        page.body
    );
}

#[rocket::async_test]
async fn retry_now_needs_a_csrf_token_and_an_admin() {
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::Permanent);
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;
    let admin = app.admin_browser("boss").await;
    assert_thanked(
        &send_contact(&app.client, "Vera", "vera@example.net", "Bounced", "Hello").await,
    );
    eventually!(
        DEADLINE,
        "a failure",
        deliveries(&app, "o.related_type = 'contact' AND j.state = 'dead'").await == 1
    );
    let id = contact_id(&app, "Bounced").await;
    let delivery = app
        .scalar("SELECT id FROM outbox WHERE related_type = 'contact'")
        .await;
    let action = format!("/admin/contact/{id}/deliveries/{delivery}/retry");

    get(&admin, "/admin/contact").await;
    assert_eq!(
        post_raw(&admin, &action, &[], &[]).await.status,
        Status::Forbidden
    );
    // The visitor's browser is no admin, token or not.
    let token = app.get("/contact").await.csrf();
    let r = post_raw(&app.client, &action, &[("csrf_token", token.as_str())], &[]).await;
    // Anonymous: sent to sign in, like every admin route.
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/login"));
    assert_eq!(
        deliveries(&app, "o.related_type = 'contact' AND j.state = 'dead'").await,
        1
    );
}

// ------------------------------------------- several processes, leases

/// 200 queued mails, two app processes with workers on one database: 200
/// arrivals, 200 distinct Message-IDs. On Postgres this goes through
/// `FOR UPDATE SKIP LOCKED`.
#[rocket::async_test]
async fn two_app_processes_deliver_200_queued_mails_exactly_once() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| mail_via(f, &sink.url()).merge(("mail.worker", false))).await;
    queue_bulk(&app, 200).await;
    assert_eq!(deliveries(&app, "j.state = 'queued'").await, 200);

    // On Postgres, another process in the middle of a claim holds row locks
    // on the first mails in the queue; the workers must go round them
    // (`SKIP LOCKED`) rather than wait, or take them too.
    let held = if app.db.backend == Backend::Postgres {
        let mut tx = app.db.pool.begin().await.unwrap();
        let locked: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE kind = 'mail' ORDER BY id LIMIT 10 FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        assert_eq!(locked.len(), 10);
        Some(tx)
    } else {
        None
    };

    let started = Instant::now();
    let (one, two) = rocket::tokio::join!(worker_process(&app), worker_process(&app));
    if let Some(tx) = held {
        let got = sink.wait_for(190, Duration::from_secs(20)).await;
        assert_eq!(
            got.len(),
            190,
            "mails not under another claimer's lock go out meanwhile"
        );
        let locked: BTreeSet<String> = (0..10).map(|i| format!("<bulk-{i}@test>")).collect();
        assert!(
            message_ids(&got).iter().all(|id| !locked.contains(id)),
            "a locked row was taken"
        );
        tx.rollback().await.unwrap();
    }
    let got = sink.wait_for(200, Duration::from_secs(20)).await;
    assert!(
        got.len() >= 200,
        "only {} of 200 mails arrived in {:?}",
        got.len(),
        started.elapsed()
    );
    let mails = expect_exactly(&app, &sink, 200).await;
    let ids = message_ids(&mails);
    assert_unique(&ids);
    let expected: BTreeSet<String> = (0..200).map(|i| format!("<bulk-{i}@test>")).collect();
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), expected);
    for m in &mails {
        let n = m
            .header("Message-ID")
            .unwrap()
            .trim_start_matches("<bulk-")
            .trim_end_matches("@test>")
            .to_string();
        assert_eq!(
            rcpts(m),
            vec![format!("rcpt{n}@example.org")],
            "each mail went to its own recipient"
        );
    }
    assert_eq!(
        deliveries(&app, "o.sent_at IS NOT NULL AND j.attempts = 1").await,
        200
    );
    drop((one, two));
}

/// Issue #12: a worker used to claim 20 mails under one lease, so with a slow
/// mail server the last ones of its batch were taken over by another
/// process when the lease lapsed, and sent twice. Now a worker claims one
/// mail at a time and finishes it well within the lease.
#[rocket::async_test]
async fn with_a_slow_smtp_server_and_a_short_lease_two_processes_send_each_mail_once() {
    let sink = SmtpSink::start().await;
    sink.set_delay(Duration::from_millis(300));
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url())
            .merge(("mail.worker", false))
            .merge(("jobs.lease", 2))
    })
    .await;
    queue_bulk(&app, 16).await;

    // 16 mails at 0.3 s each: longer than the lease, even shared by two.
    let (one, two) = rocket::tokio::join!(worker_process(&app), worker_process(&app));
    let mails = expect_exactly(&app, &sink, 16).await;
    assert_unique(&message_ids(&mails));
    assert_eq!(
        deliveries(
            &app,
            "o.sent_at IS NOT NULL AND j.state = 'done' AND j.attempts = 1"
        )
        .await,
        16,
        "no mail was taken over by the other process"
    );
    drop((one, two));
}

#[rocket::async_test]
async fn a_mail_claimed_by_a_dead_worker_is_taken_over_once_its_lease_lapses() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| mail_via(f, &sink.url()).merge(("mail.worker", false))).await;
    queue_bulk(&app, 2).await;
    let now = groundwork::db::now();
    // Row 0: its worker died and the lease ran out. Row 1: a live worker holds it.
    app.exec(&format!(
        "UPDATE jobs SET state = 'running', attempts = 1, lease_owner = 'gone#0', lease_until = {} \
         WHERE id = (SELECT job_id FROM outbox WHERE message_id = '<bulk-0@test>')",
        now - 5
    ))
    .await;
    app.exec(&format!(
        "UPDATE jobs SET state = 'running', attempts = 1, lease_owner = 'alive#0', lease_until = {} \
         WHERE id = (SELECT job_id FROM outbox WHERE message_id = '<bulk-1@test>')",
        now + 3600
    ))
    .await;

    let _worker = worker_process(&app).await;
    let got = sink.wait_for(1, DEADLINE).await;
    assert_eq!(message_ids(&got), vec!["<bulk-0@test>".to_string()]);
    eventually!(
        DEADLINE,
        "the taken-over mail to be marked sent",
        deliveries(
            &app,
            "o.message_id = '<bulk-0@test>' AND o.sent_at IS NOT NULL AND j.state = 'done'"
        )
        .await
            == 1
    );
    rocket::tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sink.received().len(),
        1,
        "a mail under a live lease was sent"
    );
    assert_eq!(
        deliveries(
            &app,
            "o.message_id = '<bulk-1@test>' AND o.sent_at IS NULL AND j.state = 'running' \
             AND j.lease_owner = 'alive#0'"
        )
        .await,
        1
    );
}

/// SECURITY.md 36: at shutdown the worker finishes and records the mail in
/// hand and claims no more, so nothing waits out a lease and nothing is
/// sent twice.
#[rocket::async_test]
async fn a_worker_shutting_down_finishes_the_mail_in_hand_and_takes_no_more() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| mail_via(f, &sink.url()).merge(("mail.worker", false))).await;
    queue_bulk(&app, 60).await;

    let first = worker_process(&app).await;
    assert!(!sink.wait_for(1, DEADLINE).await.is_empty());
    first.terminate().await;
    // The stop reaches the worker a moment after terminate() returns, and
    // it finishes the mail in hand: wait until nothing is claimed, every
    // mail that arrived is recorded as sent, and that stays so for half a
    // second (no more mail is taken).
    let sent_query = "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL";
    let mut last = (-1, -1);
    eventually!(
        Duration::from_secs(10),
        "the stopped worker to record the mail in hand and take no more",
        {
            rocket::tokio::time::sleep(Duration::from_millis(500)).await;
            let now = (sink.received().len() as i64, app.scalar(sent_query).await);
            let settled =
                now == last && now.0 == now.1 && deliveries(&app, "j.state = 'running'").await == 0;
            last = now;
            settled
        }
    );
    assert_eq!(
        deliveries(&app, "j.state = 'queued' AND j.attempts <> 0").await,
        0,
        "no mail was left claimed, nor tried without being recorded"
    );

    let _second = worker_process(&app).await;
    let mails = expect_exactly(&app, &sink, 60).await;
    assert_unique(&message_ids(&mails));
}

// ------------------------------------------------------------ .eml files

#[rocket::async_test]
async fn without_an_smtp_url_mails_are_written_as_eml_files() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(|f| {
        mail_to_files(f, dir.path()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;
    assert_thanked(
        &send_contact(
            &app.client,
            "Vera",
            "vera@example.net",
            "Written to disk",
            "Hello files",
        )
        .await,
    );

    let eml_files = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir.path())
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default()
    };
    eventually!(DEADLINE, "an .eml file", eml_files().len() == 1);
    eventually!(
        DEADLINE,
        "the mail to be marked sent",
        app.scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL")
            .await
            == 1
    );
    assert_eq!(eml_files().len(), 1);
    let eml = std::fs::read_to_string(&eml_files()[0]).unwrap();
    let message_id = app.text("SELECT message_id FROM outbox").await.unwrap();
    let as_received = Received {
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: eml.clone(),
    };
    assert_eq!(
        as_received.header("To").as_deref(),
        Some("a@example.org"),
        "{eml}"
    );
    assert_eq!(
        as_received.header("Reply-To").as_deref(),
        Some("vera@example.net")
    );
    assert_eq!(
        as_received.header("Subject").as_deref(),
        Some("[Contact] Written to disk")
    );
    assert_eq!(as_received.header("Message-ID"), Some(message_id));
    assert!(as_received
        .header("From")
        .unwrap()
        .contains("<noreply@example.org>"));
    assert!(part(&as_received, "text/plain").contains("Hello files"));
    assert!(part(&as_received, "text/html").contains("Hello files"));
}
