//! Sign-in hardening (security issue #13): oversized emails, IPv6 /64
//! limits, device cookies against lockout, Secure cookies over https,
//! `X-Forwarded-For` with ports, `Cache-Control: no-store` on tokens and
//! `WWW-Authenticate: Bearer` on the API's 401s.

use crate::common;
use common::*;

use std::net::SocketAddr;

use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;
use sha2::{Digest, Sha256};

const SESSION: &str = "gw_session";
const WRONG: &str = "not the right password at all";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

/// Sign `username` up in a browser of their own; returns it and the email.
async fn user_in_own_browser(app: &TestApp, username: &str) -> (Client, String) {
    let browser = app.another_browser().await;
    let email = format!("{username}@example.org");
    let r = signup(&browser, username, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "sign-up failed: {}", r.body);
    (browser, email)
}

/// A sign-in form POST from `browser` at `from`, with extra headers.
async fn login_as(
    browser: &Client,
    from: SocketAddr,
    email: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> Resp {
    let token = get(browser, "/login").await.csrf();
    let fields = [
        ("csrf_token", token.as_str()),
        ("email", email),
        ("password", password),
    ];
    post_from(browser, from, "/login", &fields, headers).await
}

/// A sign-up form POST from `from`, in a fresh browser.
async fn signup_from(app: &TestApp, from: SocketAddr, username: &str) -> Resp {
    let browser = app.another_browser().await;
    let token = get(&browser, "/signup").await.csrf();
    let email = format!("{username}@example.org");
    let fields = [
        ("csrf_token", token.as_str()),
        ("username", username),
        ("email", email.as_str()),
        ("password", PASSWORD),
    ];
    post_from(&browser, from, "/signup", &fields, &[]).await
}

async fn last_session_ip(app: &TestApp) -> Option<String> {
    app.text("SELECT ip FROM sessions ORDER BY id DESC LIMIT 1")
        .await
}

async fn rate_limit_rows(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM rate_limit_events").await
}

// ------------------------------------------------------ oversized emails (2)

#[rocket::async_test]
async fn an_oversized_email_in_a_json_sign_in_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let email = format!("{}@example.org", "a".repeat(300 * 1024));
    let body = json!({"email": email, "password": WRONG}).to_string();
    let r = ApiRequest::new(&app.client, Method::Post, "/login")
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    let j = r.json();
    assert_eq!(j["error"], "validation_failed", "{}", r.body);
    assert!(
        j["fields"]["email"]
            .as_str()
            .is_some_and(|m| m.contains("too long")),
        "{}",
        r.body
    );
    assert_eq!(rate_limit_rows(&app).await, 0);
}

#[rocket::async_test]
async fn an_oversized_email_in_the_sign_in_form_is_explained_and_kept() {
    let app = TestApp::spawn().await;
    let email = format!("{}@example.org", "b".repeat(1000));
    let r = login_as(&app.client, addr("192.0.2.1:4000"), &email, WRONG, &[]).await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    assert!(
        r.body.contains("That email address is too long"),
        "{}",
        r.body
    );
    assert!(r.body.contains(&email), "what was typed is not kept");
    assert!(r.set_cookie(SESSION).is_none());
    assert_eq!(rate_limit_rows(&app).await, 0);
    // 254 characters is still an ordinary wrong sign-in.
    let longest = format!("{}@example.org", "c".repeat(254 - 12));
    assert_eq!(longest.chars().count(), 254);
    let r = login_as(&app.client, addr("192.0.2.1:4000"), &longest, WRONG, &[]).await;
    assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
}

#[rocket::async_test]
async fn an_oversized_email_in_a_realworld_sign_in_is_a_field_error() {
    let app = TestApp::spawn().await;
    let email = format!("{}@example.org", "d".repeat(300 * 1024));
    let body = json!({"user": {"email": email, "password": WRONG}}).to_string();
    let r = ApiRequest::new(&app.client, Method::Post, "/api/users/login")
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    assert!(
        r.json()["errors"]["email"][0]
            .as_str()
            .is_some_and(|m| m.contains("too long")),
        "{}",
        r.body
    );
    assert_eq!(rate_limit_rows(&app).await, 0);
}

