//! Receiving and processing provider events, once each.
//!
//! Receiving: verify the signature over the raw body (a bad one: 400 and
//! nothing stored), then, in one write transaction, insert the event under
//! its unique (provider, event id) — a duplicate, even one arriving at
//! another process at the same moment, inserts nothing and is answered
//! 200 — and apply it to the attempt and the order. The event record, the
//! attempt's state and the order's state commit together.
//!
//! Processing takes state from the event's object, never from arrival
//! order: an attempt only moves forward (`AttemptState::rank`), a paid
//! order is never unpaid, and an event that cannot be applied yet (a
//! refund before the payment it refunds) is kept as failed and retried by
//! a job until it can, or re-processed by an admin.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Connection};

use super::attempts::{self, advance, Attempt, AttemptState};
use super::provider::{Charge, Event, Session};
use super::{settle, Payments};
use crate::db::{begin_write, now, DbPool};
use crate::error::{AppError, AppResult};
use crate::jobs::{self, JobError, NewJob, Policy, Registry};
use crate::shop::Shop;

/// What processing needs, managed as Rocket state and captured by the jobs.
#[derive(Clone)]
pub struct Env {
    pub db: DbPool,
    pub payments: Arc<Payments>,
    pub shop: Shop,
    pub base_url: String,
}

/// What became of a delivered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Applied now (or kept for a later retry).
    Processed,
    /// Seen before: nothing done again.
    Duplicate,
}

/// How one event was applied.
pub(super) struct Applied {
    pub(super) state: &'static str,
    pub(super) attempt_id: Option<i64>,
}

impl Applied {
    pub(super) fn done(attempt: &Attempt) -> Applied {
        Applied {
            state: "processed",
            attempt_id: Some(attempt.id),
        }
    }
    pub(super) fn ignored(attempt_id: Option<i64>) -> Applied {
        Applied {
            state: "ignored",
            attempt_id,
        }
    }
}

/// The job that retries an event that could not be applied yet.
pub const RETRY_KIND: &str = "payments_event";

#[derive(Debug, Serialize, Deserialize)]
struct RetryJob {
    event_row: i64,
}

const RETRY_POLICY: Policy = Policy {
    max_attempts: 12,
    retry_base: 30.0,
    retry_max: 3600.0,
};

/// A verified webhook from `provider`: store it once and apply it.
/// Errors: 404 for a provider not in use, 400 for a bad signature or body
/// (nothing stored), 5xx when the database fails (the provider retries).
pub async fn receive(
    db: &DbPool,
    env: &Env,
    provider: &str,
    header: Option<&str>,
    body: &[u8],
) -> AppResult<Received> {
    let payments = &env.payments;
    let provider = payments
        .provider_named(provider)
        .ok_or(AppError::NotFound)?
        .clone();
    if let Err(e) = provider.verify(header, body, payments.tolerance, now()) {
        log::warn!("payments: {} webhook refused: {e}", provider.name());
        return Err(AppError::BadRequest(format!("Invalid signature: {e}.")));
    }
    let event = provider
        .parse(body)
        .map_err(|e| AppError::BadRequest(format!("Not an event: {e}.")))?;
    let payload = String::from_utf8_lossy(body);
    store_and_apply(db, env, provider.name(), "webhook", &event, &payload).await
}

/// Store `event` once and apply it in the same transaction (webhooks and
/// reconciliation both come through here).
pub async fn store_and_apply(
    db: &DbPool,
    env: &Env,
    provider: &str,
    source: &str,
    event: &Event,
    payload: &str,
) -> AppResult<Received> {
    let mut tx = begin_write(db).await?;
    let row: Option<i64> = sqlx::query_scalar(
        "INSERT INTO payment_events (provider, event_id, event_type, source, state, payload, received_at) \
         VALUES ($1, $2, $3, $4, 'received', $5, $6) ON CONFLICT (provider, event_id) DO NOTHING RETURNING id",
    )
    .bind(provider)
    .bind(&event.id)
    .bind(&event.kind)
    .bind(source)
    .bind(payload)
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.rollback().await?;
        return Ok(Received::Duplicate);
    };
    let result = apply(&mut tx, env, provider, event).await?;
    record(&mut tx, env, row, result).await?;
    tx.commit().await?;
    Ok(Received::Processed)
}

/// Write what processing an event did on its row; an event that could not
/// be applied yet gets a retry job.
async fn record(
    conn: &mut AnyConnection,
    env: &Env,
    row: i64,
    result: Result<Applied, String>,
) -> AppResult<()> {
    let (state, attempt_id, error) = match result {
        Ok(a) => (a.state, a.attempt_id, String::new()),
        Err(why) => ("failed", None, env.payments.scrub(&why)),
    };
    sqlx::query(
        "UPDATE payment_events SET state = $1, attempt_id = COALESCE($2, attempt_id), error = $3, \
         processed_at = $4 WHERE id = $5",
    )
    .bind(state)
    .bind(attempt_id)
    .bind(&error)
    .bind(now())
    .bind(row)
    .execute(&mut *conn)
    .await?;
    if state == "failed" {
        log::warn!("payments: event row {row} not applied yet: {error}");
        let job = NewJob::new(RETRY_KIND, &RetryJob { event_row: row })?
            .at(now() + 30)
            .unique(&format!("{RETRY_KIND}:{row}"));
        jobs::enqueue(conn, &job).await?;
    }
    Ok(())
}

