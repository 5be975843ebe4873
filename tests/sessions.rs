//! Sessions and sign-in (SECURITY.md items 1-5 and 10-13): cookie
//! attributes, fixation, revocation, timeouts, tampering, rate limits,
//! client addresses behind proxies, hash upgrades, session management,
//! `next` targets and disabled accounts.

mod common;
use common::*;

use std::net::SocketAddr;

use rocket::http::{Cookie, SameSite, Status};
use rocket::local::asynchronous::Client;

const SESSION: &str = "gw_session";
const WRONG: &str = "not the right password at all";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// The cookie value exactly as the server sent it in `Set-Cookie`.
fn raw_cookie(r: &Resp, name: &str) -> String {
    let line = r
        .set_cookie(name)
        .unwrap_or_else(|| panic!("no {name} cookie set: {:?}", r.headers));
    let first = line.split(';').next().unwrap_or_default();
    first[name.len() + 1..].to_string()
}

/// The `Set-Cookie` line for `name`, parsed.
fn parsed_cookie(r: &Resp, name: &str) -> Cookie<'static> {
    let line = r
        .set_cookie(name)
        .unwrap_or_else(|| panic!("no {name} cookie set: {:?}", r.headers));
    Cookie::parse_encoded(line.to_string()).expect("a well-formed Set-Cookie line")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Send the session cookie `value` from a browser that never signed in.
async fn replay(browser: &Client, uri: &str, value: &str) -> Resp {
    get_with(browser, uri, &[("Cookie", &format!("{SESSION}={value}"))]).await
}

fn assert_sent_to_login(r: &Resp) {
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let to = r.location().unwrap_or_default();
    assert!(to.starts_with("/login?next="), "redirected to {to:?}");
}

async fn logout(browser: &Client) -> Resp {
    let token = get(browser, "/").await.csrf();
    assert!(!token.is_empty(), "no sign-out form on the home page");
    post_raw(browser, "/logout", &[("csrf_token", &token)], &[]).await
}

/// Sign up `username` from a browser of its own, which stays signed in.
async fn user_in_own_browser(app: &TestApp, username: &str) -> (Client, String) {
    let browser = app.another_browser().await;
    let email = format!("{username}@example.org");
    let r = signup(&browser, username, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "sign-up failed: {}", r.body);
    (browser, email)
}

/// A sign-in POST from `addr` with extra headers, using a fresh page's token.
async fn login_from(
    app: &TestApp,
    addr: SocketAddr,
    email: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> Resp {
    let token = app.get("/login").await.csrf();
    post_from(
        &app.client,
        addr,
        "/login",
        &[
            ("csrf_token", &token),
            ("email", email),
            ("password", password),
        ],
        headers,
    )
    .await
}

fn retry_after(r: &Resp) -> i64 {
    let v = r.header("Retry-After").expect("a Retry-After header");
    let secs: i64 = v.parse().expect("Retry-After is a number of seconds");
    assert!(secs > 0, "Retry-After {secs}");
    secs
}

fn assert_rate_limited(r: &Resp) {
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
    retry_after(r);
    assert!(r.body.contains("Too many attempts"), "{}", r.body);
    assert!(r.set_cookie(SESSION).is_none());
}

/// The session ids the profile page offers to sign out, in page order.
fn listed_sessions(body: &str) -> Vec<i64> {
    body.split("action=\"/sessions/")
        .skip(1)
        .filter_map(|rest| {
            rest.split_once("/end\"")
                .and_then(|(id, _)| id.parse().ok())
        })
        .collect()
}

async fn session_count(app: &TestApp, username: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = '{username}'"
    ))
    .await
}