#[rocket::async_test]
async fn the_per_account_bucket_is_named_by_a_hash_of_the_address() {
    let app = TestApp::spawn().await;
    let r = login_as(
        &app.client,
        addr("192.0.2.1:4000"),
        " Someone@Example.org ",
        WRONG,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
    let hash = format!("{:x}", Sha256::digest(b"someone@example.org"));
    let expected = format!("login:account:{hash}");
    let n = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM rate_limit_events WHERE bucket = '{expected}'"
        ))
        .await;
    assert_eq!(n, 1, "no event under {expected}");
    let leaked = app
        .scalar("SELECT COUNT(*) FROM rate_limit_events WHERE LOWER(bucket) LIKE '%example.org%'")
        .await;
    assert_eq!(leaked, 0, "a bucket name holds the address");
}

// ------------------------------------------------- IPv6 clients by /64 (7)

#[rocket::async_test]
async fn rotating_addresses_within_one_ipv6_64_hits_the_sign_up_limit() {
    let app = TestApp::spawn_with(|f| f.merge(("signups_per_address_per_hour", 3))).await;
    for i in 1..=3 {
        let from = addr(&format!("[2001:db8:1:2::{i:x}]:4000"));
        let r = signup_from(&app, from, &format!("rotor{i}")).await;
        assert_eq!(r.status, Status::SeeOther, "sign-up {i}: {}", r.body);
    }
    let r = signup_from(
        &app,
        addr("[2001:db8:1:2:ffff:eeee:dddd:cccc]:4000"),
        "rotor4",
    )
    .await;
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
    assert!(r.header("Retry-After").is_some());
    // Another /64 is another client.
    let r = signup_from(&app, addr("[2001:db8:1:3::1]:4000"), "neighbour").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 4);
}

#[rocket::async_test]
async fn rotating_addresses_within_one_ipv6_64_hits_the_sign_in_limit() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_address", 3))).await;
    for i in 1..=3 {
        let from = addr(&format!("[2001:db8:5:6::{i:x}]:4000"));
        let r = login_as(&app.client, from, &format!("u{i}@example.org"), WRONG, &[]).await;
        assert_eq!(r.status, Status::Unauthorized, "attempt {i}: {}", r.body);
    }
    let from = addr("[2001:db8:5:6:1234::9]:4000");
    let r = login_as(&app.client, from, "u9@example.org", WRONG, &[]).await;
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
    let from = addr("[2001:db8:5:7::1]:4000");
    let r = login_as(&app.client, from, "u9@example.org", WRONG, &[]).await;
    assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
}

// ------------------------------------------ device cookies vs lockout (7)

const DEVICE: &str = "gw_device";

