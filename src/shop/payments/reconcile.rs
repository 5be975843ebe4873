//! Reconciliation: a recurring job reads back from the provider every
//! attempt that has waited longer than `payments.reconcile_after` for its
//! webhook, in case one was lost, and applies what it finds through the
//! same processing as a webhook (recorded as an event of its own, keyed
//! by what was found, so it is applied once). When the provider cannot be
//! reached the attempt is tried again later with exponential backoff;
//! nothing is dropped.

use serde_json::json;
use sqlx::AnyConnection;

use super::attempts::{Attempt, COLUMNS};
use super::provider::{Event, ProviderError, Session};
use super::webhook::{self, Env};
use crate::db::now;
use crate::jobs::{JobError, Policy, Registry};

/// The job's kind.
pub const KIND: &str = "payments_reconcile";

const POLICY: Policy = Policy {
    max_attempts: 3,
    retry_base: 30.0,
    retry_max: 600.0,
};

/// Attempts looked at per run.
const BATCH: i64 = 50;

/// Longest wait between two reads of one attempt while its provider is down.
const MAX_BACKOFF: i64 = 3600;

/// Seconds to wait before reading an attempt again after `checks`
/// failures: `base`, doubling, at most an hour.
pub fn backoff(base: i64, checks: i64) -> i64 {
    (base.max(1) << checks.clamp(0, 12)).min(MAX_BACKOFF)
}

/// Register the recurring job, every `interval` seconds.
pub fn register_jobs(registry: &Registry, env: &Env, interval: i64) {
    let env = env.clone();
    registry.recurring(KIND, interval, POLICY, move |conn, _job| {
        let env = env.clone();
        Box::pin(async move { run(conn, &env).await })
    });
}

/// One pass: read back each waiting attempt and settle what has settled.
pub async fn run(conn: &mut AnyConnection, env: &Env) -> Result<(), JobError> {
    let Some(provider) = env.payments.provider.clone() else {
        return Ok(());
    };
    let t = now();
    let due: Vec<Attempt> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payment_attempts WHERE provider = $1 AND state IN ('created', 'pending') \
         AND provider_ref <> '' AND updated_at <= $2 AND next_check_at <= $3 ORDER BY id LIMIT $4"
    ))
    .bind(provider.name())
    .bind(t - env.payments.reconcile_after)
    .bind(t)
    .bind(BATCH)
    .fetch_all(&mut *conn)
    .await?;
    for attempt in due {
        match provider.fetch(&attempt.provider_ref).await {
            Ok(session) => {
                settle(env, provider.name(), &attempt, &session).await?;
                sqlx::query(
                    "UPDATE payment_attempts SET checks = 0, next_check_at = $1 WHERE id = $2",
                )
                .bind(now() + env.payments.reconcile_after)
                .bind(attempt.id)
                .execute(&mut *conn)
                .await?;
            }
            Err(e) => {
                let message = env.payments.scrub(&e.to_string());
                log::warn!("payments: reconciling attempt {}: {message}", attempt.id);
                let permanent = matches!(e, ProviderError::Rejected(_));
                let checks: i64 =
                    sqlx::query_scalar("SELECT checks FROM payment_attempts WHERE id = $1")
                        .bind(attempt.id)
                        .fetch_one(&mut *conn)
                        .await?;
                let wait = if permanent {
                    MAX_BACKOFF
                } else {
                    backoff(env.payments.reconcile_backoff, checks)
                };
                sqlx::query(
                    "UPDATE payment_attempts SET checks = checks + 1, last_error = $1, next_check_at = $2 \
                     WHERE id = $3",
                )
                .bind(&message)
                .bind(now() + wait)
                .bind(attempt.id)
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

/// Apply what the provider reports, as the event its webhook would have
/// been; a session still open (or paid for nothing yet) changes nothing.
async fn settle(env: &Env, provider: &str, attempt: &Attempt, s: &Session) -> Result<(), JobError> {
    let kind = if s.status == "expired" {
        "checkout.session.expired"
    } else if s.is_paid() {
        "checkout.session.completed"
    } else if s.status == "complete" && attempt.state == "created" {
        // Paid by an asynchronous method that has not settled yet.
        "checkout.session.completed"
    } else {
        return Ok(());
    };
    let object = json!({
        "id": s.id,
        "object": "checkout.session",
        "status": s.status,
        "payment_status": s.payment_status,
        "amount_total": s.amount_total,
        "currency": s.currency,
        "payment_intent": s.payment_ref,
        "client_reference_id": s.order_id.map(|i| i.to_string()),
        "metadata": {"attempt_id": s.attempt_id.map(|i| i.to_string())},
    });
    let event = Event {
        id: format!("reconcile:{}:{}:{}", s.id, s.status, s.payment_status),
        kind: kind.into(),
        object: object.clone(),
    };
    let payload = json!({"id": event.id, "type": kind, "data": {"object": object}}).to_string();
    webhook::store_and_apply(&env.db, env, provider, "reconciliation", &event, &payload).await?;
    Ok(())
}