#[rocket::async_test]
async fn sign_in_sets_an_httponly_lax_session_cookie_not_secure_by_default() {
    let app = TestApp::spawn().await;
    let (_, email) = user_in_own_browser(&app, "alice").await;
    let r = app.login(&email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let line = r.set_cookie(SESSION).expect("session cookie");
    let c = parsed_cookie(&r, SESSION);
    assert_eq!(c.http_only(), Some(true), "{line}");
    assert_eq!(c.same_site(), Some(SameSite::Lax), "{line}");
    assert_eq!(c.path(), Some("/"), "{line}");
    assert_ne!(c.secure(), Some(true), "{line}");
    assert!(!line.to_lowercase().contains("secure"), "{line}");
    assert!(!c.value().is_empty());
}

#[rocket::async_test]
async fn secure_cookies_setting_marks_the_session_cookie_secure() {
    let app = TestApp::spawn_with(|f| f.merge(("secure_cookies", true))).await;
    let r = app.signup("alice", "alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let c = parsed_cookie(&r, SESSION);
    assert_eq!(
        c.secure(),
        Some(true),
        "sign-up: {:?}",
        r.set_cookie(SESSION)
    );
    logout(&app.client).await;
    let r = app.login("alice@example.org", PASSWORD).await;
    let c = parsed_cookie(&r, SESSION);
    assert_eq!(
        c.secure(),
        Some(true),
        "sign-in: {:?}",
        r.set_cookie(SESSION)
    );
    assert_eq!(c.http_only(), Some(true));
    assert_eq!(c.same_site(), Some(SameSite::Lax));
    // The CSRF cookie too.
    let fresh = app.another_browser().await;
    let r = get(&fresh, "/login").await;
    assert_eq!(parsed_cookie(&r, "gw_csrf").secure(), Some(true));
}

#[rocket::async_test]
async fn signing_in_issues_a_new_session_id_and_retires_the_old_one() {
    let app = TestApp::spawn().await;
    let r = app.signup("alice", "alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let at_signup = raw_cookie(&r, SESSION);
    let signup_row = app.scalar("SELECT id FROM sessions").await;

    assert_eq!(logout(&app.client).await.status, Status::SeeOther);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);

    let r = app.login("alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let first = raw_cookie(&r, SESSION);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);
    let first_row = app.scalar("SELECT id FROM sessions").await;
    assert_ne!(first_row, signup_row);

    // Signing in again while signed in (a second tab's form) must not keep
    // the session the browser arrived with.
    let token = app.get("/").await.csrf();
    let r = app
        .post_raw(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "alice@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let second = raw_cookie(&r, SESSION);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);
    let second_row = app.scalar("SELECT id FROM sessions").await;
    assert_ne!(second_row, first_row);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE id = {first_row}"
        ))
        .await,
        0
    );

    assert_ne!(at_signup, first);
    assert_ne!(first, second);
    let elsewhere = app.another_browser().await;
    assert_sent_to_login(&replay(&elsewhere, "/profile", &at_signup).await);
    assert_sent_to_login(&replay(&elsewhere, "/profile", &first).await);
    assert_eq!(
        replay(&elsewhere, "/profile", &second).await.status,
        Status::Ok
    );
}

#[rocket::async_test]
async fn signing_out_deletes_the_session_so_a_copied_cookie_is_anonymous() {
    let app = TestApp::spawn().await;
    let (_, email) = user_in_own_browser(&app, "alice").await;
    let r = app.login(&email, PASSWORD).await;
    let copied = raw_cookie(&r, SESSION);

    // The copy works while the session lives: the replay below is a real test.
    let thief = app.another_browser().await;
    let r = replay(&thief, "/profile", &copied).await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("alice@example.org"));

    let r = logout(&app.client).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/"));
    assert_eq!(
        session_count(&app, "alice").await,
        1,
        "only the other browser's"
    );
    assert_sent_to_login(&app.get("/profile").await);

    let r = replay(&thief, "/profile", &copied).await;
    assert_sent_to_login(&r);
    assert_eq!(r.location(), Some("/login?next=%2Fprofile"));
    let r = replay(&thief, "/", &copied).await;
    assert_eq!(r.status, Status::Ok);
    assert!(!r.body.contains("alice"), "home page still shows alice");
    assert!(r.body.contains("href=\"/login\""));
}

#[rocket::async_test]
async fn an_idle_session_ends_server_side() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    app.exec("UPDATE sessions SET last_seen_at = last_seen_at - 3600")
        .await;
    assert_eq!(
        app.get("/profile").await.status,
        Status::Ok,
        "1h idle is fine"
    );

    app.exec("UPDATE sessions SET last_seen_at = last_seen_at - 100000")
        .await;
    assert_sent_to_login(&app.get("/profile").await);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
}

