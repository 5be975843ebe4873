//! Sliding-window rate limits kept in the database, so that they hold
//! across every app process sharing it.

use crate::db::{begin_write, now, Backend, DbPool};
use crate::error::{AppError, AppResult};

/// A named limit: at most `max` events per `window` seconds per bucket.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: i64,
    pub window: i64,
}

/// `Err(TooManyRequests)` with the wait until the oldest event leaves the
/// window, when `bucket` is already at its limit.
pub async fn check(db: &DbPool, bucket: &str, limit: Limit) -> AppResult<()> {
    let t = now();
    let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM rate_limit_events WHERE bucket = $1 AND created_at > $2",
    )
    .bind(bucket)
    .bind(t - limit.window)
    .fetch_one(&db.pool)
    .await?;
    if count >= limit.max {
        let retry_after = oldest
            .map(|o| o + limit.window - t)
            .unwrap_or(limit.window)
            .max(1);
        return Err(AppError::TooManyRequests { retry_after });
    }
    Ok(())
}

/// Count one event against `bucket`, and forget its events older than the window.
pub async fn hit(db: &DbPool, bucket: &str, limit: Limit) -> AppResult<()> {
    let t = now();
    sqlx::query("INSERT INTO rate_limit_events (bucket, created_at) VALUES ($1, $2)")
        .bind(bucket)
        .bind(t)
        .execute(&db.pool)
        .await?;
    sqlx::query("DELETE FROM rate_limit_events WHERE bucket = $1 AND created_at <= $2")
        .bind(bucket)
        .bind(t - limit.window)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Count one attempt against `bucket` *before* doing the work it limits,
/// and refuse it when that makes one too many. Checking first and counting
/// after the work would let a burst of parallel requests all pass the check
/// before any of them is counted. Attempts are ranked by id, so of a burst
/// only the first `max` go through. A refused attempt is not kept. Returns
/// the event's id, for [`forgive`] when the attempt turns out not to count.
pub async fn attempt(db: &DbPool, bucket: &str, limit: Limit) -> AppResult<i64> {
    let t = now();
    // Attempts on one bucket take turns, so that each sees every attempt
    // ranked before it. On Postgres ids are handed out before commit, and a
    // later id can be counted while an earlier one is still uncommitted
    // (both would pass); SQLite's INSERT holds the write lock until commit.
    let mut tx = begin_write(db).await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SELECT 1 FROM pg_advisory_xact_lock(hashtext($1))")
            .bind(bucket)
            .execute(&mut *tx)
            .await?;
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO rate_limit_events (bucket, created_at) VALUES ($1, $2) RETURNING id",
    )
    .bind(bucket)
    .bind(t)
    .fetch_one(&mut *tx)
    .await?;
    let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM rate_limit_events \
         WHERE bucket = $1 AND created_at > $2 AND id <= $3",
    )
    .bind(bucket)
    .bind(t - limit.window)
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if count > limit.max {
        // A refused attempt is not kept.
        tx.rollback().await?;
        let retry_after = oldest
            .map(|o| o + limit.window - t)
            .unwrap_or(limit.window)
            .max(1);
        return Err(AppError::TooManyRequests { retry_after });
    }
    sqlx::query("DELETE FROM rate_limit_events WHERE bucket = $1 AND created_at <= $2")
        .bind(bucket)
        .bind(t - limit.window)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Take back one event recorded by [`attempt`].
pub async fn forgive(db: &DbPool, id: i64) -> AppResult<()> {
    sqlx::query("DELETE FROM rate_limit_events WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Forget every event of `bucket` (after a successful sign-in).
pub async fn clear(db: &DbPool, bucket: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM rate_limit_events WHERE bucket = $1")
        .bind(bucket)
        .execute(&db.pool)
        .await?;
    Ok(())
}
