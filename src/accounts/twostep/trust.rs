//! "Trust this browser for 30 days": a browser that finished a second step
//! with the box ticked carries an encrypted cookie naming the account and
//! the account's `trust_generation`; its sign-ins to that account skip the
//! second step. Ending the account's sessions everywhere (signing out
//! everywhere, a password change or reset, an admin's action) moves the
//! generation on (`session::end_all_for_user`), and every such cookie
//! stops counting. The password (or provider) is still needed each time.

use rocket::http::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};

use crate::config::AppConfig;
use crate::db::{now, DbPool};
use crate::error::AppResult;

const COOKIE: &str = "gw_trusted";
/// How long a browser stays trusted, in seconds: 30 days.
pub const LIFETIME: i64 = 30 * 24 * 3600;

#[derive(Serialize, Deserialize)]
struct Claim {
    uid: i64,
    generation: i64,
    iat: i64,
}

async fn generation(db: &DbPool, user_id: i64) -> AppResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT trust_generation FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Trust this browser for `user_id` (after a second step with the box ticked).
pub async fn remember(
    db: &DbPool,
    cfg: &AppConfig,
    cookies: &CookieJar<'_>,
    user_id: i64,
) -> AppResult<()> {
    let Some(generation) = generation(db, user_id).await? else {
        return Ok(());
    };
    let claim = Claim {
        uid: user_id,
        generation,
        iat: now(),
    };
    let Ok(value) = serde_json::to_string(&claim) else {
        return Ok(());
    };
    // Path `/`: a provider's callback under /auth reads it too.
    let cookie = Cookie::build((COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(cfg.cookies_secure())
        .max_age(rocket::time::Duration::seconds(LIFETIME));
    cookies.add_private(cookie);
    Ok(())
}

/// Whether this browser is trusted for `user_id` right now.
pub async fn is_trusted(db: &DbPool, cookies: &CookieJar<'_>, user_id: i64) -> AppResult<bool> {
    let Some(cookie) = cookies.get_private(COOKIE) else {
        return Ok(false);
    };
    let Ok(claim) = serde_json::from_str::<Claim>(cookie.value()) else {
        return Ok(false);
    };
    if claim.uid != user_id || !(0..LIFETIME).contains(&(now() - claim.iat)) {
        return Ok(false);
    }
    Ok(generation(db, user_id).await? == Some(claim.generation))
}
