//! The outbox table: queueing, claiming with a lease, and recording results.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sqlx::AnyConnection;

use super::Email;
use crate::db::{now, Backend, DbPool};
use crate::error::AppResult;

/// What a mail is about, so its delivery can be shown beside it
/// (e.g. `("contact", 42)` for contact message 42).
pub type Related<'a> = Option<(&'a str, i64)>;

/// A stable, unique Message-ID, fixed when the mail is queued, so that a
/// retry after a crash carries the same id and can be recognised.
fn new_message_id(base_url: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let host = base_url
        .split("://")
        .nth(1)
        .unwrap_or("localhost")
        .split(['/', ':'])
        .next()
        .unwrap_or("localhost");
    format!(
        "<{}@{}>",
        URL_SAFE_NO_PAD.encode(bytes),
        if host.is_empty() { "localhost" } else { host }
    )
}

/// Queue `email` on the caller's connection or transaction, so it is
/// committed together with what caused it. Returns the outbox id.
pub async fn enqueue(
    conn: &mut AnyConnection,
    base_url: &str,
    email: &Email,
    related: Related<'_>,
) -> AppResult<i64> {
    let t = now();
    let id = sqlx::query_scalar(
        "INSERT INTO outbox (message_id, template, to_addr, reply_to, subject, text_body, html_body, status, \
         attempts, next_attempt_at, related_type, related_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $9, $10, $8) RETURNING id",
    )
    .bind(new_message_id(base_url))
    .bind(email.template)
    .bind(&email.to)
    .bind(email.reply_to.as_deref())
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(t)
    .bind(related.map(|r| r.0))
    .bind(related.map(|r| r.1))
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// A claimed mail, ready to send.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub message_id: String,
    pub to_addr: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i64,
}

/// Take up to `limit` due mails, including ones whose worker's lease lapsed.
/// On Postgres rows are locked with `SKIP LOCKED`, so several processes
/// never take the same row; SQLite serialises writers anyway.
///
/// The worker's functions take its own connection rather than the pool: see
/// `Worker::tick`.
pub async fn claim(
    conn: &mut AnyConnection,
    backend: Backend,
    limit: i64,
    lease: i64,
) -> AppResult<Vec<Claimed>> {
    let t = now();
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE outbox SET status = 'sending', locked_until = $1, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox \
                      WHERE (status = 'queued' AND next_attempt_at <= $2) OR (status = 'sending' AND locked_until < $2) \
                      ORDER BY next_attempt_at, id LIMIT $3 {lock}) \
         RETURNING id, message_id, to_addr, reply_to, subject, text_body, html_body, attempts"
    );
    let mut batch: Vec<Claimed> = sqlx::query_as(&sql)
        .bind(t + lease)
        .bind(t)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    // RETURNING does not keep the subquery's order: send in queue order.
    batch.sort_by_key(|m| m.id);
    Ok(batch)
}

/// Record a delivery.
pub async fn mark_sent(conn: &mut AnyConnection, id: i64) -> AppResult<()> {
    sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, locked_until = NULL, last_error = NULL WHERE id = $2")
        .bind(now())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Record a temporary failure: try again at `next_attempt_at`.
pub async fn mark_retry(
    conn: &mut AnyConnection,
    id: i64,
    next_attempt_at: i64,
    error: &str,
) -> AppResult<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'queued', next_attempt_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3",
    )
    .bind(next_attempt_at)
    .bind(error)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Record a permanent failure, keeping the server's answer.
pub async fn mark_failed(conn: &mut AnyConnection, id: i64, error: &str) -> AppResult<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'failed', locked_until = NULL, last_error = $1 WHERE id = $2",
    )
    .bind(error)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Put a failed or waiting mail back at the front of the queue.
pub async fn retry_now(db: &DbPool, id: i64) -> AppResult<bool> {
    let r = sqlx::query(
        "UPDATE outbox SET status = 'queued', next_attempt_at = $1 WHERE id = $2 AND status IN ('queued', 'failed')",
    )
    .bind(now())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Release this worker's claims (at shutdown), so another may send them at once.
pub async fn release(conn: &mut AnyConnection, ids: &[i64]) -> AppResult<()> {
    for id in ids {
        sqlx::query("UPDATE outbox SET status = 'queued', locked_until = NULL, attempts = attempts - 1 WHERE id = $1 AND status = 'sending'")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A mail's delivery state, as shown to admins.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub related_id: Option<i64>,
    pub to_addr: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
}

impl Delivery {
    /// `queued`, `sent`, `retrying` or `failed`.
    pub fn state(&self) -> &'static str {
        match self.status.as_str() {
            "sent" => "sent",
            "failed" => "failed",
            _ if self.last_error.is_some() => "retrying",
            _ => "queued",
        }
    }
}

/// Deliveries of the mails related to `related_type` rows with these ids.
pub async fn deliveries(db: &DbPool, related_type: &str, ids: &[i64]) -> AppResult<Vec<Delivery>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let sql = format!(
        "SELECT id, related_id, to_addr, status, attempts, next_attempt_at, last_error, sent_at FROM outbox \
         WHERE related_type = $1 AND related_id IN ({list}) ORDER BY id"
    );
    Ok(sqlx::query_as(&sql)
        .bind(related_type)
        .fetch_all(&db.pool)
        .await?)
}

/// Counts by state, for the admin dashboard: (queued, retrying, failed).
pub async fn health(db: &DbPool) -> AppResult<(i64, i64, i64)> {
    let row: (i64, i64, i64) = sqlx::query_as(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN status IN ('queued', 'sending') AND last_error IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN status IN ('queued', 'sending') AND last_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM outbox",
    )
    .fetch_one(&db.pool)
    .await?;
    Ok(row)
}
