//! People as the account and session tests see them: browsers of their
//! own, what is stored about them, their sessions, and signing out.

use rocket::http::Status;
use rocket::local::asynchronous::Client;

use super::{get, login, post_raw, signup, Resp, TestApp, PASSWORD};

/// The PHC prefix of an argon2id hash at the OWASP parameters.
pub const STRONG_HASH_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// Sign up from a browser of its own (the default one may be signed in).
pub async fn signup_elsewhere(app: &TestApp, username: &str, email: &str, password: &str) -> Resp {
    let browser = app.another_browser().await;
    signup(&browser, username, email, password).await
}

/// Sign in from a browser of its own; returns the browser and the response.
pub async fn login_elsewhere(app: &TestApp, email: &str, password: &str) -> (Client, Resp) {
    let browser = app.another_browser().await;
    let r = login(&browser, email, password).await;
    (browser, r)
}

/// One stored string, looked up by a bound value.
pub async fn stored(app: &TestApp, sql: &str, key: &str) -> Option<String> {
    sqlx::query_scalar(sql)
        .bind(key)
        .fetch_optional(&app.db.pool)
        .await
        .expect(sql)
}

/// The stored password hash of `username`.
pub async fn password_hash_of(app: &TestApp, username: &str) -> String {
    stored(
        app,
        "SELECT password_hash FROM users WHERE username = $1",
        username,
    )
    .await
    .expect("user exists")
}

/// How many accounts there are.
pub async fn user_count(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM users").await
}

/// The session cookie's name.
pub const SESSION: &str = "gw_session";

/// A redirect to the sign-in page that will come back here.
pub fn assert_sent_to_login(r: &Resp) {
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let to = r.location().unwrap_or_default();
    assert!(to.starts_with("/login?next="), "redirected to {to:?}");
}

/// Sign out through the form on the home page.
pub async fn logout(browser: &Client) -> Resp {
    let token = get(browser, "/").await.csrf();
    assert!(!token.is_empty(), "no sign-out form on the home page");
    post_raw(browser, "/logout", &[("csrf_token", &token)], &[]).await
}

/// Sign up `username` from a browser of its own, which stays signed in.
pub async fn user_in_own_browser(app: &TestApp, username: &str) -> (Client, String) {
    let browser = app.another_browser().await;
    let email = format!("{username}@example.org");
    let r = signup(&browser, username, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "sign-up failed: {}", r.body);
    (browser, email)
}

/// How many sessions `username` has.
pub async fn session_count(app: &TestApp, username: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = '{username}'"
    ))
    .await
}
