//! The real binary (issue 21). It stops without failing a request
//! (`web::drain`): on SIGTERM `/healthz` turns 503 while every other request
//! is still served for `drain_seconds`; then the listener closes, so a
//! proxy's next attempt is refused (and retried elsewhere) rather than
//! answered with an error, and the process exits cleanly. At start it warns
//! about what an operator must act on.

use crate::common;

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

async fn start(drain_seconds: u64) -> Server {
    start_with(drain_seconds, Some(common::random_secret()), &[]).await
}

async fn start_with(
    drain_seconds: u64,
    secret_key: Option<String>,
    extra_env: &[(&str, String)],
) -> Server {
    let (database_url, dir) = common::fresh_database().await;
    let files = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = files.path().join("server.log");
    let out = std::fs::File::create(&log).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_groundwork"));
    if let Some(key) = secret_key {
        command.env("ROCKET_SECRET_KEY", key);
    }
    let child = command
        .arg("serve")
        .env("ROCKET_PROFILE", "debug")
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_BASE_URL", &base)
        .env("ROCKET_LOG_LEVEL", "normal")
        .env("ROCKET_CLI_COLORS", "false")
        .env("ROCKET_DRAIN_SECONDS", drain_seconds.to_string())
        .env(
            "ROCKET_MAIL",
            format!("{{outbox_dir=\"{}\"}}", files.path().join("mail").display()),
        )
        .env("DATABASE_URL", &database_url)
        .env_remove("ROCKET_CONFIG")
        .envs(extra_env.iter().map(|(k, v)| (*k, v.as_str())))
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
                return server;
            }
        }
        assert!(Instant::now() < deadline, "no /healthz within 60 s");
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn signal(server: &Server, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} failed");
}