#[rocket::async_test]
async fn the_idle_timeout_is_configurable() {
    let app = TestApp::spawn_with(|f| f.merge(("session_idle_timeout", 300))).await;
    app.signed_in_user("alice").await;
    app.exec("UPDATE sessions SET last_seen_at = last_seen_at - 200")
        .await;
    assert_eq!(app.get("/profile").await.status, Status::Ok);
    // Activity moved last_seen_at forward: go idle from there.
    app.exec(&format!(
        "UPDATE sessions SET last_seen_at = {}",
        now() - 400
    ))
    .await;
    assert_sent_to_login(&app.get("/profile").await);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
}

#[rocket::async_test]
async fn a_session_past_its_absolute_expiry_ends_however_busy() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let lifetime = app
        .scalar("SELECT expires_at - created_at FROM sessions")
        .await;
    assert_eq!(lifetime, 24 * 3600, "default absolute timeout");
    app.exec(&format!("UPDATE sessions SET expires_at = {}", now() - 5))
        .await;
    assert_sent_to_login(&app.get("/profile").await);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
}

#[rocket::async_test]
async fn the_absolute_timeout_is_configurable() {
    let app = TestApp::spawn_with(|f| f.merge(("session_absolute_timeout", 600))).await;
    app.signed_in_user("alice").await;
    let lifetime = app
        .scalar("SELECT expires_at - created_at FROM sessions")
        .await;
    assert_eq!(lifetime, 600);
}

