//! The hourly clean-up: rows that have served their purpose. Plain SQL on
//! the tables' names, so this module needs none of the features that own
//! them.

use sqlx::AnyConnection;

use super::JobsConfig;
use crate::config::AppConfig;
use crate::db::now;

/// The job kind.
pub const KIND: &str = "prune";

const DAY: i64 = 24 * 3600;

/// How long each kind of row is kept, from the settings.
#[derive(Debug, Clone)]
pub struct Retention {
    /// Days a sent mail stays in the outbox (0: forever).
    pub sent_mail_days: i64,
    /// Days a contact message is kept (0: forever).
    pub contact_days: i64,
    /// Days a finished job stays on record (0: forever).
    pub done_job_days: i64,
    /// Seconds a session may sit unused; the same for "remember me".
    pub session_idle: i64,
    pub session_remember: i64,
    /// Rate-limit events older than this many seconds count for nothing.
    pub rate_limit_window: i64,
}

impl Retention {
    /// The retention the settings ask for.
    pub fn new(jobs: &JobsConfig, app: &AppConfig) -> Retention {
        Retention {
            sent_mail_days: jobs.sent_mail_retention_days,
            contact_days: jobs.contact_retention_days,
            done_job_days: jobs.done_job_retention_days,
            session_idle: app.session_idle_timeout,
            session_remember: app.session_remember_timeout,
            // The longest window any limit uses is an hour, or the sign-in
            // failure window when that is longer; keep a day to be safe.
            rate_limit_window: app.login_failure_window.max(DAY),
        }
    }
}

/// Delete what `r` says is no longer needed; returns how many rows went.
pub async fn run(conn: &mut AnyConnection, r: &Retention) -> Result<u64, sqlx::Error> {
    let t = now();
    let mut deleted = 0;
    // Sessions past their absolute expiry, or idle beyond the timeout (as
    // the session guard decides it for browser sessions).
    deleted += sqlx::query(
        "DELETE FROM sessions WHERE expires_at <= $1 \
         OR (kind = 'web' AND remember = 0 AND last_seen_at <= $2) \
         OR (kind = 'web' AND remember <> 0 AND last_seen_at <= $3)",
    )
    .bind(t)
    .bind(t - r.session_idle)
    .bind(t - r.session_remember)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    deleted += sqlx::query("DELETE FROM email_tokens WHERE expires_at <= $1")
        .bind(t)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    deleted += sqlx::query("DELETE FROM rate_limit_events WHERE created_at <= $1")
        .bind(t - r.rate_limit_window)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if r.contact_days > 0 {
        deleted += sqlx::query("DELETE FROM contact_messages WHERE created_at < $1")
            .bind(t - r.contact_days * DAY)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    if r.sent_mail_days > 0 {
        deleted += sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1")
            .bind(t - r.sent_mail_days * DAY)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    if r.done_job_days > 0 {
        deleted += sqlx::query("DELETE FROM jobs WHERE state = 'done' AND updated_at < $1")
            .bind(t - r.done_job_days * DAY)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    if deleted > 0 {
        // Contact messages and jobs are counted on the admin's dashboard.
        crate::events::publish_in(conn, crate::events::COUNTS, "prune").await?;
    }
    Ok(deleted)
}
