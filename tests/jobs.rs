//! Durable background jobs: retries with backoff until a job is given up,
//! scheduled jobs that wait for their time, leases that only their holder
//! can finish, recurring jobs queued once, the hourly clean-up, and the
//! admin page that shows given-up jobs and retries them.

use crate::common;
use common::html::unescape_html;
use common::mail::DEADLINE;
use common::*;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use groundwork::db::now;
use groundwork::jobs::queue::{claim, finish};
use groundwork::jobs::{JobError, NewJob, Outcome, Policy, Registry};
use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use serde_json::json;

/// The runs a test handler saw: (job id, unix time in seconds).
#[derive(Clone, Default)]
struct Runs(Arc<Mutex<Vec<(i64, f64)>>>);

impl Runs {
    fn record(&self, id: i64) {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        self.0.lock().unwrap().push((id, t));
    }
    fn of(&self, id: i64) -> Vec<f64> {
        let runs = self.0.lock().unwrap();
        runs.iter().filter(|r| r.0 == id).map(|r| r.1).collect()
    }
}

/// A database whose own app process runs no worker (the tests start theirs).
fn no_worker(f: Figment) -> Figment {
    f.merge(("jobs.worker", false))
        .merge(("jobs.poll_interval", 0.1))
}

/// Another app process on `app`'s database with its worker on and a job
/// kind of the test's own: its handler records each run, then fails
/// (temporarily) or succeeds.
async fn worker_with(
    app: &TestApp,
    settings: impl FnOnce(Figment) -> Figment,
    kind: &'static str,
    policy: Policy,
    fail: bool,
    runs: Runs,
) -> Client {
    let figment = settings(app.figment().merge(("jobs.worker", true)));
    let rocket = groundwork::build(figment).attach(AdHoc::on_ignite(
        "A test job kind",
        move |rocket| async move {
            let registry = rocket.state::<Registry>().expect("the jobs registry");
            registry.register(kind, policy, move |_conn, job| {
                let runs = runs.clone();
                Box::pin(async move {
                    runs.record(job.id);
                    if fail {
                        Err(JobError::retry("<b>boom</b>"))
                    } else {
                        Ok(())
                    }
                })
            });
            rocket
        },
    ));
    Client::tracked(rocket)
        .await
        .expect("worker process starts")
}

async fn enqueue(app: &TestApp, job: NewJob) -> Option<i64> {
    let mut conn = app.db.pool.acquire().await.unwrap();
    groundwork::jobs::enqueue(&mut conn, &job).await.unwrap()
}

fn job(kind: &str) -> NewJob {
    NewJob::new(kind, &json!({"report": 7})).unwrap()
}

async fn job_count(app: &TestApp, condition: &str) -> i64 {
    app.scalar(&format!("SELECT COUNT(*) FROM jobs WHERE {condition}"))
        .await
}

/// Seconds between a job's last failure and its next attempt.
async fn retry_delay(app: &TestApp, id: i64) -> i64 {
    app.scalar(&format!(
        "SELECT run_at - updated_at FROM jobs WHERE id = {id}"
    ))
    .await
}

const POLICY: Policy = Policy {
    max_attempts: 4,
    retry_base: 60.0,
    retry_max: 1000.0,
};

