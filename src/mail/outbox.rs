//! The outbox table: what was submitted, and when it was sent. Delivery
//! itself is a job of kind [`KIND`] (see `crate::jobs`), which carries the
//! attempts, the next try and the last error.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::Email;
use crate::db::{now, DbPool};
use crate::error::AppResult;
use crate::jobs::{self, NewJob};

/// The job kind that delivers mail.
pub const KIND: &str = "mail";

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

/// The job that delivers outbox row `outbox_id`.
#[derive(Debug, Serialize, Deserialize)]
pub struct MailJob {
    pub outbox_id: i64,
}

/// Queue `email` on the caller's connection or transaction, so it is
/// committed together with what caused it: the outbox row (what is sent)
/// and the job that delivers it. Returns the outbox id.
pub async fn enqueue(
    conn: &mut AnyConnection,
    base_url: &str,
    email: &Email,
    related: Related<'_>,
) -> AppResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO outbox (message_id, template, to_addr, reply_to, subject, text_body, html_body, \
         related_type, related_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(new_message_id(base_url))
    .bind(email.template)
    .bind(&email.to)
    .bind(email.reply_to.as_deref())
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(related.map(|r| r.0))
    .bind(related.map(|r| r.1))
    .bind(now())
    .fetch_one(&mut *conn)
    .await?;
    let job = jobs::enqueue(&mut *conn, &NewJob::new(KIND, &MailJob { outbox_id: id })?).await?;
    sqlx::query("UPDATE outbox SET job_id = $1 WHERE id = $2")
        .bind(job)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// A mail as its delivery job reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Outgoing {
    pub id: i64,
    pub message_id: String,
    pub to_addr: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub sent_at: Option<i64>,
}

/// Outbox row `id`, if it is still there.
pub async fn load(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Outgoing>> {
    Ok(sqlx::query_as(
        "SELECT id, message_id, to_addr, reply_to, subject, text_body, html_body, sent_at FROM outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Record a delivery.
pub async fn mark_sent(conn: &mut AnyConnection, id: i64) -> AppResult<()> {
    sqlx::query("UPDATE outbox SET sent_at = $1 WHERE id = $2")
        .bind(now())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Put a failed or waiting mail back at the front of the queue (a failed
/// one gets a fresh set of attempts). False when it was sent or is being
/// sent right now.
pub async fn retry_now(db: &DbPool, id: i64) -> AppResult<bool> {
    let job: Option<Option<i64>> =
        sqlx::query_scalar("SELECT job_id FROM outbox WHERE id = $1 AND sent_at IS NULL")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?;
    match job.flatten() {
        Some(job) => jobs::queue::retry_now(db, job).await,
        None => Ok(false),
    }
}

/// A mail's delivery state, as shown to admins: the outbox row with its
/// delivery job's attempts, next try and last error.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub related_id: Option<i64>,
    pub to_addr: String,
    /// `sent`, `failed`, `sending` or `queued`.
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
    let list = crate::db::id_list(ids);
    let sql = format!(
        "SELECT o.id, o.related_id, o.to_addr, \
           CASE WHEN o.sent_at IS NOT NULL THEN 'sent' WHEN j.state = 'dead' THEN 'failed' \
                WHEN j.state = 'running' THEN 'sending' ELSE 'queued' END AS status, \
           COALESCE(j.attempts, 0) AS attempts, COALESCE(j.run_at, o.created_at) AS next_attempt_at, \
           j.last_error, o.sent_at \
         FROM outbox o LEFT JOIN jobs j ON j.id = o.job_id \
         WHERE o.related_type = $1 AND o.related_id IN ({list}) ORDER BY o.id"
    );
    Ok(sqlx::query_as(&sql)
        .bind(related_type)
        .fetch_all(&db.pool)
        .await?)
}

/// The mail queue's counts by state, as one row (`mail_queued`,
/// `mail_retrying`, `mail_failed`), for a page that asks them together with
/// others in one round trip (the admin dashboard).
pub fn health_sql() -> String {
    format!(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN state IN ('queued', 'running') AND last_error IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS mail_queued, \
           CAST(COALESCE(SUM(CASE WHEN state IN ('queued', 'running') AND last_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS mail_retrying, \
           CAST(COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0) AS BIGINT) AS mail_failed \
         FROM jobs WHERE kind = '{KIND}'"
    )
}
