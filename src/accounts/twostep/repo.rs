//! The authenticator rows. Plain SQL that runs on SQLite and Postgres.

use crate::db::{now, DbPool};
use crate::error::AppResult;

/// A member's authenticator app, set up or being set up.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Totp {
    pub user_id: i64,
    pub secret_sealed: String,
    /// 1 once a valid code turned it on; 0 while being set up.
    pub enabled: i64,
    /// The last step whose code was accepted.
    pub last_step: i64,
    pub enabled_at: i64,
}

/// The authenticator row of `user_id`, on or being set up.
pub async fn find(db: &DbPool, user_id: i64) -> AppResult<Option<Totp>> {
    Ok(sqlx::query_as(
        "SELECT user_id, secret_sealed, enabled, last_step, enabled_at FROM twostep_totp WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Whether `user_id` has two-step sign-in turned on.
pub async fn is_enabled(db: &DbPool, user_id: i64) -> AppResult<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM twostep_totp WHERE user_id = $1 AND enabled = 1")
            .bind(user_id)
            .fetch_one(&db.pool)
            .await?;
    Ok(n > 0)
}

/// Start setting up an authenticator with a new sealed secret, replacing
/// one being set up. Refused (false) when one is already on: turning it
/// off comes first.
pub async fn begin_setup(db: &DbPool, user_id: i64, sealed: &str) -> AppResult<bool> {
    let r = sqlx::query(
        "INSERT INTO twostep_totp (user_id, secret_sealed, enabled, last_step, created_at) \
         VALUES ($1, $2, 0, 0, $3) \
         ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, \
           last_step = 0, created_at = excluded.created_at \
         WHERE twostep_totp.enabled = 0",
    )
    .bind(user_id)
    .bind(sealed)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Record that the code of `step` was accepted, unless a code of that step
/// or a later one already was (two requests racing with one code: only
/// one wins). When `enable` is set, this also turns the authenticator on.
pub async fn accept_step(db: &DbPool, user_id: i64, step: i64, enable: bool) -> AppResult<bool> {
    let r = sqlx::query(
        "UPDATE twostep_totp SET last_step = $1, \
           enabled = CASE WHEN $2 = 1 THEN 1 ELSE enabled END, \
           enabled_at = CASE WHEN $2 = 1 AND enabled = 0 THEN $3 ELSE enabled_at END \
         WHERE user_id = $4 AND last_step < $1",
    )
    .bind(step)
    .bind(i64::from(enable))
    .bind(now())
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    let accepted = r.rows_affected() == 1;
    if accepted && enable {
        // The profile page shows whether it is on.
        crate::session::user_changed(db, user_id).await?;
    }
    Ok(accepted)
}

/// Turn two-step sign-in off for `user_id`: the authenticator, the recovery
/// codes and any sign-in halfway through go. True when it was on.
pub async fn remove(db: &DbPool, user_id: i64) -> AppResult<bool> {
    let mut tx = crate::db::begin_write(db).await?;
    let r = sqlx::query("DELETE FROM twostep_totp WHERE user_id = $1 AND enabled = 1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for sql in [
        "DELETE FROM twostep_totp WHERE user_id = $1",
        "DELETE FROM twostep_recovery_codes WHERE user_id = $1",
        "DELETE FROM twostep_pending WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    crate::session::user_changed(db, user_id).await?;
    Ok(r.rows_affected() > 0)
}