#[rocket::async_test]
async fn a_failing_job_is_retried_after_growing_delays_then_given_up() {
    let app = TestApp::spawn_with(no_worker).await;
    let runs = Runs::default();
    let _worker = worker_with(&app, |f| f, "flaky", POLICY, true, runs.clone()).await;
    let id = enqueue(&app, job("flaky")).await.unwrap();

    let mut delays = Vec::new();
    for attempt in 1..=3 {
        eventually!(
            DEADLINE,
            format!("attempt {attempt} to fail"),
            job_count(
                &app,
                &format!("id = {id} AND state = 'queued' AND attempts = {attempt}")
            )
            .await
                == 1
        );
        let delay = retry_delay(&app, id).await;
        // 60 s doubling per attempt, ±50% jitter, a second either way for rounding.
        let expected = 60 * (1 << (attempt - 1));
        assert!(
            (expected / 2 - 1..=expected * 3 / 2 + 1).contains(&delay),
            "attempt {attempt}: retry in {delay}s"
        );
        delays.push(delay);
        assert_eq!(
            app.text(&format!("SELECT last_error FROM jobs WHERE id = {id}"))
                .await
                .as_deref(),
            Some("<b>boom</b>")
        );
        // Not run again before its time.
        rocket::tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(runs.of(id).len(), attempt as usize);
        // Its time comes.
        app.exec(&format!("UPDATE jobs SET run_at = 0 WHERE id = {id}"))
            .await;
    }
    assert!(delays[2] > delays[0], "delays {delays:?}");

    eventually!(
        DEADLINE,
        "the job to be given up",
        job_count(
            &app,
            &format!("id = {id} AND state = 'dead' AND attempts = 4")
        )
        .await
            == 1
    );
    rocket::tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(runs.of(id).len(), 4, "a dead job is not run again");
    assert_eq!(
        app.text(&format!(
            "SELECT last_error FROM jobs WHERE id = {id} AND lease_owner IS NULL"
        ))
        .await
        .as_deref(),
        Some("<b>boom</b>")
    );
}

#[rocket::async_test]
async fn a_job_waits_for_its_run_at_and_the_worker_wakes_for_it_without_polling() {
    let app = TestApp::spawn_with(no_worker).await;
    let due = now() + 2;
    let later = enqueue(&app, job("report").at(due)).await.unwrap();
    let soon = enqueue(&app, job("report")).await.unwrap();
    let runs = Runs::default();
    // A poll interval far beyond the test: only the job's own time wakes it.
    let _worker = worker_with(
        &app,
        |f| f.merge(("jobs.poll_interval", 60.0)),
        "report",
        POLICY,
        false,
        runs.clone(),
    )
    .await;

    eventually!(
        DEADLINE,
        "the job due now to run",
        job_count(&app, &format!("id = {soon} AND state = 'done'")).await == 1
    );
    assert!(runs.of(later).is_empty(), "a job ran before its time");
    assert_eq!(
        job_count(
            &app,
            &format!("id = {later} AND state = 'queued' AND attempts = 0")
        )
        .await,
        1
    );
    eventually!(
        Duration::from_secs(5),
        "the scheduled job to run",
        job_count(&app, &format!("id = {later} AND state = 'done'")).await == 1
    );
    let ran = runs.of(later);
    assert_eq!(ran.len(), 1);
    assert!(ran[0] >= due as f64, "ran at {} before {due}", ran[0]);
    assert!(ran[0] < due as f64 + 2.0, "ran at {}, due {due}", ran[0]);
}

