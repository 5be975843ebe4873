//! The test harness: the real application on a fresh database per test
//! (SQLite in a temp dir, or a new Postgres database when
//! `TEST_DATABASE_URL` is set), driven through cookie-keeping clients.
#![allow(dead_code)]

use std::net::SocketAddr;

use groundwork::db::{self, DbConfig, DbPool};
use rocket::figment::providers::Serialized;
use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};

pub mod accounts;
pub mod blog;
pub mod chat;
pub mod conduit;
pub mod html;
pub mod json_api;
#[macro_use]
pub mod mail;
pub mod notes;
pub mod oauth;
pub mod oauth_flow;
pub mod oauth_keys;
pub mod passkey;
pub mod shop;
pub mod smtp;
pub mod stripe;
pub mod tasks;
pub mod twostep;

/// The six-argument request helper tests/notes.rs still calls.
#[allow(unused_imports)]
pub use json_api::ApiRequest;

/// A good password for tests (not on the common list).
pub const PASSWORD: &str = "correct horse battery staple";

/// One application database plus everything needed to start app processes on it.
pub struct TestApp {
    /// The browser every helper uses by default.
    pub client: Client,
    /// A direct pool on the same database, for looking at stored rows.
    pub db: DbPool,
    pub database_url: String,
    figment: Figment,
    /// The harness's own end of the event channels (so that `exec` can
    /// tell the apps' session caches about rows it changed by hand).
    events: groundwork::events::Events,
    _dir: Option<tempfile::TempDir>,
    _files: tempfile::TempDir,
}

/// A response, read completely.
#[derive(Debug)]
pub struct Resp {
    pub status: Status,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub async fn read(r: LocalResponse<'_>) -> Resp {
        let status = r.status();
        let headers = r
            .headers()
            .iter()
            .map(|h| (h.name().as_str().to_lowercase(), h.value().to_string()))
            .collect();
        let body = r.into_string().await.unwrap_or_default();
        Resp {
            status,
            body,
            headers,
        }
    }
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
    /// Every `Set-Cookie` line.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .map(|(_, v)| v.as_str())
            .collect()
    }
    /// The `Set-Cookie` line for `name`, if one was sent.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }
    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }
    /// The CSRF token embedded in this page's forms.
    pub fn csrf(&self) -> String {
        extract_value(&self.body, "csrf_token").unwrap_or_default()
    }
}

/// The `value` of the first input named `name` in an HTML page.
pub fn extract_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + 7;
    let end = rest[v..].find('"')?;
    Some(rest[v..v + end].to_string())
}

fn random_suffix() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}

/// A fresh database URL: a new Postgres database with `TEST_DATABASE_URL`,
/// else an SQLite file in the returned temp dir.
pub async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("test_{}", random_suffix());
            (create_postgres_database(&admin_url, &name).await, None)
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            (url, Some(dir))
        }
    }
}

/// A new, empty Postgres database called `name` next to the one
/// `admin_url` names; returns its URL.
pub async fn create_postgres_database(admin_url: &str, name: &str) -> String {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = conn.close().await;
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let base = &base[..base.rfind('/').expect("database URL has a path")];
    format!("{base}/{name}{query}")
}

/// A small pool's settings for `url`, for looking at a database directly.
pub fn pool_config(url: &str) -> DbConfig {
    DbConfig {
        url: url.to_string(),
        min_connections: None,
        max_connections: 2,
        connect_timeout: 5,
        idle_timeout: None,
        extensions: None,
    }
}

/// The settings every test app starts from.
pub fn base_figment(database_url: &str, secret_key: &str) -> Figment {
    Figment::from(rocket::Config::debug_default())
        .merge(Serialized::defaults(
            groundwork::config::AppConfig::default(),
        ))
        .merge(("secret_key", secret_key))
        .merge(("log_level", "off"))
        .merge(("ip_header", false))
        .merge(("databases.main.url", database_url))
        .merge(("databases.main.max_connections", 8))
        .merge(("databases.main.connect_timeout", 3))
        .merge(("hash_concurrency", 2))
}

/// A random 64-byte secret key, base64-encoded.
pub fn random_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut key);
    base64::engine::general_purpose::STANDARD.encode(key)
}