async fn logout(browser: &Client) {
    let token = get(browser, "/").await.csrf();
    let r = post_raw(browser, "/logout", &[("csrf_token", &token)], &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

/// Someone else sends `n` wrong passwords for `email`, each from a new
/// browser and a new address (so only the account's limit is involved).
async fn strangers_guess(app: &TestApp, email: &str, n: usize) -> Vec<Status> {
    let mut statuses = Vec::new();
    for i in 0..n {
        let browser = app.another_browser().await;
        let from = addr(&format!("198.51.100.{}:4000", 10 + i));
        statuses.push(login_as(&browser, from, email, WRONG, &[]).await.status);
    }
    statuses
}

#[rocket::async_test]
async fn wrong_passwords_from_elsewhere_do_not_lock_out_a_browser_that_signed_in_before() {
    let app = TestApp::spawn().await;
    let home = addr("203.0.113.50:4000");
    let (owner, email) = user_in_own_browser(&app, "alice").await;
    logout(&owner).await;
    let r = login_as(&owner, home, &email, PASSWORD, &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    logout(&owner).await;

    let statuses = strangers_guess(&app, &email, 8).await;
    assert_eq!(&statuses[..5], &[Status::Unauthorized; 5]);
    assert_eq!(&statuses[5..], &[Status::TooManyRequests; 3]);

    // The owner's browser still gets in, from their usual address.
    let r = login_as(&owner, home, &email, PASSWORD, &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(r.set_cookie(SESSION).is_some());
    // Anyone else, even with the right password, is still refused.
    let stranger = app.another_browser().await;
    let r = login_as(&stranger, home, &email, PASSWORD, &[]).await;
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
    assert!(r.header("Retry-After").is_some());
    assert!(r.set_cookie(SESSION).is_none());
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'alice'")
            .await,
        1,
        "the owner's new session only"
    );
}

#[rocket::async_test]
async fn a_known_browser_has_a_limit_of_its_own_and_the_address_limit_still_holds() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_address", 8))).await;
    let home = addr("203.0.113.60:4000");
    let (owner, email) = user_in_own_browser(&app, "bob").await;
    logout(&owner).await;
    // Wrong passwords from the known browser count against that browser.
    for i in 0..5 {
        let r = login_as(&owner, home, &email, WRONG, &[]).await;
        assert_eq!(r.status, Status::Unauthorized, "attempt {}", i + 1);
    }
    let r = login_as(&owner, home, &email, PASSWORD, &[]).await;
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
    // ...not against the account: another browser may still try.
    let elsewhere = app.another_browser().await;
    let r = login_as(
        &elsewhere,
        addr("198.51.100.99:4000"),
        &email,
        PASSWORD,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);

    // A second known browser, at an address that has used up its limit.
    let (carol, carol_email) = user_in_own_browser(&app, "carol").await;
    logout(&carol).await;
    let busy = addr("192.0.2.77:4000");
    for i in 0..8 {
        let stranger = app.another_browser().await;
        let r = login_as(&stranger, busy, &format!("x{i}@example.org"), WRONG, &[]).await;
        assert_eq!(r.status, Status::Unauthorized);
    }
    let r = login_as(&carol, busy, &carol_email, PASSWORD, &[]).await;
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
}

#[rocket::async_test]
async fn a_device_cookie_only_helps_the_account_it_names() {
    let app = TestApp::spawn().await;
    let (_, alice) = user_in_own_browser(&app, "alice").await;
    let (dave_browser, _) = user_in_own_browser(&app, "dave").await;
    logout(&dave_browser).await;
    let statuses = strangers_guess(&app, &alice, 6).await;
    assert_eq!(statuses[5], Status::TooManyRequests);
    let r = login_as(
        &dave_browser,
        addr("203.0.113.70:4000"),
        &alice,
        PASSWORD,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
}

#[rocket::async_test]
async fn the_device_cookie_is_encrypted_long_lived_and_only_sent_to_sign_in() {
    let app = TestApp::spawn().await;
    let (owner, email) = user_in_own_browser(&app, "erin").await;
    logout(&owner).await;
    let r = login_as(&owner, addr("203.0.113.80:4000"), &email, PASSWORD, &[]).await;
    let line = r.set_cookie(DEVICE).expect("a device cookie");
    let c = rocket::http::Cookie::parse_encoded(line.to_string()).expect("a cookie");
    assert_eq!(c.http_only(), Some(true), "{line}");
    assert_eq!(
        c.same_site(),
        Some(rocket::http::SameSite::Strict),
        "{line}"
    );
    assert_eq!(c.path(), Some("/login"), "{line}");
    let max_age = c.max_age().expect("a Max-Age").whole_days();
    assert!(max_age >= 180, "{line}");
    assert!(
        !c.value().contains("uid") && !c.value().contains('{'),
        "{line}"
    );
    // A wrong sign-in sets no device cookie.
    let stranger = app.another_browser().await;
    let r = login_as(&stranger, addr("203.0.113.81:4000"), &email, WRONG, &[]).await;
    assert!(r.set_cookie(DEVICE).is_none());
}

// ------------------------------------------- X-Forwarded-For with ports (11)

#[rocket::async_test]
async fn a_forwarded_hop_with_a_port_names_the_client_not_the_entry_left_of_it() {
    let app = TestApp::spawn_with(|f| f.merge(("trusted_proxies", vec!["127.0.0.1"]))).await;
    let (_, email) = user_in_own_browser(&app, "alice").await;
    let proxy = addr("127.0.0.1:5000");
    let cases = [
        ("1.2.3.4, 203.0.113.9:5555", "203.0.113.9"),
        ("1.2.3.4, [2001:db8::9]:443", "2001:db8::9"),
        ("1.2.3.4,198.51.100.3", "198.51.100.3"),
        // An entry that cannot be read ends the walk at the proxy itself.
        ("1.2.3.4, unknown", "127.0.0.1"),
        ("1.2.3.4, 203.0.113.9:http", "127.0.0.1"),
    ];
    for (forwarded, expected) in cases {
        let browser = app.another_browser().await;
        let headers = [("X-Forwarded-For", forwarded)];
        let r = login_as(&browser, proxy, &email, PASSWORD, &headers).await;
        assert_eq!(r.status, Status::SeeOther, "{forwarded}: {}", r.body);
        assert_eq!(
            last_session_ip(&app).await.as_deref(),
            Some(expected),
            "X-Forwarded-For: {forwarded}"
        );
    }
}

// ------------------------------------------- Secure cookies over https (10)

fn assert_all_secure(r: &Resp, what: &str) {
    let lines = r.set_cookies();
    assert!(!lines.is_empty(), "{what}: no cookie was set");
    for line in lines {
        let secure = line
            .split(';')
            .skip(1)
            .any(|a| a.trim().eq_ignore_ascii_case("secure"));
        assert!(secure, "{what}: not Secure: {line}");
    }
}

#[rocket::async_test]
async fn with_an_https_base_url_every_cookie_is_secure_by_default() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("base_url", "https://groundwork.example"))
            .merge(("oauth.github.client_id", "id"))
            .merge(("oauth.github.client_secret", "secret"))
    })
    .await;
    // The CSRF cookie of a first visit.
    assert_all_secure(&app.get("/login").await, "login page");
    // Sign-up: session, flash and the CSRF cookie's rotation.
    let r = app.signup("alice", "alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(r.set_cookie(SESSION).is_some());
    assert!(r.set_cookie("_flash").is_some());
    assert_all_secure(&r, "sign-up");
    // The page that shows (and removes) the flash message.
    assert_all_secure(&app.get("/profile").await, "flash shown");
    // Sign-out, then sign-in.
    let token = app.get("/").await.csrf();
    let r = app.post_raw("/logout", &[("csrf_token", &token)]).await;
    assert_all_secure(&r, "sign-out");
    let r = app.login("alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(r.set_cookie("gw_device").is_some(), "{:?}", r.set_cookies());
    assert_all_secure(&r, "sign-in");
    // The OAuth flow's state cookie.
    let r = app.another_browser().await;
    let r = get(&r, "/auth/github").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_all_secure(&r, "OAuth start");
}

#[rocket::async_test]
async fn with_an_http_base_url_cookies_are_not_secure_by_default() {
    let app = TestApp::spawn().await;
    let r = app.get("/login").await;
    let line = r.set_cookie("gw_csrf").expect("a CSRF cookie");
    assert!(!line.to_lowercase().contains("secure"), "{line}");
}

/// A release configuration on a fresh SQLite file.
fn release_figment(dir: &tempfile::TempDir) -> rocket::figment::Figment {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut key);
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("release.db").display()
    );
    rocket::figment::Figment::from(rocket::Config::release_default())
        .merge(rocket::figment::providers::Serialized::defaults(
            groundwork::config::AppConfig::default(),
        ))
        .merge(("log_level", "off"))
        .merge(("databases.main.url", url))
        .merge(("databases.main.connect_timeout", 3))
        .merge((
            "secret_key",
            base64::engine::general_purpose::STANDARD.encode(key),
        ))
        .merge(("base_url", "https://example.org"))
        .select("release")
}

