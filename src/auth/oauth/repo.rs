//! Identities at sign-in providers, keyed by (provider, issuer, provider's
//! user id). The issuer is empty for GitHub and Google; for OpenID Connect
//! it is the issuer that signed the ID token, since a subject is unique only
//! within its issuer. Rows stored before issuers were recorded have an empty
//! issuer: see [`adopt_legacy`].

use crate::db::{begin_write, is_unique_violation, now, DbPool};
use crate::error::AppResult;

/// One linked identity.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Identity {
    pub id: i64,
    pub user_id: i64,
    pub provider: String,
    /// The OpenID Connect issuer; empty for GitHub, Google and old rows.
    pub issuer: String,
    pub provider_user_id: String,
    pub email: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, user_id, provider, issuer, provider_user_id, email, created_at";

/// What names one person at one provider.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    /// `github`, `google` or `oidc`.
    pub provider: &'a str,
    /// The OpenID Connect issuer; empty for GitHub and Google.
    pub issuer: &'a str,
    /// The provider's id for the person.
    pub subject: &'a str,
}

/// The identity `key` names, if one is linked.
pub async fn find(db: &DbPool, key: &Key<'_>) -> AppResult<Option<Identity>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM identities \
         WHERE provider = $1 AND issuer = $2 AND provider_user_id = $3"
    );
    Ok(sqlx::query_as(&sql)
        .bind(key.provider)
        .bind(key.issuer)
        .bind(key.subject)
        .fetch_optional(&db.pool)
        .await?)
}

/// Claim a row stored before issuers were recorded (issuer '') for
/// `key.issuer`, and return it. Only call this when the operator has said
/// that those rows came from that issuer (`oauth.oidc.legacy_issuer`): the
/// row then belongs to it for good, and no other issuer reaches it.
pub async fn adopt_legacy(db: &DbPool, key: &Key<'_>) -> AppResult<Option<Identity>> {
    let adopted = sqlx::query(
        "UPDATE identities SET issuer = $1 \
         WHERE provider = $2 AND issuer = '' AND provider_user_id = $3",
    )
    .bind(key.issuer)
    .bind(key.provider)
    .bind(key.subject)
    .execute(&db.pool)
    .await;
    match adopted {
        Ok(_) => {}
        // Linked under the issuer in the meantime: that row wins.
        Err(e) if is_unique_violation(&e) => {}
        Err(e) => return Err(e.into()),
    }
    find(db, key).await
}

/// The identities of a user, oldest first.
pub async fn list_for_user(db: &DbPool, user_id: i64) -> AppResult<Vec<Identity>> {
    let sql = format!("SELECT {COLUMNS} FROM identities WHERE user_id = $1 ORDER BY id");
    Ok(sqlx::query_as(&sql)
        .bind(user_id)
        .fetch_all(&db.pool)
        .await?)
}

/// Link an identity to a user. Fails with a unique violation when that
/// provider account is already linked (to anyone).
pub async fn link(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    key: &Key<'_>,
    email: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO identities (user_id, provider, issuer, provider_user_id, email, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(user_id)
    .bind(key.provider)
    .bind(key.issuer)
    .bind(key.subject)
    .bind(email)
    .bind(now())
    .fetch_one(conn)
    .await
}

/// Remember the email the provider gave at the latest sign-in (the
/// profile page shows it).
pub async fn update_email(db: &DbPool, id: i64, email: &str) -> AppResult<()> {
    let user: Option<i64> =
        sqlx::query_scalar("UPDATE identities SET email = $1 WHERE id = $2 RETURNING user_id")
            .bind(email)
            .bind(id)
            .fetch_optional(&db.pool)
            .await?;
    if let Some(user_id) = user {
        crate::session::user_changed(db, user_id).await?;
    }
    Ok(())
}

/// Why an identity was not removed.
#[derive(Debug, PartialEq, Eq)]
pub enum Unlink {
    Removed,
    NotLinked,
    /// It is the account's last way to sign in (no password, no other identity).
    LastWayIn,
}

/// Remove a user's identities at `provider` (from every issuer: one from an
/// issuer no longer configured cannot sign in, and goes with the rest),
/// unless they are the account's last way to sign in. The user row is written first so that two removals racing on
/// Postgres queue behind each other's row lock (SQLite serialises writers).
pub async fn unlink(db: &DbPool, user_id: i64, provider: &str) -> AppResult<Unlink> {
    let mut tx = begin_write(db).await?;
    sqlx::query("UPDATE users SET updated_at = $1 WHERE id = $2")
        .bind(now())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let has_password: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE id = $1 AND password_hash IS NOT NULL",
    )
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    let here: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM identities WHERE user_id = $1 AND provider = $2")
            .bind(user_id)
            .bind(provider)
            .fetch_one(&mut *tx)
            .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM identities WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    let outcome = if here == 0 {
        Unlink::NotLinked
    } else if has_password == 0 && total - here < 1 {
        Unlink::LastWayIn
    } else {
        sqlx::query("DELETE FROM identities WHERE user_id = $1 AND provider = $2")
            .bind(user_id)
            .bind(provider)
            .execute(&mut *tx)
            .await?;
        Unlink::Removed
    };
    tx.commit().await?;
    if outcome == Unlink::Removed {
        crate::session::user_changed(db, user_id).await?;
    }
    Ok(outcome)
}
