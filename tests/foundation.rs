//! The foundation: home page, security headers, error pages, health check,
//! outages, limits, configuration safety, migrations, the command line and
//! concurrent writers.
mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use groundwork::db::{self, Backend, DbConfig, DbPool};
use rocket::figment::providers::Serialized;
use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket_db_pools::Database;

/// How long an answer may take when something is wrong (a correctness
/// bound, not a benchmark).
const QUICK: Duration = Duration::from_secs(5);

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Error pages must not show how the site is built.
fn assert_no_internals(body: &str) {
    let lower = body.to_lowercase();
    for leak in [
        "sqlx",
        "panicked",
        "stack",
        "backtrace",
        "src/",
        ".rs:",
        "no such table",
        "relation",
        "rate_limit_events",
        "pool",
        "database:",
    ] {
        assert!(!lower.contains(leak), "error page shows {leak:?}: {body}");
    }
}

/// The security headers every response must carry, each exactly once.
fn assert_security_headers(what: &str, r: &Resp) {
    for name in [
        "content-security-policy",
        "x-content-type-options",
        "referrer-policy",
        "x-frame-options",
    ] {
        let n = r.headers.iter().filter(|(h, _)| h == name).count();
        assert_eq!(n, 1, "{what}: {name} sent {n} times");
    }
    let csp = r.header("content-security-policy").unwrap_or_default();
    let directives: BTreeMap<&str, &str> = csp
        .split(';')
        .filter_map(|d| {
            let d = d.trim();
            d.split_once(' ').or(Some((d, "")))
        })
        .collect();
    assert_eq!(
        directives.get("frame-ancestors").copied(),
        Some("'none'"),
        "{what}: {csp}"
    );
    let scripts = directives
        .get("script-src")
        .or(directives.get("default-src"))
        .copied()
        .unwrap_or_else(|| panic!("{what}: no script policy in {csp}"));
    assert!(!scripts.contains("'unsafe-inline'"), "{what}: {csp}");
    assert!(!scripts.contains("'unsafe-eval'"), "{what}: {csp}");
    assert!(!scripts.contains('*'), "{what}: {csp}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    let referrer = r.header("referrer-policy").unwrap_or_default();
    assert!(
        [
            "no-referrer",
            "same-origin",
            "strict-origin",
            "strict-origin-when-cross-origin"
        ]
        .contains(&referrer),
        "{what}: Referrer-Policy {referrer:?}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
}

// ---------------------------------------------------------------- pages

#[rocket::async_test]
async fn the_home_page_says_what_groundwork_is() {
    let app = TestApp::spawn().await;
    let r = app.get("/").await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.body.contains("Groundwork is"), "{}", r.body);
    assert!(r.body.contains("web presence"));
    assert!(r.body.contains("href=\"/signup\""));
    assert!(r.body.contains("href=\"/login\""));
    assert!(!r.body.contains("Sign out"));
    assert!(r.body.contains("<main"), "no main landmark");
    assert!(r.body.contains("href=\"/static/css/site.css\""));
    let css = app.get("/static/css/site.css").await;
    assert_eq!(css.status, Status::Ok);
    assert!(css
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/css"));
    assert!(!css.body.is_empty());
}

#[rocket::async_test]
async fn the_home_page_shows_who_is_signed_in() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let r = app.get("/").await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("Groundwork"));
    assert!(r.body.contains("alice"));
    assert!(r.body.contains(">Sign out</button>"), "{}", r.body);
    assert!(r.body.contains("action=\"/logout\""));
    assert!(!r.body.contains("href=\"/signup\""));
    // A page for one person is not kept in shared caches.
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[rocket::async_test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let mut seen = Vec::new();

    let r = app.get("/").await;
    assert_eq!(r.status, Status::Ok);
    seen.push(("home page", r));
    let r = app.get("/no/such/page").await;
    assert_eq!(r.status, Status::NotFound);
    seen.push(("404", r));
    let r = app
        .post_raw(
            "/signup",
            &[("username", "alice"), ("email", "a@example.org")],
        )
        .await;
    assert_eq!(r.status, Status::Forbidden);
    seen.push(("403 (no CSRF token)", r));
    let r = app.get("/healthz").await;
    assert_eq!(r.status, Status::Ok);
    seen.push(("/healthz", r));
    let r = app.get("/static/css/site.css").await;
    assert_eq!(r.status, Status::Ok);
    seen.push(("stylesheet", r));
    let r = app.signup("x", "bad", "short").await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    seen.push(("422", r));
    app.signed_in_user("alice").await;
    let r = app.get("/profile").await;
    assert_eq!(r.status, Status::Ok);
    seen.push(("signed-in page", r));

    for (what, r) in &seen {
        assert_security_headers(what, r);
        assert_eq!(
            r.header("strict-transport-security"),
            None,
            "{what}: HSTS on an http site"
        );
    }
}

#[rocket::async_test]
async fn hsts_is_sent_when_the_site_is_served_over_https() {
    let app = TestApp::spawn_with(|f| f.merge(("base_url", "https://example.org"))).await;
    for uri in ["/", "/no/such/page", "/healthz"] {
        let r = app.get(uri).await;
        assert_security_headers(uri, &r);
        let hsts = r.header("strict-transport-security").unwrap_or_default();
        let max_age: u64 = hsts
            .split(';')
            .find_map(|d| d.trim().strip_prefix("max-age="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{uri}: no HSTS max-age in {hsts:?}"));
        assert!(max_age >= 31_536_000, "{uri}: HSTS max-age {max_age}");
    }
}

#[rocket::async_test]
async fn an_unknown_page_is_a_404_page_in_the_site_layout() {
    let app = TestApp::spawn().await;
    let r = app.get("/no/such/page").await;
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.body.contains("class=\"brand\" href=\"/\">Groundwork</a>"));
    assert!(r.body.contains("Page not found"));
    assert!(r.body.contains("href=\"/login\""), "navigation missing");
    assert_no_internals(&r.body);
}

#[rocket::async_test]
async fn an_unknown_page_asked_for_as_json_is_a_json_404() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .get("/no/such/page")
        .header(Header::new("Accept", "application/json"))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::NotFound);
    assert_eq!(r.content_type(), Some(ContentType::JSON));
    let body = json(&r.into_string().await.unwrap_or_default());
    assert_eq!(body["error"], "not_found");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[rocket::async_test]
async fn error_pages_show_no_internals() {
    let app = TestApp::spawn().await;
    for r in [
        app.get("/no/such/page").await,
        app.post_raw("/signup", &[("username", "alice")]).await,
        app.get("/sessions/not-a-number/end").await,
    ] {
        assert!(r.status.code >= 400, "{r:?}");
        assert_no_internals(&r.body);
    }

    // A failing query becomes a plain 500 page: the SQL error stays in the log.
    app.exec("DROP TABLE rate_limit_events").await;
    let r = app.signup("alice", "alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::InternalServerError);
    assert!(r.body.contains("Something went wrong"), "{}", r.body);
    assert!(r.body.contains("class=\"brand\""), "not in the layout");
    assert_no_internals(&r.body);
    assert_security_headers("500", &r);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);

    let token = app.get("/signup").await.csrf();
    let r = post_raw(
        &app.client,
        "/signup",
        &[
            ("csrf_token", &token),
            ("username", "alice"),
            ("email", "alice@example.org"),
            ("password", PASSWORD),
        ],
        &[("Accept", "application/json")],
    )
    .await;
    assert_eq!(r.status, Status::InternalServerError);
    let body = json(&r.body);
    assert_eq!(body["error"], "internal_error");
    assert_no_internals(&r.body);
}

// ---------------------------------------------------------------- health and outages

#[rocket::async_test]
async fn the_health_check_reports_a_working_database() {
    let app = TestApp::spawn().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status, Status::Ok);
    assert!(r
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/json"));
    assert_eq!(json(&r.body)["status"], "ok");
}

#[rocket::async_test]
async fn an_unreachable_database_answers_503_quickly() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    assert_eq!(app.get("/profile").await.status, Status::Ok);

    let pool = groundwork::db::Db::fetch(app.client.rocket()).expect("the app's pool");
    pool.pool.close().await;

    let started = Instant::now();
    let r = app.get("/healthz").await;
    let took = started.elapsed();
    assert_eq!(r.status, Status::ServiceUnavailable);
    assert!(took < QUICK, "/healthz took {took:?}");
    assert_ne!(json(&r.body)["status"], "ok");
    assert_security_headers("/healthz 503", &r);

    let started = Instant::now();
    let r = app.get("/profile").await;
    let took = started.elapsed();
    assert_eq!(r.status, Status::ServiceUnavailable, "{}", r.body);
    assert!(took < QUICK, "/profile took {took:?}");
    assert!(r.body.contains("Temporarily unavailable"), "{}", r.body);
    assert!(r.body.contains("class=\"brand\""));
    assert_no_internals(&r.body);
    assert_security_headers("/profile 503", &r);

    // A form that needs the database fails the same way.
    let token = extract_value(&r.body, "csrf_token").unwrap_or_default();
    let started = Instant::now();
    let r = app
        .post_raw(
            "/update-profile",
            &[
                ("_method", "put"),
                ("csrf_token", &token),
                ("display_name", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, Status::ServiceUnavailable, "{}", r.body);
    assert!(started.elapsed() < QUICK);
}

#[rocket::async_test]
async fn a_database_that_hands_out_no_connections_answers_503_quickly_and_recovers() {
    // To the pool, a database that cannot be reached looks like one that
    // never hands out a connection: hold every connection the app has.
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let db = groundwork::db::Db::fetch(app.client.rocket()).expect("the app's pool");
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(db.pool.acquire().await.expect("a connection"));
    }

    for uri in ["/healthz", "/profile"] {
        let started = Instant::now();
        let r = app.get(uri).await;
        let took = started.elapsed();
        assert_eq!(r.status, Status::ServiceUnavailable, "{uri}: {}", r.body);
        assert!(took < QUICK, "{uri} took {took:?}");
        assert_no_internals(&r.body);
    }

    // When the database is back, so is the site, without a restart.
    drop(held);
    assert_eq!(app.get("/healthz").await.status, Status::Ok);
    assert_eq!(app.get("/profile").await.status, Status::Ok);
}

// ---------------------------------------------------------------- request limits

#[rocket::async_test]
async fn an_oversized_form_is_refused_with_413_quickly() {
    let app = TestApp::spawn().await;
    let token = app.get("/signup").await.csrf();
    let padding = "x".repeat(200 * 1024);
    let started = Instant::now();
    let r = app
        .post_raw(
            "/signup",
            &[
                ("csrf_token", &token),
                ("username", "big"),
                ("email", "big@example.org"),
                ("password", PASSWORD),
                ("padding", &padding),
            ],
        )
        .await;
    let took = started.elapsed();
    assert_eq!(r.status, Status::PayloadTooLarge, "{}", r.body);
    assert!(took < QUICK, "took {took:?}");
    assert!(r.body.contains("Too much data"));
    assert_no_internals(&r.body);
    assert_security_headers("413", &r);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
    assert!(r.set_cookie("gw_session").is_none());

    // The same form, small, is fine: the size alone was the problem.
    let r = app
        .post_raw(
            "/signup",
            &[
                ("csrf_token", &token),
                ("username", "big"),
                ("email", "big@example.org"),
                ("password", PASSWORD),
                ("padding", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

#[rocket::async_test]
async fn a_json_body_sent_to_a_form_is_refused_without_a_server_error() {
    let app = TestApp::spawn().await;
    // (`POST /signup` now also takes JSON, for the API: use a form-only route.)
    let token = app.get("/password/forgot").await.csrf();
    let body = serde_json::json!({
        "csrf_token": token,
        "username": "alice",
        "email": "alice@example.org",
        "password": PASSWORD,
    })
    .to_string();
    let r = app
        .client
        .post("/password/forgot")
        .header(ContentType::JSON)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::UnsupportedMediaType);
    let body = json(&r.into_string().await.unwrap_or_default());
    assert_eq!(body["error"], "unsupported_media_type");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
}

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

fn a_secret_key() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut key);
    base64::engine::general_purpose::STANDARD.encode(key)
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
    let key = a_secret_key();
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
    let key = a_secret_key();
    let figment = release_figment(&dir, Some(&key))
        .merge(("secure_cookies", true))
        .merge(("base_url", "https://example.org"));
    assert!(ignites(figment).await, "a safe configuration was refused");
    // Secure cookies off over https is allowed too (e.g. behind a proxy that adds it).
    let figment = release_figment(&dir, Some(&key)).merge(("base_url", "https://example.org"));
    assert!(ignites(figment).await);
}

// ---------------------------------------------------------------- migrations

/// What the schema comparison looks at.
#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    /// Table name to its columns: (name, NOT NULL).
    tables: BTreeMap<String, BTreeSet<(String, bool)>>,
    /// (index name, table, unique).
    indexes: BTreeSet<(String, String, bool)>,
}

fn pool_config(url: &str) -> DbConfig {
    DbConfig {
        url: url.to_string(),
        min_connections: None,
        max_connections: 2,
        connect_timeout: 5,
        idle_timeout: None,
        extensions: None,
    }
}

async fn schema_of(db: &DbPool) -> Schema {
    let mut schema = Schema::default();
    let (tables_sql, columns_sql, indexes_sql) = match db.backend {
        Backend::Sqlite => (
            // Ordinary tables only: a full-text index (FTS5's virtual table
            // and its shadow tables) is backend-specific by design.
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
            // A rowid primary key is never NULL, whatever `notnull` says.
            "SELECT name, CASE WHEN \"notnull\" = 1 OR pk > 0 THEN 1 ELSE 0 END \
             FROM pragma_table_info($1)",
            "SELECT name, tbl_name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' \
             AND name NOT LIKE 'sqlite_autoindex%' AND tbl_name <> '_sqlx_migrations'",
        ),
        Backend::Postgres => (
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations'",
            // Postgres's counterpart of FTS5 is a tsvector column with a
            // GIN index: left out, as the FTS5 tables are on SQLite.
            "SELECT CAST(column_name AS TEXT), CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 \
             AND data_type <> 'tsvector'",
            "SELECT CAST(indexname AS TEXT), CAST(tablename AS TEXT), indexdef FROM pg_indexes \
             WHERE schemaname = 'public' AND indexname NOT LIKE '%\\_pkey' \
             AND tablename <> '_sqlx_migrations' AND indexdef NOT LIKE '% USING gin %'",
        ),
    };
    let tables: Vec<String> = sqlx::query_scalar(tables_sql)
        .fetch_all(&db.pool)
        .await
        .expect(tables_sql);
    for table in tables {
        let columns: Vec<(String, i64)> = sqlx::query_as(columns_sql)
            .bind(&table)
            .fetch_all(&db.pool)
            .await
            .expect(columns_sql);
        schema.tables.insert(
            table,
            columns
                .into_iter()
                .map(|(name, not_null)| (name, not_null != 0))
                .collect(),
        );
    }
    let indexes: Vec<(String, String, String)> = sqlx::query_as(indexes_sql)
        .fetch_all(&db.pool)
        .await
        .expect(indexes_sql);
    for (name, table, sql) in indexes {
        let unique = sql.to_uppercase().starts_with("CREATE UNIQUE INDEX");
        schema.indexes.insert((name, table, unique));
    }
    schema
}

/// The schema the Postgres migration files describe, read from the SQL
/// itself (for runs without a Postgres server).
fn parse_postgres_migrations() -> Schema {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("migrations/postgres")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no Postgres migrations");
    let mut schema = Schema::default();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("migration file");
        let sql: String = text
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ");
        for statement in sql.split(';') {
            let words: Vec<&str> = statement.split_whitespace().collect();
            let upper: Vec<String> = words.iter().map(|w| w.to_uppercase()).collect();
            let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
            match upper.as_slice() {
                [] => {}
                ["CREATE", "TABLE", ..] => {
                    let name = words[2].trim_end_matches('(').to_lowercase();
                    let open = statement.find('(').expect("column list");
                    let close = statement.rfind(')').expect("column list");
                    let mut columns = BTreeSet::new();
                    for item in split_top_level(&statement[open + 1..close]) {
                        let item_upper = item.to_uppercase();
                        let first = item_upper.split_whitespace().next().unwrap_or("");
                        if [
                            "PRIMARY",
                            "UNIQUE",
                            "FOREIGN",
                            "CONSTRAINT",
                            "CHECK",
                            "EXCLUDE",
                        ]
                        .contains(&first)
                        {
                            continue;
                        }
                        // Full-text columns are backend-specific (see schema_of).
                        if item_upper.contains("TSVECTOR") {
                            continue;
                        }
                        let column = item.split_whitespace().next().unwrap_or("").to_lowercase();
                        let not_null =
                            item_upper.contains("NOT NULL") || item_upper.contains("PRIMARY KEY");
                        columns.insert((column, not_null));
                    }
                    schema.tables.insert(name, columns);
                }
                // Full-text (GIN) indexes are backend-specific (see schema_of).
                ["CREATE", "INDEX", ..] if upper.contains(&"GIN") => {}
                ["CREATE", "UNIQUE", "INDEX", ..] | ["CREATE", "INDEX", ..] => {
                    let unique = upper[1] == "UNIQUE";
                    let at = if unique { 3 } else { 2 };
                    let on = upper.iter().position(|w| *w == "ON").expect("ON table");
                    let table = words[on + 1].split('(').next().unwrap_or("").to_lowercase();
                    schema
                        .indexes
                        .insert((words[at].to_lowercase(), table, unique));
                }
                ["ALTER", "TABLE", _, "ADD", "COLUMN", ..] => {
                    let table = words[2].to_lowercase();
                    let column = words[5].to_lowercase();
                    let not_null = statement.to_uppercase().contains("NOT NULL");
                    schema
                        .tables
                        .get_mut(&table)
                        .expect("altered table exists")
                        .insert((column, not_null));
                }
                ["DROP", "INDEX", ..] => {
                    let name = words.last().expect("index name").to_lowercase();
                    schema.indexes.retain(|(n, _, _)| *n != name);
                }
                [first, ..] if ["CREATE", "ALTER", "DROP"].contains(first) => {
                    panic!(
                        "{}: this test cannot read {:?}; teach parse_postgres_migrations about it",
                        file.display(),
                        statement.trim()
                    )
                }
                _ => {}
            }
        }
    }
    schema
}