/// Apply a stored event again (the retry job, and the admin's button):
/// `Ok(true)` when it applied now.
pub async fn reprocess(conn: &mut AnyConnection, env: &Env, row: i64) -> AppResult<bool> {
    let sqlite = conn.backend_name().eq_ignore_ascii_case("sqlite");
    let mut tx = if sqlite {
        conn.begin_with("BEGIN IMMEDIATE").await?
    } else {
        conn.begin().await?
    };
    let found: Option<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT provider, state, payload FROM payment_events WHERE id = $1{}",
        attempts::lock(&tx)
    ))
    .bind(row)
    .fetch_optional(&mut *tx)
    .await?;
    let (provider, state, payload) = found.ok_or(AppError::NotFound)?;
    if state != "failed" {
        return Ok(true);
    }
    let event = Event::parse(payload.as_bytes()).map_err(AppError::Internal)?;
    let result = apply(&mut tx, env, &provider, &event).await?;
    let applied = result.is_ok();
    let (state, attempt_id, error) = match result {
        Ok(a) => (a.state, a.attempt_id, String::new()),
        Err(why) => ("failed", None, env.payments.scrub(&why)),
    };
    sqlx::query(
        "UPDATE payment_events SET state = $1, attempt_id = COALESCE($2, attempt_id), error = $3, \
         processed_at = $4 WHERE id = $5",
    )
    .bind(state)
    .bind(attempt_id)
    .bind(&error)
    .bind(now())
    .bind(row)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(applied)
}

/// Register the retry job for events that could not be applied yet.
pub fn register_jobs(registry: &Registry, env: &Env) {
    let env = env.clone();
    registry.register(RETRY_KIND, RETRY_POLICY, move |conn, job| {
        let env = env.clone();
        Box::pin(async move {
            let input: RetryJob = job.payload().map_err(JobError::permanent)?;
            match reprocess(conn, &env, input.event_row).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(JobError::retry("the event still cannot be applied")),
                Err(AppError::NotFound) => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
    });
}

/// Apply one event inside the caller's transaction. The outer error is a
/// database failure (roll back: the provider will deliver again); the
/// inner one says why the event cannot be applied (yet).
async fn apply(
    conn: &mut AnyConnection,
    env: &Env,
    provider: &str,
    event: &Event,
) -> AppResult<Result<Applied, String>> {
    match event.kind.as_str() {
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.async_payment_failed"
        | "checkout.session.expired" => {
            let session = Session::from_object(&event.object);
            let Some(attempt) = settle::find_by_session(conn, provider, &session).await? else {
                return Ok(Err(format!(
                    "no payment attempt matches session {}",
                    session.id
                )));
            };
            let to = match event.kind.as_str() {
                "checkout.session.async_payment_failed" => AttemptState::Failed,
                "checkout.session.expired" => AttemptState::Expired,
                _ if session.is_paid() => AttemptState::Succeeded,
                _ => AttemptState::Pending,
            };
            if to == AttemptState::Succeeded {
                settle::settle_paid(conn, env, &attempt, &session)
                    .await
                    .map(Ok)
            } else {
                let moved = advance(conn, &attempt, to, None).await?;
                Ok(Ok(if moved {
                    Applied::done(&attempt)
                } else {
                    Applied::ignored(Some(attempt.id))
                }))
            }
        }
        "charge.refunded" => {
            let charge = Charge::from_object(&event.object);
            let Some(attempt) =
                settle::find_by_payment(conn, provider, &charge.payment_ref).await?
            else {
                return Ok(Err(format!(
                    "no settled payment matches {} yet",
                    charge.payment_ref
                )));
            };
            if !attempt.state().is_paid() {
                return Ok(Err(format!(
                    "payment {} is refunded but its success has not arrived yet",
                    charge.payment_ref
                )));
            }
            super::refunds::settle_refunded(conn, env, &attempt, charge.amount_refunded)
                .await
                .map(|_| Ok(Applied::done(&attempt)))
        }
        "refund.updated" | "refund.created" | "refund.failed" => {
            let id = event.object["id"].as_str().unwrap_or("");
            let status = event.object["status"].as_str().unwrap_or("");
            super::refunds::settle_refund_status(conn, env, id, status).await?;
            Ok(Ok(Applied::ignored(None).with_state("processed")))
        }
        // Acknowledged and ignored.
        _ => Ok(Ok(Applied::ignored(None))),
    }
}

impl Applied {
    fn with_state(mut self, state: &'static str) -> Applied {
        self.state = state;
        self
    }
}
