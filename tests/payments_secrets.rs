//! Payment secrets never reach the log (issue 18, SECURITY.md 48): the
//! real binary runs with Stripe configured against the fake Stripe API,
//! at the most talkative log level, through what logs about payments — a
//! forged webhook, an event it cannot apply, reconciliation while Stripe
//! refuses and while it is down — and its whole log is searched for the
//! configured secrets.

use crate::common;
use common::stripe::*;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
    _dir: Option<tempfile::TempDir>,
    _files: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(fake: &FakeStripe) -> (Server, groundwork::db::DbPool) {
    let (database_url, dir) = common::fresh_database().await;
    let files = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let log = files.path().join("server.log");
    let out = std::fs::File::create(&log).expect("log file");
    let payments = format!(
        "{{stripe={{secret_key=\"{SECRET_KEY}\",webhook_secret=\"{WEBHOOK_SECRET}\",api_base=\"{}\"}},\
         reconcile_after=0,reconcile_interval=1,reconcile_backoff=1}}",
        fake.base
    );
    let child = Command::new(env!("CARGO_BIN_EXE_groundwork"))
        .arg("serve")
        .env("ROCKET_SECRET_KEY", common::random_secret())
        .env("ROCKET_PROFILE", "debug")
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_BASE_URL", &base)
        .env("ROCKET_LOG_LEVEL", "debug")
        .env("ROCKET_CLI_COLORS", "false")
        .env("ROCKET_PAYMENTS", payments)
        .env("ROCKET_JOBS", "{poll_interval=0.2}")
        .env(
            "ROCKET_MAIL",
            format!("{{outbox_dir=\"{}\"}}", files.path().join("mail").display()),
        )
        .env("DATABASE_URL", &database_url)
        .env_remove("ROCKET_CONFIG")
        .stdout(out.try_clone().expect("log file"))
        .stderr(out)
        .spawn()
        .expect("the binary starts");
    let server = Server {
        child,
        base,
        log,
        _dir: dir,
        _files: files,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{}/healthz", server.base)).await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "no /healthz within 60 s");
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let db = groundwork::db::connect(&common::pool_config(&database_url))
        .await
        .expect("pool");
    (server, db)
}

async fn exec(db: &groundwork::db::DbPool, sql: &str) {
    sqlx::query(sql).execute(&db.pool).await.expect(sql);
}

async fn wait_until(db: &groundwork::db::DbPool, sql: &str) {
    for _ in 0..150 {
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&db.pool)
            .await
            .expect(sql);
        if n > 0 {
            return;
        }
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never true: {sql}");
}

#[rocket::async_test]
async fn the_log_of_a_run_never_contains_the_payment_secrets() {
    let fake = FakeStripe::start().await;
    let (server, db) = start(&fake).await;
    let http = reqwest::Client::new();
    let hook = format!("{}/payments/stripe/webhook", server.base);

    // A forged webhook and one that cannot be applied.
    let body = event(
        "evt_s1",
        "checkout.session.completed",
        &serde_json::json!({"id": "cs_nowhere"}),
    );
    let r = http
        .post(&hook)
        .header("Stripe-Signature", sign("whsec_forged", &body))
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let r = http
        .post(&hook)
        .header("Stripe-Signature", sign(WEBHOOK_SECRET, &body))
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);

    // Two attempts waiting for a webhook: reconciliation asks Stripe about
    // them; one session Stripe does not know (a refusal), then Stripe is down.
    exec(&db, "INSERT INTO users (username, email, role, created_at, updated_at) VALUES ('ada', 'ada@example.org', 'user', 0, 0)").await;
    exec(&db, "INSERT INTO shop_orders (user_id, state, currency, subtotal, shipping, total, shipping_method, ship_name, \
               ship_line1, ship_city, ship_postcode, ship_country, checkout_token, expires_at, created_at, updated_at) \
               SELECT id, 'pending_payment', 'EUR', 100, 0, 100, 'standard', 'Ada', '1 Road', 'Town', '1000', 'BE', 't', 9999999999, 0, 0 FROM users").await;
    exec(&db, "INSERT INTO payment_attempts (order_id, open_for, provider, state, provider_ref, amount, currency, created_at, updated_at) \
               SELECT id, id, 'stripe', 'created', 'cs_unknown_to_stripe', 100, 'EUR', 0, 0 FROM shop_orders").await;
    wait_until(
        &db,
        "SELECT COUNT(*) FROM payment_attempts WHERE last_error LIKE '%404%'",
    )
    .await;
    fake.set_down(true);
    exec(&db, "UPDATE payment_attempts SET next_check_at = 0").await;
    wait_until(
        &db,
        "SELECT COUNT(*) FROM payment_attempts WHERE last_error LIKE '%503%'",
    )
    .await;

    let log = std::fs::read_to_string(&server.log).expect("the log");
    // The run did log about payments (so the search below means something).
    assert!(log.contains("webhook refused"), "{log}");
    assert!(log.contains("reconciling attempt"), "{log}");
    for secret in [SECRET_KEY, WEBHOOK_SECRET] {
        assert!(!log.contains(secret), "the log holds {secret}");
    }
    // Nor does anything the site stored.
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT last_error FROM payment_attempts UNION ALL SELECT error FROM payment_events UNION ALL SELECT payload FROM payment_events",
    )
    .fetch_all(&db.pool)
    .await
    .expect("rows");
    for s in stored {
        assert!(
            !s.contains(SECRET_KEY) && !s.contains(WEBHOOK_SECRET),
            "{s}"
        );
    }
}