/// Split a column list on commas that are not inside parentheses.
fn split_top_level(list: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut depth = 0;
    for c in list.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().expect("an item").push(c);
    }
    items.retain(|i| !i.trim().is_empty());
    items
}

/// A new, empty Postgres database next to the one `admin_url` names.
async fn fresh_postgres(admin_url: &str) -> (String, String) {
    use rand::Rng;
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("test_schema_{:016x}", rand::thread_rng().gen::<u64>());
    let mut conn = sqlx::AnyConnection::connect(admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let _ = conn.close().await;
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let base = &base[..base.rfind('/').expect("database URL has a path")];
    (format!("{base}/{name}{query}"), name)
}

#[rocket::async_test]
async fn migrations_give_the_same_schema_on_sqlite_and_postgres() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("schema.db").display()
    );
    let sqlite = db::connect(&pool_config(&url)).await.expect("sqlite");
    db::migrate(&sqlite).await.expect("sqlite migrations");
    // Applying them again is a no-op, not an error.
    db::migrate(&sqlite).await.expect("sqlite migrations again");
    let sqlite_schema = schema_of(&sqlite).await;
    sqlite.close().await;

    assert!(sqlite_schema.tables.contains_key("users"));
    assert!(sqlite_schema.tables.contains_key("sessions"));
    assert!(sqlite_schema.tables["users"].contains(&("role".to_string(), true)));
    assert!(!sqlite_schema.indexes.is_empty());

    let postgres_schema = match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let (url, name) = fresh_postgres(&admin_url).await;
            let pg = db::connect(&pool_config(&url)).await.expect("postgres");
            assert_eq!(pg.backend, Backend::Postgres);
            db::migrate(&pg).await.expect("postgres migrations");
            db::migrate(&pg).await.expect("postgres migrations again");
            let schema = schema_of(&pg).await;
            pg.close().await;
            if let Ok(mut conn) =
                <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await
            {
                let _ = sqlx::query(&format!("DROP DATABASE {name}"))
                    .execute(&mut conn)
                    .await;
            }
            // The files and the database they produce agree as well.
            assert_eq!(parse_postgres_migrations(), schema);
            schema
        }
        _ => parse_postgres_migrations(),
    };

    let sqlite_tables: BTreeSet<_> = sqlite_schema.tables.keys().collect();
    let postgres_tables: BTreeSet<_> = postgres_schema.tables.keys().collect();
    assert_eq!(sqlite_tables, postgres_tables, "different tables");
    for (table, columns) in &sqlite_schema.tables {
        assert_eq!(
            Some(columns),
            postgres_schema.tables.get(table),
            "different columns in {table}"
        );
    }
    assert_eq!(
        sqlite_schema.indexes, postgres_schema.indexes,
        "different indexes"
    );
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
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
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