#[rocket::async_test]
async fn a_worker_whose_lease_lapsed_cannot_record_a_result() {
    let app = TestApp::spawn_with(no_worker).await;
    let backend = app.db.backend;
    let kinds = vec!["report".to_string()];
    let mut conn = app.db.pool.acquire().await.unwrap();
    let id = enqueue(&app, job("report")).await.unwrap();

    let a = claim(&mut conn, backend, &kinds, "worker-a#1", 60)
        .await
        .unwrap()
        .expect("A claims the job");
    assert_eq!((a.id, a.attempts), (id, 1));
    assert!(
        claim(&mut conn, backend, &kinds, "worker-b#1", 60)
            .await
            .unwrap()
            .is_none(),
        "a job under a live lease is not taken"
    );
    // A stalls past its lease; B takes the job over.
    app.exec(&format!(
        "UPDATE jobs SET lease_until = {} WHERE id = {id}",
        now() - 1
    ))
    .await;
    let b = claim(&mut conn, backend, &kinds, "worker-b#2", 60)
        .await
        .unwrap()
        .expect("B takes the job over");
    assert_eq!((b.id, b.attempts), (id, 2));

    let before: (String, String, i64, i64) =
        sqlx::query_as("SELECT state, lease_owner, attempts, run_at FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    for outcome in [
        Outcome::Done,
        Outcome::Retry(now() + 600, "A's error".into()),
        Outcome::Dead("A's error".into()),
    ] {
        assert!(
            !finish(&mut conn, &a, &outcome).await.unwrap(),
            "{outcome:?} by A was recorded"
        );
    }
    let after: (String, String, i64, i64) =
        sqlx::query_as("SELECT state, lease_owner, attempts, run_at FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(after, before);
    assert_eq!(before.0, "running");
    assert_eq!(before.1, "worker-b#2");
    assert_eq!(
        job_count(&app, &format!("id = {id} AND last_error IS NULL")).await,
        1
    );

    assert!(finish(&mut conn, &b, &Outcome::Done).await.unwrap());
    assert_eq!(
        job_count(
            &app,
            &format!("id = {id} AND state = 'done' AND lease_owner IS NULL")
        )
        .await,
        1
    );
    assert!(
        !finish(&mut conn, &b, &Outcome::Dead("late".into()))
            .await
            .unwrap(),
        "a job is finished once"
    );
}

#[rocket::async_test]
async fn a_unique_key_queues_a_job_once_while_one_waits_or_runs() {
    let app = TestApp::spawn_with(no_worker).await;
    let first = enqueue(&app, job("report").unique("report:7")).await;
    assert!(first.is_some());
    assert_eq!(enqueue(&app, job("report").unique("report:7")).await, None);
    assert!(enqueue(&app, job("report").unique("report:8"))
        .await
        .is_some());
    app.exec(&format!(
        "UPDATE jobs SET state = 'done' WHERE id = {}",
        first.unwrap()
    ))
    .await;
    assert!(
        enqueue(&app, job("report").unique("report:7"))
            .await
            .is_some(),
        "once the first is done, the key is free again"
    );
    assert_eq!(job_count(&app, "unique_key = 'report:7'").await, 2);
}

// ------------------------------------------------------------ admin page

/// A job given up after three attempts, with markup in its error.
async fn dead_job(app: &TestApp) -> i64 {
    let id = enqueue(app, job("report")).await.unwrap();
    app.exec(&format!(
        "UPDATE jobs SET state = 'dead', attempts = 3, \
         last_error = '<script>alert(1)</script> SMTP 550 rejected' WHERE id = {id}"
    ))
    .await;
    id
}

#[rocket::async_test]
async fn admins_see_given_up_jobs_with_their_error_and_can_retry_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin_browser("boss").await;
    let id = dead_job(&app).await;

    let dashboard = get(&admin, "/admin").await;
    assert!(dashboard.body.contains("href=\"/admin/jobs\""), "nav link");
    let page = get(&admin, "/admin/jobs").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("dead (1)"), "{}", page.body);
    assert!(page.body.contains(&format!("#{id}")) && page.body.contains("report"));
    assert!(
        !page.body.contains("<script>alert(1)"),
        "the error is escaped"
    );
    assert!(unescape_html(&page.body).contains("<script>alert(1)</script> SMTP 550 rejected"));
    let action = format!("/admin/jobs/{id}/retry");
    assert!(page.body.contains(&format!("action=\"{action}\"")));

    let r = post_raw(
        &admin,
        &action,
        &[("csrf_token", page.csrf().as_str())],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/admin/jobs?state=dead"));
    assert!(get(&admin, "/admin/jobs?state=dead")
        .await
        .body
        .contains(&format!("Job {id} is queued to run again.")));
    assert_eq!(
        job_count(
            &app,
            &format!(
                "id = {id} AND state = 'queued' AND attempts = 0 AND run_at <= {}",
                now()
            )
        )
        .await,
        1
    );
    let queued = get(&admin, "/admin/jobs?state=queued").await;
    assert!(queued.body.contains(&format!("#{id}")), "{}", queued.body);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'job.retry' AND actor_name = 'boss' \
             AND detail = 'job {id}'"
        ))
        .await,
        1
    );
    // A waiting job may be hurried along the same way; a finished one is
    // not there to retry.
    let again = post_raw(
        &admin,
        &action,
        &[("csrf_token", page.csrf().as_str())],
        &[],
    )
    .await;
    assert_eq!(again.status, Status::SeeOther);
    app.exec(&format!("UPDATE jobs SET state = 'done' WHERE id = {id}"))
        .await;
    let done = post_raw(
        &admin,
        &action,
        &[("csrf_token", page.csrf().as_str())],
        &[],
    )
    .await;
    assert_eq!(done.status, Status::NotFound);
}

