//! The foundation: home page, security headers, error pages, health check,
//! outages and request limits. Configuration safety and the command line
//! are in startup.rs; migrations and concurrent writers in database.rs.
use crate::common;
use common::*;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

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

    // A page that asks the database (the profile would now come from the
    // per-process cache: it was opened above).
    let started = Instant::now();
    let r = app.get("/notes").await;
    let took = started.elapsed();
    assert_eq!(r.status, Status::ServiceUnavailable, "{}", r.body);
    assert!(took < QUICK, "/notes took {took:?}");
    assert!(r.body.contains("Temporarily unavailable"), "{}", r.body);
    assert!(r.body.contains("class=\"brand\""));
    assert_no_internals(&r.body);
    assert_security_headers("/notes 503", &r);

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

/// A page larger than Rocket's 4 KiB body chunk is handed to the server as
/// one chunk, so it leaves in one write (and one TCP segment) instead of
/// one per 4 KiB (`src/web/write.rs`).
#[rocket::async_test]
async fn a_page_is_handed_over_in_one_chunk() {
    let app = TestApp::spawn().await;
    app.signed_in_user("chunky").await;
    let r = app.client.get("/profile").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    let size = r.body().preset_size().expect("a page has a known size");
    assert!(size > rocket::response::Body::DEFAULT_MAX_CHUNK, "{size}");
    assert!(r.body().max_chunk_size() >= size);
    let page = r.into_string().await.unwrap_or_default();
    assert_eq!(page.len(), size);
    assert!(page.contains("Where you are signed in"));
}
