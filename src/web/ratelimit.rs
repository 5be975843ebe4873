//! Sliding-window rate limits kept in the database, so that they hold
//! across every app process sharing it.

use crate::db::{now, DbPool};
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

/// Forget every event of `bucket` (after a successful sign-in).
pub async fn clear(db: &DbPool, bucket: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM rate_limit_events WHERE bucket = $1")
        .bind(bucket)
        .execute(&db.pool)
        .await?;
    Ok(())
}