#[rocket::async_test]
async fn retrying_a_job_needs_a_csrf_token_and_an_admin() {
    let app = TestApp::spawn().await;
    let admin = app.admin_browser("boss").await;
    let member = app.member("carol").await;
    let id = dead_job(&app).await;
    let action = format!("/admin/jobs/{id}/retry");

    get(&admin, "/admin/jobs").await;
    assert_eq!(
        post_raw(&admin, &action, &[], &[]).await.status,
        Status::Forbidden
    );
    assert_eq!(
        post_raw(&admin, &action, &[("csrf_token", "forged")], &[])
            .await
            .status,
        Status::Forbidden
    );
    assert_eq!(get(&member, "/admin/jobs").await.status, Status::Forbidden);
    let token = get(&member, "/profile").await.csrf();
    assert_eq!(
        post_raw(&member, &action, &[("csrf_token", token.as_str())], &[])
            .await
            .status,
        Status::Forbidden
    );
    let anonymous = app.get("/admin/jobs").await;
    assert_eq!(anonymous.status, Status::SeeOther);
    assert!(anonymous
        .location()
        .is_some_and(|l| l.starts_with("/login")));
    assert_eq!(
        job_count(&app, &format!("id = {id} AND state = 'dead'")).await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'job.retry'")
            .await,
        0
    );
}

// ------------------------------------------------------------- clean-up

/// Rows of every kind the clean-up looks at, old and recent, each tagged
/// with whether it should survive (`keep-…`) or go (`old-…`).
async fn old_and_recent_rows(app: &TestApp) {
    let t = now();
    let day = 24 * 3600;
    app.exec("INSERT INTO users (username, email, created_at, updated_at) VALUES ('olga', 'olga@example.org', 0, 0)")
        .await;
    let user = app
        .scalar("SELECT id FROM users WHERE username = 'olga'")
        .await;
    for (hash, remember, last_seen, expires, kind) in [
        ("old-expired", 0, t - 10 * day, t - 1, "web"),
        ("old-idle", 0, t - 9 * 3600, t + 3600, "web"),
        ("keep-live", 0, t, t + 3600, "web"),
        ("keep-remembered", 1, t - 2 * day, t + 20 * day, "web"),
        ("keep-api", 0, t - day, t + 600, "api"),
    ] {
        app.exec(&format!(
            "INSERT INTO sessions (user_id, token_hash, remember, created_at, last_seen_at, expires_at, kind) \
             VALUES ({user}, '{hash}', {remember}, {last_seen}, {last_seen}, {expires}, '{kind}')"
        ))
        .await;
    }
    for (hash, expires, used) in [
        ("old-expired", t - 1, "NULL"),
        ("keep-valid", t + 3600, "NULL"),
        ("keep-used", t + 3600, "0"),
    ] {
        app.exec(&format!(
            "INSERT INTO email_tokens (user_id, purpose, token_hash, created_at, expires_at, used_at) \
             VALUES ({user}, 'reset', '{hash}', {t}, {expires}, {used})"
        ))
        .await;
    }
    for (bucket, at) in [("old", t - 2 * day), ("keep", t - 60)] {
        app.exec(&format!(
            "INSERT INTO rate_limit_events (bucket, created_at) VALUES ('{bucket}', {at})"
        ))
        .await;
    }
    for (subject, at) in [("old", t - 400 * day), ("keep", t - 10 * day)] {
        app.exec(&format!(
            "INSERT INTO contact_messages (name, email, subject, message, created_at) \
             VALUES ('Vera', 'vera@example.net', '{subject}', 'Hello', {at})"
        ))
        .await;
    }
    for (id, created, sent) in [
        ("old-sent", t - 41 * day, (t - 40 * day).to_string()),
        ("keep-sent", t - 5 * day, (t - 5 * day).to_string()),
        ("keep-unsent", t - 40 * day, "NULL".to_string()),
    ] {
        app.exec(&format!(
            "INSERT INTO outbox (message_id, template, to_addr, subject, text_body, html_body, created_at, sent_at) \
             VALUES ('{id}', 'contact', 'a@example.org', 'S', 't', 'h', {created}, {sent})"
        ))
        .await;
    }
    for (kind, state, at) in [
        ("old", "done", t - 10 * day),
        ("keep", "done", t - day),
        ("keep", "dead", t - 100 * day),
    ] {
        app.exec(&format!(
            "INSERT INTO jobs (kind, payload, state, run_at, attempts, created_at, updated_at) \
             VALUES ('{kind}', '{{}}', '{state}', {at}, 1, {at}, {at})"
        ))
        .await;
    }
}