impl TestApp {
    /// The app with default settings on a fresh database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|f| f).await
    }

    /// The app with room for a hundred sign-ups from one address: every
    /// browser in a test comes from the same one.
    pub async fn spawn_for_members() -> TestApp {
        Self::spawn_with(|f| f.merge(("signups_per_address_per_hour", 100))).await
    }

    /// The app with settings changed by `customize`.
    pub async fn spawn_with(customize: impl FnOnce(Figment) -> Figment) -> TestApp {
        let (database_url, dir) = fresh_database().await;
        // Mail written as files (no SMTP configured) stays out of the repo.
        let files = tempfile::tempdir().expect("temp dir");
        let outbox = files.path().join("outbox").display().to_string();
        let figment = customize(
            base_figment(&database_url, &random_secret()).merge(("mail.outbox_dir", outbox)),
        );
        let client = Client::tracked(groundwork::build(figment.clone()))
            .await
            .expect("the app starts");
        let db = db::connect(&pool_config(&database_url))
            .await
            .expect("test pool");
        let events = groundwork::events::Events::start(&db);
        drop(events.subscribe(groundwork::session::cache::CHANNEL));
        TestApp {
            client,
            db,
            database_url,
            figment,
            events,
            _dir: dir,
            _files: files,
        }
    }

    /// Another browser (its own cookies) talking to another app process
    /// on the same database and secret key: what a second node behind a
    /// load balancer would be.
    /// A member signed up (and so signed in) in a browser of their own.
    pub async fn member(&self, username: &str) -> Client {
        let browser = self.another_browser().await;
        let r = signup(
            &browser,
            username,
            &format!("{username}@example.org"),
            PASSWORD,
        )
        .await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        browser
    }

    /// Another browser on its own app process, signed up as `username` and
    /// made an admin.
    pub async fn admin_browser(&self, username: &str) -> Client {
        let browser = self.member(username).await;
        self.exec(&format!(
            "UPDATE users SET role = 'admin' WHERE username = '{username}'"
        ))
        .await;
        browser
    }

    pub async fn another_browser(&self) -> Client {
        Client::tracked(groundwork::build(self.figment.clone()))
            .await
            .expect("second app starts")
    }

    /// The configuration this app was started with.
    pub fn figment(&self) -> Figment {
        self.figment.clone()
    }

    pub async fn get(&self, uri: &str) -> Resp {
        get(&self.client, uri).await
    }

    /// GET `page`, then POST `fields` to `action` with that page's CSRF token.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Resp {
        submit(&self.client, page, action, fields).await
    }

    /// POST exactly `fields` (no token added).
    pub async fn post_raw(&self, action: &str, fields: &[(&str, &str)]) -> Resp {
        post_raw(&self.client, action, fields, &[]).await
    }

    /// Sign up through the form; returns the response to the POST.
    pub async fn signup(&self, username: &str, email: &str, password: &str) -> Resp {
        signup(&self.client, username, email, password).await
    }

    /// Sign in through the form; returns the response to the POST.
    pub async fn login(&self, email: &str, password: &str) -> Resp {
        login(&self.client, email, password).await
    }

    /// Sign up `username` with `PASSWORD` and stay signed in.
    pub async fn signed_in_user(&self, username: &str) -> String {
        let email = format!("{username}@example.org");
        let r = self.signup(username, &email, PASSWORD).await;
        assert_eq!(r.status, Status::SeeOther, "sign-up failed: {}", r.body);
        email
    }

    /// One integer from the database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db.pool)
            .await
            .expect(sql)
    }

    /// One optional string from the database.
    pub async fn text(&self, sql: &str) -> Option<String> {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db.pool)
            .await
            .expect(sql)
    }

    /// Run a statement against the database, then tell every app's
    /// session cache (as an operator editing rows by hand must:
    /// `SELECT pg_notify('gw_session', '*')`).
    pub async fn exec(&self, sql: &str) {
        self.exec_unannounced(sql).await;
        wait_until_listening(&self.events).await;
        groundwork::session::clear_all(&self.db)
            .await
            .expect("publish");
    }

    /// Run a statement and tell no session cache about it.
    pub async fn exec_unannounced(&self, sql: &str) {
        sqlx::query(sql).execute(&self.db.pool).await.expect(sql);
    }
}

/// Wait (up to 10 s) until `events` receives what other processes publish.
pub async fn wait_until_listening(events: &groundwork::events::Events) {
    for _ in 0..1000 {
        if events.is_connected() {
            return;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the event listener did not connect");
}

/// Wait until the app behind `client` receives events from other processes.
pub async fn app_listening(client: &Client) {
    let events = client
        .rocket()
        .state::<groundwork::events::Events>()
        .expect("the app manages its events");
    wait_until_listening(events).await;
}

/// Encode form fields as `application/x-www-form-urlencoded`.
pub fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                rocket::http::RawStr::new(k).percent_encode(),
                rocket::http::RawStr::new(v).percent_encode()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn get(client: &Client, uri: &str) -> Resp {
    Resp::read(client.get(uri.to_string()).dispatch().await).await
}

pub async fn post_raw(
    client: &Client,
    action: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Resp {
    Resp::read(form_post(client, action, fields, headers).dispatch().await).await
}

/// A form POST of `fields` with extra `headers`, ready to send.
fn form_post<'c>(
    client: &'c Client,
    action: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> LocalRequest<'c> {
    let mut req = client
        .post(action.to_string())
        .header(ContentType::Form)
        .body(encode(fields));
    for (k, v) in headers {
        req = req.header(Header::new(k.to_string(), v.to_string()));
    }
    req
}

pub async fn submit(client: &Client, page: &str, action: &str, fields: &[(&str, &str)]) -> Resp {
    let token = get(client, page).await.csrf();
    assert!(!token.is_empty(), "no CSRF token on {page}");
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    post_raw(client, action, &all, &[]).await
}

pub async fn signup(client: &Client, username: &str, email: &str, password: &str) -> Resp {
    submit(
        client,
        "/signup",
        "/signup",
        &[
            ("username", username),
            ("email", email),
            ("password", password),
        ],
    )
    .await
}

pub async fn login(client: &Client, email: &str, password: &str) -> Resp {
    submit(
        client,
        "/login",
        "/login",
        &[("email", email), ("password", password)],
    )
    .await
}

/// POST from a given client address.
pub async fn post_from(
    client: &Client,
    addr: SocketAddr,
    action: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Resp {
    let req = form_post(client, action, fields, headers).remote(addr);
    Resp::read(req.dispatch().await).await
}

/// GET with extra request headers. A `Cookie` header is split into cookies
/// the way Rocket's HTTP server does it: the local client would otherwise
/// ignore it, and a replayed or forged cookie would never be looked at.
pub async fn get_with(client: &Client, uri: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = client.get(uri.to_string());
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("cookie") {
            for part in v.split(';').map(str::trim) {
                if let Ok(c) = rocket::http::Cookie::parse_encoded(part.to_string()) {
                    req = req.cookie(c);
                }
            }
        } else {
            req = req.header(Header::new(k.to_string(), v.to_string()));
        }
    }
    Resp::read(req.dispatch().await).await
}