async fn ignites(figment: rocket::figment::Figment) -> bool {
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
async fn the_release_profile_refuses_https_with_secure_cookies_turned_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(ignites(release_figment(&dir)).await, "the safe default");
    let off = release_figment(&dir).merge(("secure_cookies", false));
    assert!(
        !ignites(off.clone()).await,
        "started with cookies not Secure"
    );
    let overridden = off.merge(("allow_insecure_cookies", true));
    assert!(
        ignites(overridden).await,
        "the explicit override was refused"
    );
}

// ------------------------------------- no-store on token responses (12)

fn assert_no_store(r: &Resp, what: &str) {
    assert!(
        r.body.contains("token"),
        "{what}: no token in the reply: {}",
        r.body
    );
    assert_eq!(
        r.header("Cache-Control"),
        Some("no-store"),
        "{what}: {:?}",
        r.headers
    );
}

#[rocket::async_test]
async fn every_reply_carrying_a_token_says_no_store() {
    let app = TestApp::spawn().await;
    // Clients that never signed in with a cookie.
    let client = app.another_browser().await;
    let signup = json!({"username": "fred", "email": "fred@example.org", "password": PASSWORD});
    let r = ApiRequest::new(&client, Method::Post, "/signup")
        .json(&signup.to_string())
        .send()
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    assert_no_store(&r, "POST /signup");
    let login = json!({"email": "fred@example.org", "password": PASSWORD}).to_string();
    let r = ApiRequest::new(&client, Method::Post, "/login")
        .json(&login)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_no_store(&r, "POST /login");

    let client = app.another_browser().await;
    let register =
        json!({"user": {"username": "gina", "email": "gina@example.org", "password": PASSWORD}});
    let r = ApiRequest::new(&client, Method::Post, "/api/users")
        .json(&register.to_string())
        .send()
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    assert_no_store(&r, "POST /api/users");
    let login = json!({"user": {"email": "gina@example.org", "password": PASSWORD}}).to_string();
    let r = ApiRequest::new(&client, Method::Post, "/api/users/login")
        .json(&login)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_no_store(&r, "POST /api/users/login");
    let token = r.json()["user"]["token"]
        .as_str()
        .expect("a token")
        .to_string();
    let r = ApiRequest::new(&client, Method::Get, "/api/user")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_no_store(&r, "GET /api/user");
    let change = json!({"user": {"bio": "Hello"}}).to_string();
    let r = ApiRequest::new(&client, Method::Put, "/api/user")
        .token(&token)
        .json(&change)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_no_store(&r, "PUT /api/user");
}

