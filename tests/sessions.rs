//! Sessions (SECURITY.md items 1-5): cookie attributes, fixation,
//! revocation, timeouts, remember-me, tampering, caching, and the session
//! list on the profile. Signing in itself is in sign_in.rs.

use crate::common;
use common::accounts::*;
use common::*;

use rocket::http::{Cookie, SameSite, Status};
use rocket::local::asynchronous::Client;

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
