//! Starting the app: the release profile refuses an unsafe configuration
//! and says how to fix it, and the command line (`migrate`,
//! `create-admin`) does its job on SQLite and Postgres.
use crate::common;
use common::*;

use std::time::{Duration, Instant};

use groundwork::db;
use rocket::figment::providers::Serialized;
use rocket::figment::Figment;
use rocket::http::Status;

// ---------------------------------------------------------------- configuration

/// The release profile with a fresh SQLite database, and a key when given.
fn release_figment(dir: &tempfile::TempDir, secret_key: Option<&str>) -> Figment {
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("release.db").display()
    );
    let mut figment = Figment::from(rocket::Config::release_default())
        .merge(Serialized::defaults(
            groundwork::config::AppConfig::default(),
        ))
        .merge(("log_level", "off"))
        .merge(("databases.main.url", url))
        .merge(("databases.main.connect_timeout", 3));
    if let Some(key) = secret_key {
        figment = figment.merge(("secret_key", key));
    }
    figment.select("release")
}

/// Whether the app would start with this configuration.
async fn ignites(figment: Figment) -> bool {
    match groundwork::build(figment).ignite().await {
        Ok(_) => true,
        Err(e) => {
            // Rocket panics when an unexamined error is dropped.
            let _ = e.kind();
            false
        }
    }
}

#[rocket::async_test]
async fn the_release_profile_refuses_to_start_without_a_secret_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let figment = release_figment(&dir, None).merge(("base_url", "https://example.org"));
    assert!(!ignites(figment).await, "started without a secret key");
}

#[rocket::async_test]
async fn the_release_binary_without_a_secret_key_refuses_and_says_how_to_fix_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("release.db").display()
    );
    let out = run_cli_with(
        &url,
        &["serve"],
        "",
        &[
            ("ROCKET_PROFILE", "release"),
            ("ROCKET_ADDRESS", "127.0.0.1"),
            ("ROCKET_PORT", "0"),
            ("ROCKET_BASE_URL", "https://example.org"),
        ],
    )
    .await;
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ROCKET_SECRET_KEY"),
        "the operator is not told what to set: {}",
        describe(&out)
    );
}

#[rocket::async_test]
async fn the_release_profile_refuses_secure_cookies_on_an_http_base_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = random_secret();
    let figment = release_figment(&dir, Some(&key))
        .merge(("secure_cookies", true))
        .merge(("base_url", "http://example.org"));
    assert!(
        !ignites(figment).await,
        "started with Secure cookies on http"
    );
}

#[rocket::async_test]
async fn the_release_profile_starts_with_a_key_and_an_https_base_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = random_secret();
    let figment = release_figment(&dir, Some(&key))
        .merge(("secure_cookies", true))
        .merge(("base_url", "https://example.org"));
    assert!(ignites(figment).await, "a safe configuration was refused");
    // Secure cookies off over https is allowed too (e.g. behind a proxy that adds it).
    let figment = release_figment(&dir, Some(&key)).merge(("base_url", "https://example.org"));
    assert!(ignites(figment).await);
}

// ---------------------------------------------------------------- command line

/// Run the real `groundwork` binary on `database_url`, away from the
/// repository's Rocket.toml and any ROCKET_* settings of this process.
async fn run_cli(database_url: &str, args: &[&str], stdin: &str) -> std::process::Output {
    run_cli_with(database_url, args, stdin, &[]).await
}

/// `run_cli` with extra environment variables. A process still running
/// after 60 s is killed (and the caller's assertions will say so).
async fn run_cli_with(
    database_url: &str,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let database_url = database_url.to_string();
    let args: Vec<String> = args.iter().map(ToString::to_string).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let stdin = stdin.to_string();
    rocket::tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(env!("CARGO_BIN_EXE_groundwork"));
        for (key, _) in std::env::vars() {
            if key.starts_with("ROCKET_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .args(&args)
            .envs(env)
            .env("DATABASE_URL", &database_url)
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start groundwork");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        let started = Instant::now();
        while child.try_wait().expect("wait for groundwork").is_none() {
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("groundwork finishes")
    })
    .await
    .expect("CLI task")
}

fn describe(out: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[rocket::async_test]
async fn cli_migrate_applies_the_migrations_and_exits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let out = run_cli(&url, &["migrate"], "").await;
    assert!(out.status.success(), "{}", describe(&out));
    let pool = db::connect(&pool_config(&url)).await.expect("open");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool.pool)
        .await
        .expect("users table exists");
    assert_eq!(n, 0);
    pool.close().await;

    // On the test database (Postgres when configured), already migrated.
    let app = TestApp::spawn().await;
    let out = run_cli(&app.database_url, &["migrate"], "").await;
    assert!(out.status.success(), "{}", describe(&out));
}

#[rocket::async_test]
async fn cli_create_admin_makes_an_admin_who_can_sign_in() {
    let app = TestApp::spawn().await;
    let out = run_cli(
        &app.database_url,
        &["create-admin", "boss@example.org", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("boss@example.org"));
    let role = app
        .text("SELECT role FROM users WHERE email = 'boss@example.org'")
        .await;
    assert_eq!(role.as_deref(), Some("admin"));
    assert_eq!(
        app.scalar("SELECT email_verified FROM users WHERE email = 'boss@example.org'")
            .await,
        1
    );
    let hash = app
        .text("SELECT password_hash FROM users WHERE email = 'boss@example.org'")
        .await
        .unwrap_or_default();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );

    let r = app.login("boss@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let page = app.get("/profile").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("admin"));
}

#[rocket::async_test]
async fn cli_create_admin_promotes_an_existing_account() {
    let app = TestApp::spawn().await;
    let email = app.signed_in_user("carol").await;
    let before = app
        .text("SELECT password_hash FROM users WHERE username = 'carol'")
        .await;
    let out = run_cli(
        &app.database_url,
        &["create-admin", " Carol@Example.org ", "--password-stdin"],
        "some other passphrase here\n",
    )
    .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(
        app.text("SELECT role FROM users WHERE username = 'carol'")
            .await
            .as_deref(),
        Some("admin")
    );
    // Their password is their own, unchanged.
    assert_eq!(
        app.text("SELECT password_hash FROM users WHERE username = 'carol'")
            .await,
        before
    );
    let other = app.another_browser().await;
    assert_eq!(
        login(&other, &email, PASSWORD).await.status,
        Status::SeeOther
    );
}

#[rocket::async_test]
async fn cli_create_admin_refuses_a_common_password() {
    let app = TestApp::spawn().await;
    let out = run_cli(
        &app.database_url,
        &["create-admin", "boss@example.org", "--password-stdin"],
        "password1\n",
    )
    .await;
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("commonly used"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
}

#[rocket::async_test]
async fn cli_create_admin_needs_the_password_on_stdin() {
    let app = TestApp::spawn().await;
    let out = run_cli(
        &app.database_url,
        &["create-admin", "boss@example.org"],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password-stdin"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
}