/// Make the clean-up due and start two worker processes; wait until it ran.
async fn run_clean_up(app: &TestApp) -> (Client, Client) {
    enqueue(
        app,
        NewJob::new("prune", &json!({})).unwrap().unique("prune"),
    )
    .await
    .expect("the clean-up is queued");
    let worker = || {
        Client::tracked(groundwork::build(
            app.figment().merge(("jobs.worker", true)),
        ))
    };
    let (one, two) = rocket::tokio::join!(worker(), worker());
    eventually!(
        DEADLINE,
        "the clean-up to run",
        job_count(app, "kind = 'prune' AND state = 'done'").await == 1
    );
    (one.unwrap(), two.unwrap())
}

#[rocket::async_test]
async fn the_hourly_clean_up_deletes_old_rows_keeps_recent_ones_and_queues_its_next_run() {
    let app = TestApp::spawn_with(no_worker).await;
    old_and_recent_rows(&app).await;
    let started = now();
    let _workers = run_clean_up(&app).await;

    let kept = |table: &'static str, column: &'static str| {
        let app = &app;
        async move {
            let mut v: Vec<String> =
                sqlx::query_scalar(&format!("SELECT {column} FROM {table} ORDER BY {column}"))
                    .fetch_all(&app.db.pool)
                    .await
                    .unwrap();
            v.sort();
            v
        }
    };
    assert_eq!(
        kept("sessions", "token_hash").await,
        ["keep-api", "keep-live", "keep-remembered"]
    );
    assert_eq!(
        kept("email_tokens", "token_hash").await,
        ["keep-used", "keep-valid"]
    );
    assert_eq!(kept("rate_limit_events", "bucket").await, ["keep"]);
    assert_eq!(kept("contact_messages", "subject").await, ["keep"]);
    assert_eq!(
        kept("outbox", "message_id").await,
        ["keep-sent", "keep-unsent"]
    );
    assert_eq!(
        job_count(&app, "kind = 'old'").await,
        0,
        "a job done 10 days ago"
    );
    assert_eq!(job_count(&app, "kind = 'keep'").await, 2);

    // The next run is queued once, an hour on, however many processes run workers.
    eventually!(
        DEADLINE,
        "the next clean-up to be queued",
        job_count(&app, "kind = 'prune' AND state = 'queued'").await == 1
    );
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(job_count(&app, "kind = 'prune'").await, 2);
    let next = app
        .scalar("SELECT run_at FROM jobs WHERE kind = 'prune' AND state = 'queued'")
        .await;
    assert!(
        (started + 3600..=now() + 3600).contains(&next),
        "next run at {next}, {}s from now",
        next - now()
    );
}

#[rocket::async_test]
async fn with_retention_0_contact_messages_and_sent_mail_are_kept_forever() {
    let app = TestApp::spawn_with(|f| {
        no_worker(f)
            .merge(("jobs.contact_retention_days", 0))
            .merge(("jobs.sent_mail_retention_days", 0))
    })
    .await;
    old_and_recent_rows(&app).await;
    let _workers = run_clean_up(&app).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 2);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox").await, 3);
    // Everything else is cleaned up as usual.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions WHERE token_hash LIKE 'old-%'")
            .await,
        0
    );
}
