//! Signing in (SECURITY.md items 10-13): the same answer for an
//! unknown email and a wrong password, lock-outs by account and by address
//! across app processes, client addresses behind proxies, hash upgrades,
//! `next` targets and disabled accounts.

use crate::common;
use common::accounts::*;
use common::*;

use std::net::SocketAddr;

use rocket::http::Status;

const WRONG: &str = "not the right password at all";

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
