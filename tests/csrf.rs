//! CSRF (SECURITY.md items 6-8): every state-changing form needs this
//! browser's token and a same-site origin; refusals write nothing and set
//! no session; no GET changes state.

use crate::common;
use common::accounts::{assert_sent_to_login, SESSION};
use common::*;

use rocket::http::Status;
use rocket::local::asynchronous::Client;

/// A refused form: 403, an error page that says what happened to the
/// form, no session cookie, and the usual security headers.
fn assert_refused(r: &Resp, what: &str) {
    assert_eq!(r.status, Status::Forbidden, "{what}: {}", r.body);
    assert!(
        r.body.contains("This form has expired"),
        "{what}: no explanation in {}",
        r.body
    );
    assert!(r.body.contains("security token"), "{what}: {}", r.body);
    assert!(
        r.set_cookie(SESSION).is_none(),
        "{what}: session cookie set"
    );
}

/// Every stored row a form could change, as text.
async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT CAST(id AS TEXT) || '|' || username || '|' || email || '|' || COALESCE(password_hash, '') \
           || '|' || role || '|' || display_name || '|' || bio || '|' || avatar_url || '|' || CAST(disabled AS TEXT) \
         FROM users ORDER BY id",
        "SELECT CAST(id AS TEXT) || '|' || CAST(user_id AS TEXT) || '|' || token_hash || '|' || CAST(expires_at AS TEXT) \
         FROM sessions ORDER BY id",
        "SELECT bucket || '|' || CAST(created_at AS TEXT) FROM rate_limit_events ORDER BY id",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sql)
            .fetch_all(&app.db.pool)
            .await
            .expect(sql);
        out.push(format!("{} rows", rows.len()));
        out.extend(rows);
    }
    out
}

/// The forms a signed-in user can send, as (action, fields without token).
fn signed_in_forms(session_id: i64) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            "/update-profile".into(),
            vec![
                ("_method", "put"),
                ("display_name", "Hacked"),
                ("bio", "pwned"),
            ],
        ),
        (
            "/account/password".into(),
            vec![
                ("current_password", PASSWORD),
                ("new_password", "attacker chose this one"),
            ],
        ),
        ("/account/delete".into(), vec![("password", PASSWORD)]),
        (format!("/sessions/{session_id}/end"), vec![]),
        ("/sessions/end-others".into(), vec![]),
        ("/logout".into(), vec![]),
    ]
}

/// Alice signed in on `app.client` and on a second browser (so "end other
/// sessions" has something to end); returns her current session id.
async fn alice_on_two_devices(app: &TestApp) -> (i64, Client) {
    let email = app.signed_in_user("alice").await;
    let current = app.scalar("SELECT MAX(id) FROM sessions").await;
    let phone = app.another_browser().await;
    let r = login(&phone, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    // Sign-in rotated the token: load a page so that this browser holds
    // one, as a real browser would, and only the form lacks it.
    assert!(!app.get("/profile").await.csrf().is_empty());
    (current, phone)
}

fn with_token(fields: &[(&str, &str)], token: &str) -> Vec<(String, String)> {
    // `_method` must stay the first field for Rocket to see it.
    let mut all: Vec<(String, String)> = Vec::new();
    let mut rest = fields.iter();
    if let Some(first) = fields.first().filter(|(k, _)| *k == "_method") {
        all.push((first.0.into(), first.1.into()));
        rest.next();
    }
    all.push(("csrf_token".into(), token.into()));
    all.extend(rest.map(|(k, v)| (k.to_string(), v.to_string())));
    all
}

async fn post_with_token(
    client: &Client,
    action: &str,
    fields: &[(&str, &str)],
    token: &str,
    headers: &[(&str, &str)],
) -> Resp {
    let all = with_token(fields, token);
    let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post_raw(client, action, &borrowed, headers).await
}

#[rocket::async_test]
async fn sign_up_without_a_token_is_refused_and_creates_nothing() {
    let app = TestApp::spawn().await;
    app.get("/signup").await; // the browser has a token cookie, just not in the form
    let fields = [
        ("username", "mallory"),
        ("email", "mallory@example.org"),
        ("password", PASSWORD),
    ];
    let r = app.post_raw("/signup", &fields).await;
    assert_refused(&r, "sign-up without token");
    let mut bad = vec![("csrf_token", "")];
    bad.extend_from_slice(&fields);
    assert_refused(&app.post_raw("/signup", &bad).await, "empty token");
    bad[0].1 = "made-up-token";
    assert_refused(&app.post_raw("/signup", &bad).await, "made-up token");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM rate_limit_events").await,
        0
    );
    assert_sent_to_login(&app.get("/profile").await);

    // The same form with its token goes through.
    let r = app.submit("/signup", "/signup", &fields).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);
}

