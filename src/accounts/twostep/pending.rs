//! A sign-in halfway through: the password (or a provider) said yes, the
//! second step has not yet. It grants nothing but the right to try a code
//! for a few minutes: it is no session, no guard accepts it. A browser
//! holds a random token in an encrypted cookie of its own; an API client
//! gets it as a challenge. The database row holds its hash, so signing
//! out everywhere, turning two-step sign-in off or an admin's reset can
//! delete it; wrong codes are counted with the sign-in rate limits.

use rocket::http::{Cookie, CookieJar, SameSite};

use super::{recovery, repo, totp, SealKey};
use crate::config::AppConfig;
use crate::db::{now, DbPool};
use crate::error::{AppError, AppResult};
use crate::session::{hash_token, random_token};
use crate::web::ratelimit::{self, Limit};

/// How long a sign-in may wait for its second step, in seconds.
pub const LIFETIME: i64 = 300;
/// Wrong codes one pending sign-in may send before the password is needed again.
pub const TRIES: i64 = 5;
/// The cookie of a browser halfway through.
const COOKIE: &str = "gw_twostep";
/// Only the second-step page reads it.
const COOKIE_PATH: &str = "/login";

/// A browser's or an API client's sign-in, waiting for its second step.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pending {
    pub id: i64,
    pub user_id: i64,
    /// `web` or `api`.
    pub kind: String,
    pub remember: i64,
    /// Where a browser goes once signed in (a local path, or empty).
    pub next_path: String,
}

/// Record a sign-in waiting for its second step; returns its token.
pub async fn create(
    db: &DbPool,
    user_id: i64,
    kind: &str,
    remember: bool,
    next: &str,
) -> AppResult<String> {
    let token = random_token();
    let t = now();
    sqlx::query("DELETE FROM twostep_pending WHERE expires_at <= $1")
        .bind(t)
        .execute(&db.pool)
        .await?;
    sqlx::query(
        "INSERT INTO twostep_pending (token_hash, user_id, kind, remember, next_path, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(kind)
    .bind(i64::from(remember))
    .bind(next)
    .bind(t)
    .bind(t + LIFETIME)
    .execute(&db.pool)
    .await?;
    Ok(token)
}

/// The live pending sign-in of kind `kind` behind `token`, if any (of an
/// account still enabled).
pub async fn find(db: &DbPool, token: &str, kind: &str) -> AppResult<Option<Pending>> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.user_id, p.kind, p.remember, p.next_path FROM twostep_pending p \
         JOIN users u ON u.id = p.user_id \
         WHERE p.token_hash = $1 AND p.kind = $2 AND p.expires_at > $3 AND u.disabled = 0",
    )
    .bind(hash_token(token))
    .bind(kind)
    .bind(now())
    .fetch_optional(&db.pool)
    .await?)
}

/// Forget a pending sign-in (done, or given up).
pub async fn delete(db: &DbPool, id: i64) -> AppResult<()> {
    sqlx::query("DELETE FROM twostep_pending WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Give this browser its pending sign-in's cookie.
pub fn set_cookie(cfg: &AppConfig, cookies: &CookieJar<'_>, token: String) {
    // Lax, not Strict: after a provider's redirect the browser comes to the
    // second step through a navigation that began on another site.
    let cookie = Cookie::build((COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path(COOKIE_PATH)
        .secure(cfg.cookies_secure())
        .max_age(rocket::time::Duration::seconds(LIFETIME));
    cookies.add_private(cookie);
}

/// The token of this browser's pending sign-in cookie, if it opens.
pub fn cookie_token(cookies: &CookieJar<'_>) -> Option<String> {
    cookies.get_private(COOKIE).map(|c| c.value().to_string())
}

/// Drop this browser's pending sign-in cookie.
pub fn remove_cookie(cookies: &CookieJar<'_>) {
    cookies.remove_private(Cookie::build(COOKIE).path(COOKIE_PATH));
}

/// What a code sent for a pending sign-in came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// A valid authenticator code (of a step not used before) or an unused
    /// recovery code: the sign-in may finish.
    Valid,
    /// Wrong: try again.
    Wrong,
    /// Too many wrong codes: the pending sign-in is gone, and the password
    /// is needed again.
    TooMany,
}

/// The limit on wrong codes across every pending sign-in of an account:
/// without it, typing the password again would buy [`TRIES`] more guesses
/// each time.
fn account_limit(cfg: &AppConfig, user_id: i64) -> (String, Limit) {
    (
        format!("twostep:account:{user_id}"),
        Limit {
            max: cfg.login_max_failures_per_account * 2,
            window: cfg.login_failure_window,
        },
    )
}

/// Check `given` (an authenticator code or a recovery code) for `pending`.
/// Every attempt is counted first (against this pending sign-in's own
/// [`TRIES`] and the account's limit) and taken back when it was right,
/// as the password check does. Over either limit, the pending sign-in is
/// deleted: [`Checked::TooMany`].
pub async fn check_code(
    db: &DbPool,
    cfg: &AppConfig,
    key: &SealKey,
    pending: &Pending,
    given: &str,
) -> AppResult<Checked> {
    let own = (
        format!("twostep:pending:{}", pending.id),
        Limit {
            max: TRIES,
            window: LIFETIME,
        },
    );
    let account = account_limit(cfg, pending.user_id);
    let mut counted = Vec::with_capacity(2);
    for (bucket, limit) in [&own, &account] {
        match ratelimit::attempt(db, bucket, *limit).await {
            Ok(id) => counted.push(id),
            Err(AppError::TooManyRequests { .. }) => {
                for id in counted {
                    ratelimit::forgive(db, id).await?;
                }
                delete(db, pending.id).await?;
                return Ok(Checked::TooMany);
            }
            Err(e) => return Err(e),
        }
    }
    if !verify(db, key, pending.user_id, given).await? {
        return Ok(Checked::Wrong);
    }
    for id in counted {
        ratelimit::forgive(db, id).await?;
    }
    ratelimit::clear(db, &own.0).await?;
    Ok(Checked::Valid)
}

/// Whether `given` is a valid second factor of `user_id` right now: an
/// authenticator code (recorded as used, so never accepted again) or an
/// unused recovery code (spent). Counts against nothing: callers limit.
pub async fn verify(db: &DbPool, key: &SealKey, user_id: i64, given: &str) -> AppResult<bool> {
    let Some(row) = repo::find(db, user_id).await?.filter(|r| r.enabled == 1) else {
        return Ok(false);
    };
    let Some(secret) = key.open(user_id, &row.secret_sealed) else {
        log::error!(
            "the authenticator secret of user {user_id} does not open: was secret_key changed?"
        );
        return Ok(false);
    };
    if let Some(step) = totp::matching_step(&secret, given, now(), row.last_step) {
        return repo::accept_step(db, user_id, step, false).await;
    }
    recovery::spend(db, user_id, given).await
}
