//! A WebAuthn ceremony under way: what webauthn-rs needs to check the
//! browser's answer (its state, with the challenge), kept in the database
//! so that any process behind the balancer can finish it. A ceremony is
//! bound to the browser that started it (a random token in an encrypted
//! cookie; the row holds its hash), lives a few minutes and is used once:
//! taking it deletes it, whatever the answer turns out to be.

use rocket::http::{Cookie, CookieJar, SameSite};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::AppConfig;
use crate::db::{now, DbPool};
use crate::error::{AppError, AppResult};
use crate::session::{hash_token, random_token};

/// How long a browser has to answer, in seconds (webauthn-rs asks the
/// authenticator to give up after five minutes as well).
pub const LIFETIME: i64 = 300;

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Adding a passkey to the signed-in member's account.
    Register,
    /// "Sign in with a passkey": no account known until the answer.
    SignIn,
    /// The second step of a pending sign-in.
    Second,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::SignIn => "signin",
            Kind::Second => "second",
        }
    }

    /// Each kind has its own cookie, so that starting one ceremony does not
    /// cancel another in a second tab.
    fn cookie(self) -> &'static str {
        match self {
            Kind::Register => "gw_passkey_register",
            Kind::SignIn => "gw_passkey_signin",
            Kind::Second => "gw_passkey_second",
        }
    }
}

/// A ceremony taken back from the database.
#[derive(Debug)]
pub struct Taken<S> {
    /// The member it was started for (None for [`Kind::SignIn`]).
    pub user_id: Option<i64>,
    /// The passkey's name, while registering.
    pub name: String,
    pub state: S,
}

/// Record a ceremony of `kind` for `user_id` with webauthn-rs's `state`,
/// and give this browser its cookie. Expired ceremonies are swept first.
pub async fn begin<S: Serialize>(
    db: &DbPool,
    cfg: &AppConfig,
    cookies: &CookieJar<'_>,
    kind: Kind,
    user_id: Option<i64>,
    name: &str,
    state: &S,
) -> AppResult<()> {
    let state = serde_json::to_string(state)
        .map_err(|e| AppError::Internal(format!("storing a passkey ceremony: {e}")))?;
    let token = random_token();
    let t = now();
    sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
        .bind(t)
        .execute(&db.pool)
        .await?;
    sqlx::query(
        "INSERT INTO passkey_ceremonies (token_hash, kind, user_id, name, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(hash_token(&token))
    .bind(kind.as_str())
    .bind(user_id)
    .bind(name)
    .bind(state)
    .bind(t)
    .bind(t + LIFETIME)
    .execute(&db.pool)
    .await?;
    // Strict: only the site's own script, on the site's own pages, sends it.
    let cookie = Cookie::build((kind.cookie(), token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(cfg.cookies_secure())
        .max_age(rocket::time::Duration::seconds(LIFETIME));
    cookies.add_private(cookie);
    Ok(())
}

/// Take this browser's ceremony of `kind`: the row is deleted in the same
/// statement that reads it, so of two answers racing only one gets it.
/// None when the browser has none, or it expired.
pub async fn take<S: DeserializeOwned>(
    db: &DbPool,
    cookies: &CookieJar<'_>,
    kind: Kind,
) -> AppResult<Option<Taken<S>>> {
    let Some(token) = cookies
        .get_private(kind.cookie())
        .map(|c| c.value().to_string())
    else {
        return Ok(None);
    };
    cookies.remove_private(Cookie::build(kind.cookie()).path("/"));
    let row: Option<(Option<i64>, String, String, i64)> = sqlx::query_as(
        "DELETE FROM passkey_ceremonies WHERE token_hash = $1 AND kind = $2 \
         RETURNING user_id, name, state, expires_at",
    )
    .bind(hash_token(&token))
    .bind(kind.as_str())
    .fetch_optional(&db.pool)
    .await?;
    let Some((user_id, name, state, expires_at)) = row else {
        return Ok(None);
    };
    if expires_at <= now() {
        return Ok(None);
    }
    let state = serde_json::from_str(&state)
        .map_err(|e| AppError::Internal(format!("reading a passkey ceremony: {e}")))?;
    Ok(Some(Taken {
        user_id,
        name,
        state,
    }))
}

/// What a browser whose ceremony is gone is told.
pub const START_AGAIN: &str =
    "That took too long, or the page was left open in another tab. Please try again.";