#[rocket::async_test]
async fn sign_in_without_a_token_is_refused_and_signs_nobody_in() {
    let app = TestApp::spawn().await;
    let email = "alice@example.org";
    let other = app.another_browser().await;
    let r = signup(&other, "alice", email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    app.get("/login").await;
    let before = snapshot(&app).await;
    let r = app
        .post_raw("/login", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_refused(&r, "sign-in without token");
    let r = app
        .post_raw(
            "/login",
            &[
                ("csrf_token", "made-up-token"),
                ("email", email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_refused(&r, "sign-in with a made-up token");
    assert_eq!(snapshot(&app).await, before);
    assert_sent_to_login(&app.get("/profile").await);

    assert_eq!(app.login(email, PASSWORD).await.status, Status::SeeOther);
}

#[rocket::async_test]
async fn signed_in_forms_without_a_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (current, phone) = alice_on_two_devices(&app).await;
    let before = snapshot(&app).await;
    for (action, fields) in signed_in_forms(current) {
        let r = app.post_raw(&action, &fields).await;
        assert_refused(&r, &format!("{action} without token"));
        let r = post_with_token(&app.client, &action, &fields, "made-up-token", &[]).await;
        assert_refused(&r, &format!("{action} with a made-up token"));
        assert_eq!(snapshot(&app).await, before, "{action} wrote something");
    }
    assert_eq!(app.get("/profile").await.status, Status::Ok);
    assert_eq!(get(&phone, "/profile").await.status, Status::Ok);

    // Each of those forms does work with the token (so the refusals above
    // were about the token, not about the form): the harmless ones here.
    let token = app.get("/profile").await.csrf();
    let r = post_with_token(
        &app.client,
        "/update-profile",
        &[
            ("_method", "put"),
            ("display_name", "Alice A."),
            ("bio", ""),
        ],
        &token,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        app.text("SELECT display_name FROM users").await.as_deref(),
        Some("Alice A.")
    );
    let r = post_with_token(&app.client, "/sessions/end-others", &[], &token, &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_sent_to_login(&get(&phone, "/profile").await);
}

#[rocket::async_test]
async fn password_change_and_account_deletion_work_with_a_token() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let token = app.get("/profile").await.csrf();
    let new_password = "a different long passphrase";
    let r = post_with_token(
        &app.client,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", new_password),
        ],
        &token,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let token = app.get("/profile").await.csrf();
    let r = post_with_token(
        &app.client,
        "/account/delete",
        &[("password", new_password)],
        &token,
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
}

#[rocket::async_test]
async fn another_browsers_token_is_refused() {
    let app = TestApp::spawn().await;
    let other = app.another_browser().await;
    let foreign = get(&other, "/signup").await.csrf();
    assert!(!foreign.is_empty());

    // An anonymous browser: sign-up and sign-in with the other's token.
    app.get("/signup").await;
    let own = app.get("/signup").await.csrf();
    assert_ne!(own, foreign);
    let r = post_with_token(
        &app.client,
        "/signup",
        &[
            ("username", "mallory"),
            ("email", "mallory@example.org"),
            ("password", PASSWORD),
        ],
        &foreign,
        &[],
    )
    .await;
    assert_refused(&r, "sign-up with another browser's token");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);

    let r = signup(&other, "bob", "bob@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let before = snapshot(&app).await;
    let bobs = get(&other, "/profile").await.csrf();
    let r = post_with_token(
        &app.client,
        "/login",
        &[("email", "bob@example.org"), ("password", PASSWORD)],
        &bobs,
        &[],
    )
    .await;
    assert_refused(&r, "sign-in with another browser's token");

    // A browser with no token cookie at all.
    let fresh = app.another_browser().await;
    let r = post_with_token(
        &fresh,
        "/login",
        &[("email", "bob@example.org"), ("password", PASSWORD)],
        &bobs,
        &[],
    )
    .await;
    assert_refused(&r, "sign-in from a browser without a token cookie");
    assert_eq!(snapshot(&app).await, before);

    // Signed in, every form refuses bob's token.
    app.signed_in_user("alice").await;
    let own = app.get("/profile").await.csrf();
    assert!(!own.is_empty());
    assert_ne!(own, bobs);
    let current = app
        .scalar("SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'alice'")
        .await;
    let before = snapshot(&app).await;
    for (action, fields) in signed_in_forms(current) {
        let r = post_with_token(&app.client, &action, &fields, &bobs, &[]).await;
        assert_refused(&r, &format!("{action} with bob's token"));
    }
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(app.get("/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn a_cross_site_origin_is_refused_even_with_a_valid_token() {
    let app = TestApp::spawn().await;
    let (current, _phone) = alice_on_two_devices(&app).await;
    let token = app.get("/profile").await.csrf();
    let before = snapshot(&app).await;
    let cross_site: [&[(&str, &str)]; 4] = [
        &[("Origin", "https://evil.example")],
        &[("Origin", "http://localhost:8000.evil.example")],
        &[("Origin", "null")],
        &[("Sec-Fetch-Site", "cross-site")],
    ];
    for headers in cross_site {
        for (action, fields) in signed_in_forms(current) {
            let r = post_with_token(&app.client, &action, &fields, &token, headers).await;
            assert_refused(&r, &format!("{action} with {headers:?}"));
        }
        // The token is right and the origin is not: also both headers at once.
        let mut both = headers.to_vec();
        both.push(("Sec-Fetch-Site", "same-origin"));
        let (action, fields) = &signed_in_forms(current)[0];
        let r = post_with_token(&app.client, action, fields, &token, &both).await;
        assert_refused(&r, &format!("{action} with {both:?}"));
    }
    assert_eq!(snapshot(&app).await, before);

    // Sign-in from another site (login CSRF) is refused too.
    let anon = app.another_browser().await;
    let t = get(&anon, "/login").await.csrf();
    let r = post_with_token(
        &anon,
        "/login",
        &[("email", "alice@example.org"), ("password", PASSWORD)],
        &t,
        &[("Origin", "https://evil.example")],
    )
    .await;
    assert_refused(&r, "sign-in from evil.example");
    assert_eq!(snapshot(&app).await, before);
}

#[rocket::async_test]
async fn the_sites_own_origin_is_accepted() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    for (i, headers) in [
        vec![("Origin", "http://localhost:8000")],
        vec![
            ("Origin", "http://localhost:8000"),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        vec![("Sec-Fetch-Site", "same-origin")],
        vec![("Sec-Fetch-Site", "none")],
    ]
    .into_iter()
    .enumerate()
    {
        let token = app.get("/profile").await.csrf();
        let name = format!("Alice {i}");
        let r = post_with_token(
            &app.client,
            "/update-profile",
            &[("_method", "put"), ("display_name", &name)],
            &token,
            &headers,
        )
        .await;
        assert_eq!(r.status, Status::SeeOther, "{headers:?}: {}", r.body);
        assert_eq!(
            app.text("SELECT display_name FROM users").await.as_deref(),
            Some(name.as_str())
        );
    }
}

#[rocket::async_test]
async fn the_accepted_origin_follows_the_configured_base_url() {
    let app = TestApp::spawn_with(|f| f.merge(("base_url", "https://groundwork.example/"))).await;
    app.signed_in_user("alice").await;
    let token = app.get("/profile").await.csrf();
    let fields = [("_method", "put"), ("display_name", "Changed")];
    let r = post_with_token(
        &app.client,
        "/update-profile",
        &fields,
        &token,
        &[("Origin", "http://localhost:8000")],
    )
    .await;
    assert_refused(&r, "the default origin when base_url is elsewhere");
    let r = post_with_token(
        &app.client,
        "/update-profile",
        &fields,
        &token,
        &[("Origin", "http://groundwork.example")],
    )
    .await;
    assert_refused(&r, "plain http origin for an https site");
    assert_eq!(
        app.text("SELECT display_name FROM users").await.as_deref(),
        Some("")
    );
    let r = post_with_token(
        &app.client,
        "/update-profile",
        &fields,
        &token,
        &[("Origin", "https://groundwork.example")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        app.text("SELECT display_name FROM users").await.as_deref(),
        Some("Changed")
    );
}

#[rocket::async_test]
async fn no_get_request_changes_state() {
    let app = TestApp::spawn().await;
    let (current, phone) = alice_on_two_devices(&app).await;
    let before = snapshot(&app).await;
    for uri in [
        "/logout".to_string(),
        "/sessions/end-others".into(),
        format!("/sessions/{current}/end"),
        "/account/delete".into(),
        "/account/password".into(),
        "/update-profile?display_name=Hacked".into(),
    ] {
        let r = app.get(&uri).await;
        assert_eq!(r.status, Status::NotFound, "GET {uri}");
        assert!(r.set_cookie(SESSION).is_none(), "GET {uri}");
    }
    assert_eq!(snapshot(&app).await, before);
    let r = app.get("/profile").await;
    assert_eq!(r.status, Status::Ok, "still signed in");
    assert_eq!(get(&phone, "/profile").await.status, Status::Ok);

    // Credentials in a sign-in URL do not sign anyone in.
    let anon = app.another_browser().await;
    let r = get(
        &anon,
        "/login?email=alice%40example.org&password=correct%20horse%20battery%20staple",
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.set_cookie(SESSION).is_none());
    assert_eq!(snapshot(&app).await, before);
}

#[rocket::async_test]
async fn the_csrf_token_changes_at_sign_in_and_sign_out() {
    let app = TestApp::spawn().await;
    let other = app.another_browser().await;
    let r = signup(&other, "alice", "alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);

    let anonymous = app.get("/login").await.csrf();
    assert!(!anonymous.is_empty());
    assert_eq!(
        app.get("/login").await.csrf(),
        anonymous,
        "stable until sign-in"
    );
    let r = app.login("alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let signed_in = app.get("/profile").await.csrf();
    assert!(!signed_in.is_empty());
    assert_ne!(signed_in, anonymous);

    // A token seen before sign-in is worthless after it.
    let r = post_with_token(
        &app.client,
        "/update-profile",
        &[("_method", "put"), ("display_name", "Planted")],
        &anonymous,
        &[],
    )
    .await;
    assert_refused(&r, "pre-sign-in token");
    assert_eq!(
        app.text("SELECT display_name FROM users").await.as_deref(),
        Some("")
    );

    let r = post_with_token(&app.client, "/logout", &[], &signed_in, &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    let after = app.get("/login").await.csrf();
    assert!(!after.is_empty());
    assert_ne!(after, signed_in);
    assert_ne!(after, anonymous);
}

#[rocket::async_test]
async fn a_refused_form_still_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    app.get("/login").await;
    let r = app
        .post_raw("/login", &[("email", "a@example.org"), ("password", "x")])
        .await;
    assert_refused(&r, "sign-in without token");
    let csp = r.header("Content-Security-Policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "CSP {csp:?}");
    assert!(csp.contains("frame-ancestors 'none'"), "CSP {csp:?}");
    assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
    assert!(r.header("Referrer-Policy").is_some());
    assert_eq!(r.header("X-Frame-Options"), Some("DENY"));
    assert!(r
        .header("Content-Type")
        .unwrap_or_default()
        .starts_with("text/html"));
}

#[rocket::async_test]
async fn a_signed_in_members_token_is_their_sessions_and_needs_no_cookie() {
    let app = TestApp::spawn().await;
    let email = app.signed_in_user("alice").await;
    let page = app.get("/profile").await;
    let laptop = page.csrf();
    assert!(!laptop.is_empty());
    assert!(
        page.set_cookie("gw_csrf").is_none(),
        "a signed-in page binds no token cookie: {:?}",
        page.set_cookies()
    );
    assert_eq!(
        app.get("/notes").await.csrf(),
        laptop,
        "one token per session"
    );

    // The same member on a second browser has another session, so another
    // token, and neither browser's token works in the other.
    let phone = app.another_browser().await;
    assert_eq!(
        login(&phone, &email, PASSWORD).await.status,
        Status::SeeOther
    );
    let phones = get(&phone, "/profile").await.csrf();
    assert!(!phones.is_empty());
    assert_ne!(phones, laptop);
    let edit = [("_method", "put"), ("display_name", "From the phone")];
    let r = post_with_token(&app.client, "/update-profile", &edit, &phones, &[]).await;
    assert_refused(&r, "the phone's token on the laptop");
    let r = post_with_token(&phone, "/update-profile", &edit, &laptop, &[]).await;
    assert_refused(&r, "the laptop's token on the phone");
    assert_eq!(
        app.text("SELECT display_name FROM users").await.as_deref(),
        Some("")
    );
    let r = post_with_token(&phone, "/update-profile", &edit, &phones, &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        app.text("SELECT display_name FROM users").await.as_deref(),
        Some("From the phone")
    );

    // Signing out and in again starts a session, and a token with it.
    let r = post_with_token(&app.client, "/logout", &[], &laptop, &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(app.login(&email, PASSWORD).await.status, Status::SeeOther);
    let again = app.get("/profile").await.csrf();
    assert!(!again.is_empty());
    assert_ne!(again, laptop);
    let edit = [("_method", "put"), ("display_name", "Old token")];
    let r = post_with_token(&app.client, "/update-profile", &edit, &laptop, &[]).await;
    assert_refused(&r, "the ended session's token");
    let edit = [("_method", "put"), ("display_name", "New token")];
    let r = post_with_token(&app.client, "/update-profile", &edit, &again, &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        app.text("SELECT display_name FROM users").await.as_deref(),
        Some("New token")
    );
}

#[rocket::async_test]
async fn a_members_form_during_a_database_outage_answers_503_not_403() {
    use rocket_db_pools::Database;
    // No session cache: the session is read from the database.
    let app = TestApp::spawn_with(|f| f.merge(("session_cache_entries", 0))).await;
    app.signed_in_user("alice").await;
    let token = app.get("/contact").await.csrf();
    assert!(!token.is_empty());
    let pool = groundwork::db::Db::fetch(app.client.rocket()).expect("the app's pool");
    pool.pool.close().await;
    let r = app
        .post_raw(
            "/contact",
            &[
                ("csrf_token", token.as_str()),
                ("name", "Alice"),
                ("email", "alice@example.org"),
                ("subject", "Hello"),
                ("message", "Sent while the database is down"),
            ],
        )
        .await;
    assert_eq!(r.status, Status::ServiceUnavailable, "{}", r.body);
    assert!(r.body.contains("Temporarily unavailable"), "{}", r.body);
}