// ------------------------------ WWW-Authenticate on the API's 401s (16)

const PLAIN: &str = "Bearer realm=\"groundwork\"";
const INVALID: &str = "Bearer realm=\"groundwork\", error=\"invalid_token\"";

#[rocket::async_test]
async fn api_401s_carry_a_bearer_challenge() {
    let app = TestApp::spawn().await;
    let client = app.another_browser().await;
    let r = ApiRequest::new(&client, Method::Get, "/me").send().await;
    assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
    assert_eq!(r.header("WWW-Authenticate"), Some(PLAIN));

    let r = ApiRequest::new(&client, Method::Get, "/me")
        .token("not.a.token")
        .send()
        .await;
    assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
    assert_eq!(r.header("WWW-Authenticate"), Some(INVALID));

    // A revoked token.
    let signup = json!({"username": "hana", "email": "hana@example.org", "password": PASSWORD});
    let r = ApiRequest::new(&client, Method::Post, "/signup")
        .json(&signup.to_string())
        .send()
        .await;
    let token = r.json()["token"].as_str().expect("a token").to_string();
    let r = ApiRequest::new(&client, Method::Post, "/logout")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::NoContent, "{}", r.body);
    let r = ApiRequest::new(&client, Method::Get, "/me")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
    assert_eq!(r.header("WWW-Authenticate"), Some(INVALID));

    // A wrong password is a 401 without any token.
    let wrong = json!({"email": "hana@example.org", "password": WRONG}).to_string();
    let r = ApiRequest::new(&client, Method::Post, "/login")
        .json(&wrong)
        .send()
        .await;
    assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
    assert_eq!(r.header("WWW-Authenticate"), Some(PLAIN));

    // The sign-in page's 401 is a page, not an API challenge.
    let r = login_as(
        &client,
        addr("192.0.2.5:4000"),
        "hana@example.org",
        WRONG,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Unauthorized);
    assert_eq!(r.header("WWW-Authenticate"), None);
}

#[rocket::async_test]
async fn realworld_401s_keep_their_token_challenge() {
    let app = TestApp::spawn().await;
    let client = app.another_browser().await;
    let r = ApiRequest::new(&client, Method::Get, "/api/user")
        .send()
        .await;
    assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
    assert_eq!(r.header("WWW-Authenticate"), Some("Token"));
    let r = ApiRequest::new(&client, Method::Get, "/api/user")
        .token("bad")
        .send()
        .await;
    assert_eq!(r.status, Status::Unauthorized, "{}", r.body);
    assert_eq!(r.header("WWW-Authenticate"), Some("Token"));
}