// ---------------------------------------------------------------- concurrency

#[rocket::async_test]
async fn twenty_concurrent_writers_all_succeed() {
    // Every sign-up here comes from the same (unknown) address.
    // Twenty app processes must fit within Postgres's default 100
    // connections, next to the other tests running in parallel.
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 1000))
            .merge(("databases.main.max_connections", 3))
    })
    .await;
    // Twenty browsers, each on its own app process, all with a form ready...
    let mut ready = Vec::new();
    for i in 0..20 {
        let browser = app.another_browser().await;
        let token = get(&browser, "/signup").await.csrf();
        assert!(!token.is_empty());
        ready.push((i, browser, token));
    }
    // ...then all sent at once, each followed by a few profile saves.
    let tasks: Vec<_> = ready
        .into_iter()
        .map(|(i, browser, token)| {
            rocket::tokio::spawn(async move {
                let username = format!("writer{i}");
                let email = format!("writer{i}@example.org");
                let mut outcomes = Vec::new();
                let r = post_raw(
                    &browser,
                    "/signup",
                    &[
                        ("csrf_token", &token),
                        ("username", &username),
                        ("email", &email),
                        ("password", PASSWORD),
                    ],
                    &[],
                )
                .await;
                outcomes.push(("sign-up".to_string(), r.status, r.body));
                for n in 0..5 {
                    let token = get(&browser, "/profile").await.csrf();
                    let bio = format!("update {n}");
                    let r = post_raw(
                        &browser,
                        "/update-profile",
                        &[("_method", "put"), ("csrf_token", &token), ("bio", &bio)],
                        &[],
                    )
                    .await;
                    outcomes.push((format!("update {n}"), r.status, r.body));
                }
                (i, outcomes)
            })
        })
        .collect();
    for task in tasks {
        let (i, outcomes) = task.await.expect("task");
        for (what, status, body) in outcomes {
            let title = body.lines().find(|l| l.contains("<title>")).unwrap_or("");
            assert_eq!(status, Status::SeeOther, "writer{i} {what}: {title}");
            assert!(!body.to_lowercase().contains("locked"));
        }
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 20);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 20);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE bio = 'update 4'")
            .await,
        20
    );
}

#[rocket::async_test]
async fn sqlite_databases_are_opened_in_wal_mode() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("wal.db").display());
    let config = groundwork::db::DbConfig {
        url: url.clone(),
        min_connections: None,
        max_connections: 1,
        connect_timeout: 5,
        idle_timeout: None,
        extensions: None,
    };
    let pool = groundwork::db::connect(&config).await.unwrap();
    groundwork::db::migrate(&pool).await.unwrap();
    pool.close().await;
    // WAL is a property of the file: a plain connection that sets nothing
    // itself sees what the app's pool set.
    let mut plain = sqlx::AnyConnection::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut plain)
        .await
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
}
