//! Server-side sessions. The browser holds only a random 256-bit id in an
//! encrypted cookie; the database holds its SHA-256, so a stolen database
//! dump cannot be replayed, and deleting the row revokes the session.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use rocket::http::{Cookie, CookieJar, SameSite};
use sha2::{Digest, Sha256};

use crate::config::AppConfig;
use crate::db::{now, DbPool};
use crate::error::AppResult;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "gw_session";

/// A fresh random token: 256 bits, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// `bytes` as lower-case hex, the form of every stored token hash, request
/// id and webhook signature. Written out: `format!("{:x}")` over a digest
/// cost more than the hash itself (callgrind).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Where a new session comes from.
pub struct NewSession<'a> {
    pub user_id: i64,
    pub remember: bool,
    pub user_agent: &'a str,
    pub ip: &'a str,
}

/// Start a session for a user who just proved who they are: any session the
/// browser already had is ended first and a new id is issued (no fixation).
/// The sign-in counts as a fresh proof (`reauth_at`, see [`proved_at`]).
pub async fn start(
    db: &DbPool,
    cfg: &AppConfig,
    cookies: &CookieJar<'_>,
    new: NewSession<'_>,
) -> AppResult<()> {
    end_current(db, cookies).await?;
    let token = random_token();
    let t = now();
    let lifetime = if new.remember {
        cfg.session_remember_timeout
    } else {
        cfg.session_absolute_timeout
    };
    sqlx::query(
        "INSERT INTO sessions (user_id, token_hash, remember, created_at, last_seen_at, expires_at, user_agent, ip, reauth_at) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $4)",
    )
    .bind(new.user_id)
    .bind(hash_token(&token))
    .bind(i64::from(new.remember))
    .bind(t)
    .bind(t + lifetime)
    .bind(new.user_agent)
    .bind(new.ip)
    .execute(&db.pool)
    .await?;
    // Housekeeping: sessions past their absolute expiry are dead weight.
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(t)
        .execute(&db.pool)
        .await?;
    // The profile page lists the user's sessions.
    super::cache::user_changed(db, new.user_id).await?;
    let expires = if new.remember {
        Some(rocket::time::OffsetDateTime::now_utc() + rocket::time::Duration::seconds(lifetime))
    } else {
        None
    };
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(cfg.cookies_secure())
        .expires(expires);
    cookies.add_private(cookie);
    super::csrf::rotate(cookies);
    super::device::remember(cfg, cookies, new.user_id);
    Ok(())
}

/// When the person behind session `id` last proved who they are: signed
/// in, or signed in again at a provider to confirm a change. 0: never
/// (sessions from before this was recorded, API tokens), or no such session.
pub async fn proved_at(db: &DbPool, id: i64) -> AppResult<i64> {
    let at: Option<i64> = sqlx::query_scalar("SELECT reauth_at FROM sessions WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(at.unwrap_or(0))
}

/// Record that the person behind session `id` proved who they are just now.
pub async fn record_proof(db: &DbPool, id: i64) -> AppResult<()> {
    let user: Option<i64> =
        sqlx::query_scalar("UPDATE sessions SET reauth_at = $1 WHERE id = $2 RETURNING user_id")
            .bind(now())
            .bind(id)
            .fetch_optional(&db.pool)
            .await?;
    // The profile page offers sensitive changes while the proof is fresh.
    if let Some(user_id) = user {
        super::cache::user_changed(db, user_id).await?;
    }
    Ok(())
}

/// End the browser's current session, server-side and in the cookie.
pub async fn end_current(db: &DbPool, cookies: &CookieJar<'_>) -> AppResult<()> {
    if let Some(c) = cookies.get_private(SESSION_COOKIE) {
        let users: Vec<i64> =
            sqlx::query_scalar("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id")
                .bind(hash_token(c.value()))
                .fetch_all(&db.pool)
                .await?;
        cookies.remove_private(Cookie::build(SESSION_COOKIE).path("/"));
        for user_id in users {
            super::cache::user_changed(db, user_id).await?;
        }
    }
    Ok(())
}

/// End every session of `user_id` except `keep` (none when `keep` is None).
/// Browsers trusted to skip two-step sign-in are forgotten too (their
/// cookies name the user's `trust_generation`, which moves on), and so are
/// sign-ins halfway through (a password typed elsewhere, waiting for its
/// second step) and passkey ceremonies under way: signing out everywhere
/// leaves nothing that could still become a session.
pub async fn end_all_for_user(db: &DbPool, user_id: i64, keep: Option<i64>) -> AppResult<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or(-1))
        .execute(&db.pool)
        .await?;
    sqlx::query("UPDATE users SET trust_generation = trust_generation + 1 WHERE id = $1")
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    for sql in [
        "DELETE FROM twostep_pending WHERE user_id = $1",
        "DELETE FROM passkey_ceremonies WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&db.pool).await?;
    }
    super::cache::user_changed(db, user_id).await?;
    Ok(r.rows_affected())
}

/// End one session of `user_id`. False when it is not theirs or not there.
pub async fn end_one(db: &DbPool, user_id: i64, session_id: i64) -> AppResult<bool> {
    let r = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(session_id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    if r.rows_affected() > 0 {
        super::cache::user_changed(db, user_id).await?;
    }
    Ok(r.rows_affected() > 0)
}

/// A session as the profile page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub user_agent: String,
    pub ip: String,
    /// `web` (a browser's cookie) or `api` (a bearer token).
    pub kind: String,
}

impl SessionRow {
    /// How lists show it: "Firefox on Linux", or "API token (curl)".
    pub fn device(&self) -> String {
        let agent = describe_agent(&self.user_agent);
        if self.kind == "api" {
            format!("API token ({agent})")
        } else {
            agent
        }
    }
}

/// The live sessions of `user_id`, most recently used first.
pub async fn list_for_user(db: &DbPool, user_id: i64) -> AppResult<Vec<SessionRow>> {
    Ok(sqlx::query_as(
        "SELECT id, created_at, last_seen_at, expires_at, user_agent, ip, kind FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, id DESC",
    )
    .bind(user_id)
    .bind(now())
    .fetch_all(&db.pool)
    .await?)
}

/// "Firefox on Linux" from a user-agent string, good enough to recognise a device.
pub fn describe_agent(ua: &str) -> String {
    if ua.is_empty() {
        return "Unknown device".into();
    }
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_string(),
        (None, Some(o)) => o.to_string(),
        (None, None) => ua.chars().take(60).collect(),
    }
}

/// Of these sessions, the ones still live (not signed out, not expired,
/// the account still enabled): a live stream checks the session it was
/// opened with (chat's dispatcher checks all of its streams' in one query).
pub async fn live_sessions(db: &DbPool, sessions: &[i64]) -> AppResult<Vec<i64>> {
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let list = crate::db::id_list(sessions);
    Ok(sqlx::query_scalar(&format!(
        "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id IN ({list}) AND s.expires_at > $1 AND u.disabled = 0"
    ))
    .bind(now())
    .fetch_all(&db.pool)
    .await?)
}
