//! Single-use links mailed to people. The link carries a random 256-bit
//! token; only its SHA-256 is stored, with an expiry, and issuing a new
//! token of a purpose voids the older ones.

use sqlx::AnyConnection;

use crate::db::now;
use crate::error::AppResult;
use crate::session::{hash_token, random_token};

/// What a token is for, and how long it lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    ChangeEmail,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::ChangeEmail => "change_email",
        }
    }
    fn lifetime(self) -> i64 {
        match self {
            Purpose::VerifyEmail => 48 * 3600,
            Purpose::ResetPassword => 3600,
            Purpose::ChangeEmail => 24 * 3600,
        }
    }
}

/// Issue a token for `user_id`, voiding their earlier ones of the same
/// purpose. Returns the token for the link (never stored as such).
pub async fn issue(
    conn: &mut AnyConnection,
    user_id: i64,
    purpose: Purpose,
    new_email: Option<&str>,
) -> AppResult<String> {
    let t = now();
    sqlx::query("UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
        .bind(t)
        .bind(user_id)
        .bind(purpose.as_str())
        .execute(&mut *conn)
        .await?;
    let token = random_token();
    sqlx::query(
        "INSERT INTO email_tokens (user_id, purpose, token_hash, new_email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(hash_token(&token))
    .bind(new_email)
    .bind(t)
    .bind(t + purpose.lifetime())
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// A live token's owner and, for an email change, the new address.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Valid {
    pub id: i64,
    pub user_id: i64,
    pub new_email: Option<String>,
}

/// The token if it exists, has this purpose, is unused and unexpired.
pub async fn check(
    conn: &mut AnyConnection,
    token: &str,
    purpose: Purpose,
) -> AppResult<Option<Valid>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, new_email FROM email_tokens \
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(hash_token(token))
    .bind(purpose.as_str())
    .bind(now())
    .fetch_optional(conn)
    .await?)
}

/// Use a token up. False when someone else used it first (a double submit).
pub async fn consume(conn: &mut AnyConnection, id: i64) -> AppResult<bool> {
    let r = sqlx::query("UPDATE email_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
        .bind(now())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}