#[rocket::async_test]
async fn remember_me_gives_a_30_day_cookie_and_a_plain_sign_in_a_browser_session_cookie() {
    let app = TestApp::spawn().await;
    let (_, email) = user_in_own_browser(&app, "alice").await;

    let r = app.login(&email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let line = r
        .set_cookie(SESSION)
        .expect("session cookie")
        .to_lowercase();
    assert!(!line.contains("expires="), "{line}");
    assert!(!line.contains("max-age="), "{line}");
    assert!(parsed_cookie(&r, SESSION).expires_datetime().is_none());
    logout(&app.client).await;

    let r = app
        .submit(
            "/login",
            "/login",
            &[
                ("email", &email),
                ("password", PASSWORD),
                ("remember", "true"),
            ],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let c = parsed_cookie(&r, SESSION);
    let until = c
        .expires_datetime()
        .or_else(|| {
            c.max_age()
                .map(|a| rocket::time::OffsetDateTime::now_utc() + a)
        })
        .expect("a remembered session cookie has an expiry");
    let days = (until - rocket::time::OffsetDateTime::now_utc()).as_seconds_f64() / 86400.0;
    assert!((29.9..=30.1).contains(&days), "expires in {days} days");
    assert_eq!(c.http_only(), Some(true));
    assert_eq!(c.same_site(), Some(SameSite::Lax));

    let row_days = app
        .scalar("SELECT expires_at - created_at FROM sessions WHERE remember = 1")
        .await;
    assert_eq!(row_days, 30 * 24 * 3600);
    // A remembered session outlives the ordinary idle timeout.
    app.exec("UPDATE sessions SET last_seen_at = last_seen_at - 100000 WHERE remember = 1")
        .await;
    assert_eq!(app.get("/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn a_garbage_or_tampered_session_cookie_is_anonymous_never_an_error() {
    let app = TestApp::spawn().await;
    let (_, email) = user_in_own_browser(&app, "alice").await;
    let r = app.login(&email, PASSWORD).await;
    let real = raw_cookie(&r, SESSION);
    let browser = app.another_browser().await;
    assert_eq!(replay(&browser, "/profile", &real).await.status, Status::Ok);

    let truncated = real[..real.len() - 6].to_string();
    let mut flipped = real.clone().into_bytes();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    let doubled = format!("{real}{real}");
    for bad in [
        "garbage",
        "",
        "%00%ff",
        "' OR 1=1 --",
        truncated.as_str(),
        flipped.as_str(),
        doubled.as_str(),
    ] {
        let r = replay(&browser, "/profile", bad).await;
        assert_sent_to_login(&r);
        let r = replay(&browser, "/", bad).await;
        assert_eq!(r.status, Status::Ok, "home page with cookie {bad:?}");
        assert!(!r.body.contains("alice"), "cookie {bad:?} signed in");
    }
    // A well-encrypted cookie holding a token that was never issued.
    let r = browser
        .get("/profile")
        .private_cookie((SESSION, "never-issued-token"))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(session_count(&app, "alice").await, 2);
}

#[rocket::async_test]
async fn signed_in_pages_are_not_cached() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    for page in ["/profile", "/"] {
        let r = app.get(page).await;
        assert_eq!(r.status, Status::Ok);
        let cc = r.header("Cache-Control").unwrap_or_default();
        assert!(cc.contains("no-store"), "{page}: Cache-Control {cc:?}");
    }
}

#[rocket::async_test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let email = "carol@example.org";
    // First while there is no such account...
    let unknown = app.login(email, WRONG).await;
    // ...then the same attempt once the account exists.
    let other = app.another_browser().await;
    let r = signup(&other, "carol", email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let wrong = app.login(email, WRONG).await;

    assert_eq!(unknown.status, Status::Unauthorized);
    assert_eq!(wrong.status, Status::Unauthorized);
    assert!(unknown.body.contains("Incorrect email or password."));
    let scrub = |r: &Resp| r.body.replace(&r.csrf(), "TOKEN");
    assert_eq!(scrub(&unknown), scrub(&wrong));
    assert!(unknown.set_cookie(SESSION).is_none());
    assert!(wrong.set_cookie(SESSION).is_none());
    assert_eq!(session_count(&app, "carol").await, 1, "only sign-up's");
}

#[rocket::async_test]
async fn repeated_failures_lock_the_account_across_app_processes() {
    let app = TestApp::spawn().await;
    let (_, email) = user_in_own_browser(&app, "alice").await;
    let second_node = app.another_browser().await;
    for i in 0..5 {
        let browser = if i % 2 == 0 {
            &app.client
        } else {
            &second_node
        };
        let r = login(browser, &email, WRONG).await;
        assert_eq!(r.status, Status::Unauthorized, "attempt {}", i + 1);
    }
    let r = login(&second_node, &email, PASSWORD).await;
    assert_rate_limited(&r);
    assert!(retry_after(&r) <= 15 * 60);
    let r = login(&app.client, &email, PASSWORD).await;
    assert_rate_limited(&r);
    assert_eq!(session_count(&app, "alice").await, 1, "only sign-up's");
}

#[rocket::async_test]
async fn a_successful_sign_in_before_the_limit_clears_the_account_failures() {
    let app = TestApp::spawn().await;
    let (_, email) = user_in_own_browser(&app, "alice").await;
    for _ in 0..4 {
        assert_eq!(app.login(&email, WRONG).await.status, Status::Unauthorized);
    }
    assert_eq!(app.login(&email, PASSWORD).await.status, Status::SeeOther);
    logout(&app.client).await;
    for i in 0..5 {
        let r = app.login(&email, WRONG).await;
        assert_eq!(r.status, Status::Unauthorized, "attempt {}", i + 1);
    }
    assert_rate_limited(&app.login(&email, PASSWORD).await);
}

#[rocket::async_test]
async fn repeated_failures_from_one_address_lock_that_address_out() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_address", 3))).await;
    let (_, victim) = user_in_own_browser(&app, "dave").await;
    let attacker: SocketAddr = "192.0.2.10:40000".parse().expect("addr");
    let someone_else: SocketAddr = "198.51.100.20:40000".parse().expect("addr");
    for i in 0..3 {
        let r = login_from(&app, attacker, &format!("user{i}@example.org"), WRONG, &[]).await;
        assert_eq!(r.status, Status::Unauthorized, "attempt {}", i + 1);
    }
    assert_rate_limited(&login_from(&app, attacker, &victim, PASSWORD, &[]).await);
    let r = login_from(&app, someone_else, &victim, WRONG, &[]).await;
    assert_eq!(r.status, Status::Unauthorized);
    let r = login_from(&app, someone_else, &victim, PASSWORD, &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

#[rocket::async_test]
async fn x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_address", 3))).await;
    let peer: SocketAddr = "10.1.1.1:5000".parse().expect("addr");
    for i in 0..3 {
        let forwarded = format!("203.0.113.{i}");
        let headers = [
            ("X-Forwarded-For", forwarded.as_str()),
            ("X-Real-IP", forwarded.as_str()),
        ];
        let r = login_from(&app, peer, &format!("u{i}@example.org"), WRONG, &headers).await;
        assert_eq!(r.status, Status::Unauthorized);
    }
    let headers = [
        ("X-Forwarded-For", "203.0.113.99"),
        ("X-Real-IP", "203.0.113.99"),
    ];
    assert_rate_limited(&login_from(&app, peer, "x@example.org", WRONG, &headers).await);
    let other_peer: SocketAddr = "10.1.1.2:5000".parse().expect("addr");
    let r = login_from(&app, other_peer, "x@example.org", WRONG, &[]).await;
    assert_eq!(r.status, Status::Unauthorized);

    // A session records the peer, not what the client claimed.
    let (_, email) = user_in_own_browser(&app, "alice").await;
    let fresh: SocketAddr = "10.1.1.3:5000".parse().expect("addr");
    let r = login_from(
        &app,
        fresh,
        &email,
        PASSWORD,
        &[("X-Forwarded-For", "8.8.8.8")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    let ip = app
        .text("SELECT ip FROM sessions ORDER BY id DESC LIMIT 1")
        .await;
    assert_eq!(ip.as_deref(), Some("10.1.1.3"));
}

#[rocket::async_test]
async fn x_forwarded_for_from_a_trusted_proxy_names_the_client() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("login_max_failures_per_address", 3))
            .merge(("trusted_proxies", vec!["127.0.0.1"]))
    })
    .await;
    let proxy: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
    let client = [("X-Forwarded-For", "203.0.113.7")];
    for i in 0..3 {
        let r = login_from(&app, proxy, &format!("u{i}@example.org"), WRONG, &client).await;
        assert_eq!(r.status, Status::Unauthorized);
    }
    assert_rate_limited(&login_from(&app, proxy, "x@example.org", WRONG, &client).await);
    // Prepending a made-up hop does not escape: the proxy appended the real one.
    let spoofed = [("X-Forwarded-For", "198.51.100.1, 203.0.113.7")];
    assert_rate_limited(&login_from(&app, proxy, "x@example.org", WRONG, &spoofed).await);
    // Another client behind the same proxy is not locked out.
    let neighbour = [("X-Forwarded-For", "203.0.113.8")];
    let r = login_from(&app, proxy, "x@example.org", WRONG, &neighbour).await;
    assert_eq!(r.status, Status::Unauthorized);
    // An untrusted peer's X-Forwarded-For is still ignored.
    let direct: SocketAddr = "10.9.9.9:5000".parse().expect("addr");
    let r = login_from(&app, direct, "x@example.org", WRONG, &client).await;
    assert_eq!(r.status, Status::Unauthorized);

    let (_, email) = user_in_own_browser(&app, "alice").await;
    let via = [("X-Forwarded-For", "198.51.100.77")];
    let r = login_from(&app, proxy, &email, PASSWORD, &via).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let ip = app
        .text("SELECT ip FROM sessions ORDER BY id DESC LIMIT 1")
        .await;
    assert_eq!(ip.as_deref(), Some("198.51.100.77"));
}

#[rocket::async_test]
async fn a_weaker_password_hash_is_upgraded_at_the_next_sign_in() {
    use argon2::password_hash::rand_core::OsRng;
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Argon2, Params, Version};

    let app = TestApp::spawn().await;
    let (_, email) = user_in_own_browser(&app, "alice").await;
    let salt = SaltString::generate(&mut OsRng);
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(8192, 1, 1, None).expect("params"),
    )
    .hash_password(PASSWORD.as_bytes(), &salt)
    .expect("hash")
    .to_string();
    app.exec(&format!(
        "UPDATE users SET password_hash = '{weak}' WHERE username = 'alice'"
    ))
    .await;
    let stored = || app.text("SELECT password_hash FROM users WHERE username = 'alice'");
    assert!(stored()
        .await
        .unwrap_or_default()
        .contains("m=8192,t=1,p=1"));

    let r = app.login(&email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let upgraded = stored().await.unwrap_or_default();
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
    assert!(upgraded.contains("m=19456,t=2,p=1"), "{upgraded}");
    assert_ne!(upgraded, weak);

    // The new hash still takes the same password.
    logout(&app.client).await;
    assert_eq!(app.login(&email, PASSWORD).await.status, Status::SeeOther);
    assert_eq!(
        stored().await.unwrap_or_default(),
        upgraded,
        "no re-hash needed"
    );
}