/// Waits for the process to exit; its exit status, or None after `within`.
async fn exited(server: &mut Server, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait().expect("wait") {
            return Some(status);
        }
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[rocket::async_test]
async fn sigterm_drains_serving_every_request_then_refuses_connections_and_exits() {
    let mut server = start(2).await;
    // A new connection per request: what is checked is when the listener
    // stops taking connections. (A kept-alive one can be closed under a
    // request sent at that moment, a race every HTTP client must retry.)
    // A connection the kernel had queued when the listener closed is reset
    // without an answer: that counts as refused too (no response at all,
    // which a balancer retries elsewhere), never as an error answer.
    let gone = |e: &reqwest::Error| e.is_connect() || (e.is_request() && e.status().is_none());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");
    // Taken before the signal is sent: the server may hear it (and start
    // its 2 s) before `kill` has exited and been reaped, so an instant taken
    // after `signal` returns can be later than the drain's start, and a
    // refusal right at the drain's end would then look early.
    let signalled = Instant::now();
    signal(&server, "TERM");

    // Draining: the health check says so, everything else is served.
    let mut health = None;
    while health.is_none() && signalled.elapsed() < Duration::from_secs(2) {
        let r = client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .expect("still listening while draining");
        if r.status() == 503 {
            health = Some(r.text().await.expect("body"));
        } else {
            rocket::tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(
        health.as_deref(),
        Some(r#"{"status":"draining"}"#),
        "/healthz turns 503 on SIGTERM"
    );

    // Pages that need the database keep answering 200 until the listener
    // closes; after that a connection is refused, never answered with an
    // error.
    let mut served = 0;
    let refused_at = loop {
        for page in ["/", "/login", "/blog"] {
            match client.get(format!("{}{page}", server.base)).send().await {
                Ok(r) => {
                    let status = r.status();
                    let body = r.text().await.unwrap_or_default();
                    assert_eq!(status, 200, "{page} while draining: {body}");
                    served += 1;
                }
                Err(e) => {
                    assert!(gone(&e), "{page}: {e}");
                    break;
                }
            }
        }
        if let Err(e) = client.get(format!("{}/", server.base)).send().await {
            assert!(gone(&e), "after the drain: {e}");
            break signalled.elapsed();
        }
        served += 1;
        assert!(
            signalled.elapsed() < Duration::from_secs(20),
            "still serving 20 s after SIGTERM"
        );
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // A loaded machine serves fewer in the 2 s; one round of every page
    // is what shows that draining serves them.
    assert!(served >= 3, "only {served} requests served while draining");
    assert!(
        refused_at >= Duration::from_secs(2),
        "the listener closed {refused_at:?} after SIGTERM, before the 2 s drain"
    );

    let status = exited(&mut server, Duration::from_secs(30))
        .await
        .expect("the process exits after the drain");
    assert!(status.success(), "exit status {status}");
}

#[rocket::async_test]
async fn a_second_signal_cuts_the_drain_short() {
    let mut server = start(60).await;
    signal(&server, "TERM");
    let r = reqwest::get(format!("{}/healthz", server.base)).await;
    // The first signal may take a moment to arrive; the drain is 60 s.
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;
    drop(r);
    let started = Instant::now();
    signal(&server, "INT");
    let status = exited(&mut server, Duration::from_secs(15))
        .await
        .expect("the second signal stops the process well before the 60 s drain");
    assert!(status.success(), "exit status {status}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[rocket::async_test]
async fn start_up_warns_of_what_an_operator_must_act_on() {
    let server = start_with(0, None, &[]).await;
    // The admin check runs at lift-off, beside the first requests.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut log = std::fs::read_to_string(&server.log).expect("the log");
    while !log.contains("groundwork create-admin") && Instant::now() < deadline {
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
        log = std::fs::read_to_string(&server.log).expect("the log");
    }
    for warning in [
        "there is no admin account yet",
        "groundwork create-admin",
        "no mail.smtp_url: mails are written to",
        "no secret_key: a random one is used",
    ] {
        assert!(log.contains(warning), "no {warning:?} in:\n{log}");
    }
}

/// Cookies a response sets, as one `Cookie` header value.
fn cookies_of(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

#[rocket::async_test]
async fn json_logs_carry_request_ids_and_never_a_secret() {
    let secret_key = common::random_secret();
    let smtp_password = "smtp-Pa55-never-logged";
    let member_password = "a member's own passphrase 42";
    let server = start_with(
        0,
        Some(secret_key.clone()),
        &[
            ("ROCKET_LOG_FORMAT", "json".into()),
            // Nothing listens there: delivery fails and is logged.
            (
                "ROCKET_MAIL",
                format!(
                    "{{smtp_url=\"smtp://mailer:{smtp_password}@127.0.0.1:{}\",retry_base=0.2,retry_max=0.5}}",
                    free_port()
                ),
            ),
        ],
    )
    .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // A sign-up: a password in a form, and a mail that cannot be delivered.
    let page = client
        .get(format!("{}/signup", server.base))
        .send()
        .await
        .unwrap();
    let cookies = cookies_of(&page);
    let html = page.text().await.unwrap();
    let token = common::extract_value(&html, "csrf_token").expect("a CSRF token");
    let r = client
        .post(format!("{}/signup", server.base))
        .header("Cookie", cookies)
        .header("Origin", &server.base)
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "logged"),
            ("email", "logged@example.org"),
            ("password", member_password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // Every answer names its request; an error page shows the id.
    let r = client
        .get(format!("{}/no/such/page", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 16, "{id}");
    assert!(r.text().await.unwrap().contains(&id));
    // A proxy's id is not believed from an untrusted peer.
    let r = client
        .get(format!("{}/", server.base))
        .header("X-Request-Id", "chosen-by-the-client")
        .send()
        .await
        .unwrap();
    assert_ne!(r.headers()["x-request-id"], "chosen-by-the-client");
    // No banner naming the server software.
    assert!(r.headers().get("server").is_none(), "{:?}", r.headers());

    // Wait for the failed delivery to be logged, then read the whole log.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut log = String::new();
    while Instant::now() < deadline {
        log = std::fs::read_to_string(&server.log).unwrap();
        if log.contains("failed, retry in") {
            break;
        }
        rocket::tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        log.contains("failed, retry in"),
        "no failed delivery logged:\n{log}"
    );
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 3, "{log}");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        for key in ["time", "level", "target", "message"] {
            assert!(v.get(key).is_some(), "no {key} in {line}");
        }
    }
    for secret in [secret_key.as_str(), smtp_password, member_password] {
        assert!(!log.contains(secret), "a secret in the log: {secret}");
    }
}