#[rocket::async_test]
async fn the_profile_lists_sessions_and_ends_another_one_only() {
    let app = TestApp::spawn().await;
    let email = app.signed_in_user("alice").await;
    let laptop = app.another_browser().await;
    let token = get(&laptop, "/login").await.csrf();
    let r = post_raw(
        &laptop,
        "/login",
        &[
            ("csrf_token", &token),
            ("email", &email),
            ("password", PASSWORD),
        ],
        &[("User-Agent", FIREFOX)],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let laptop_session = app
        .scalar("SELECT id FROM sessions WHERE user_agent LIKE '%Firefox%'")
        .await;

    let page = app.get("/profile").await;
    let listed = listed_sessions(&page.body);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.contains(&laptop_session));
    assert!(page.body.contains("Firefox on Linux"));
    assert_eq!(page.body.matches("this device").count(), 1);

    let r = app
        .post_raw(
            &format!("/sessions/{laptop_session}/end"),
            &[("csrf_token", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/profile"));
    let page = app.get("/profile").await;
    assert_eq!(page.status, Status::Ok, "this session is still signed in");
    assert!(page.body.contains("That session has been signed out."));
    assert_eq!(listed_sessions(&page.body).len(), 1);
    assert_eq!(session_count(&app, "alice").await, 1);
    assert_sent_to_login(&get(&laptop, "/profile").await);
}

#[rocket::async_test]
async fn ending_someone_elses_session_is_not_found_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let (bob, _) = user_in_own_browser(&app, "bob").await;
    let bobs = app
        .scalar(
            "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'bob'",
        )
        .await;
    let token = app.get("/profile").await.csrf();
    for id in [bobs, bobs + 1000] {
        let r = app
            .post_raw(&format!("/sessions/{id}/end"), &[("csrf_token", &token)])
            .await;
        assert_eq!(r.status, Status::NotFound, "session {id}");
    }
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM sessions WHERE id = {bobs}"))
            .await,
        1
    );
    assert_eq!(get(&bob, "/profile").await.status, Status::Ok);
    assert_eq!(app.get("/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn sign_out_everywhere_else_keeps_only_the_current_session() {
    let app = TestApp::spawn().await;
    let email = app.signed_in_user("alice").await;
    let phone = app.another_browser().await;
    let laptop = app.another_browser().await;
    for b in [&phone, &laptop] {
        assert_eq!(login(b, &email, PASSWORD).await.status, Status::SeeOther);
    }
    let (bob, _) = user_in_own_browser(&app, "bob").await;
    assert_eq!(session_count(&app, "alice").await, 3);

    let page = app.get("/profile").await;
    assert_eq!(listed_sessions(&page.body).len(), 3);
    assert!(page.body.contains("action=\"/sessions/end-others\""));
    let r = app
        .post_raw("/sessions/end-others", &[("csrf_token", &page.csrf())])
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/profile"));
    let page = app.get("/profile").await;
    assert_eq!(page.status, Status::Ok);
    assert!(
        page.body
            .contains("Your 2 other sessions have been signed out."),
        "{}",
        page.body
    );
    assert_eq!(session_count(&app, "alice").await, 1);
    assert_sent_to_login(&get(&phone, "/profile").await);
    assert_sent_to_login(&get(&laptop, "/profile").await);
    assert_eq!(session_count(&app, "bob").await, 1);
    assert_eq!(get(&bob, "/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn ending_the_current_session_from_the_list_signs_out() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let page = app.get("/profile").await;
    let ids = listed_sessions(&page.body);
    assert_eq!(ids.len(), 1);
    let r = app
        .post_raw(
            &format!("/sessions/{}/end", ids[0]),
            &[("csrf_token", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
    assert_sent_to_login(&app.get("/profile").await);
}

#[rocket::async_test]
async fn sign_in_returns_to_a_local_next_page() {
    let app = TestApp::spawn().await;
    let (_, email) = user_in_own_browser(&app, "alice").await;
    let r = app.get("/profile").await;
    assert_sent_to_login(&r);
    let login_page = app.get(r.location().expect("location")).await;
    let next = extract_value(&login_page.body, "next").expect("a next field");
    assert_eq!(next, "/profile");
    let r = app
        .submit(
            "/login?next=/profile",
            "/login",
            &[("email", &email), ("password", PASSWORD), ("next", &next)],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/profile"));
}

#[rocket::async_test]
async fn sign_in_never_redirects_to_another_site() {
    let app = TestApp::spawn().await;
    let (_, email) = user_in_own_browser(&app, "alice").await;
    for evil in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let encoded = rocket::http::RawStr::new(evil).percent_encode().to_string();
        let page = app.get(&format!("/login?next={encoded}")).await;
        assert_eq!(page.status, Status::Ok);
        assert_eq!(extract_value(&page.body, "next").as_deref(), Some(""));
        // A forged form may carry it anyway.
        let r = app
            .post_raw(
                "/login",
                &[
                    ("csrf_token", &page.csrf()),
                    ("email", &email),
                    ("password", PASSWORD),
                    ("next", evil),
                ],
            )
            .await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert_eq!(r.location(), Some("/"), "next={evil:?}");
        // Already signed in, the login page forwards: never off-site either.
        let r = app.get(&format!("/login?next={encoded}")).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location(), Some("/profile"), "next={evil:?}");
        logout(&app.client).await;
    }
}

#[rocket::async_test]
async fn a_disabled_user_is_signed_out_and_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let email = app.signed_in_user("alice").await;
    assert_eq!(app.get("/profile").await.status, Status::Ok);
    app.exec("UPDATE users SET disabled = 1 WHERE username = 'alice'")
        .await;
    assert_sent_to_login(&app.get("/profile").await);
    let home = app.get("/").await;
    assert!(!home.body.contains("alice"), "still shown as signed in");

    let before = app.scalar("SELECT COUNT(*) FROM sessions").await;
    let max_id = app
        .scalar("SELECT COALESCE(MAX(id), 0) FROM sessions")
        .await;
    let r = app.login(&email, PASSWORD).await;
    assert!(
        matches!(r.status.code, 400 | 401 | 403),
        "status {}",
        r.status
    );
    if r.status != Status::Unauthorized {
        assert!(r.body.contains("disabled"), "{}", r.body);
    }
    assert!(r.set_cookie(SESSION).is_none());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, before);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE id > {max_id}"
        ))
        .await,
        0
    );
    assert_sent_to_login(&app.get("/profile").await);
}

#[rocket::async_test]
async fn a_burst_of_parallel_attempts_cannot_exceed_the_account_limit() {
    let app = TestApp::spawn().await;
    let (_, email) = user_in_own_browser(&app, "alice").await;
    let second_node = app.another_browser().await;
    let mut attempts = Vec::new();
    for browser in [&app.client, &second_node] {
        let token = get(browser, "/login").await.csrf();
        for _ in 0..10 {
            let fields = [
                ("csrf_token", token.clone()),
                ("email", email.clone()),
                ("password", WRONG.to_string()),
            ];
            attempts.push(async move {
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post_raw(browser, "/login", &fields, &[]).await
            });
        }
    }
    let results = rocket::futures::future::join_all(attempts).await;
    let checked = results
        .iter()
        .filter(|r| r.status == Status::Unauthorized)
        .count();
    let refused = results
        .iter()
        .filter(|r| r.status == Status::TooManyRequests)
        .count();
    assert_eq!(checked + refused, 20);
    assert!(
        checked <= 5,
        "{checked} passwords were tried, the limit is 5"
    );
    assert!(checked >= 1);
    assert_rate_limited(&login(&app.client, &email, PASSWORD).await);
}
