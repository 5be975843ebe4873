//! The job that expires an order not paid in time, releasing its stock.

use serde::{Deserialize, Serialize};
use sqlx::Connection;

use super::orders::{apply, Change, EXPIRE_KIND};
use super::state::OrderState;
use crate::jobs::{JobError, Policy, Registry};

/// The expiry job's input.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExpireJob {
    pub order_id: i64,
}

const EXPIRE_POLICY: Policy = Policy {
    max_attempts: 10,
    retry_base: 10.0,
    retry_max: 600.0,
};

/// Register the expiry job: an order still waiting for payment when its
/// time is up expires and its stock is released; any other state means it
/// was paid or cancelled meanwhile, and the job does nothing.
pub fn register_jobs(registry: &Registry) {
    registry.register(EXPIRE_KIND, EXPIRE_POLICY, |conn, job| {
        Box::pin(async move {
            let input: ExpireJob = serde_json::from_str(&job.payload)
                .map_err(|e| JobError::permanent(format!("bad payload: {e}")))?;
            let sqlite = conn.backend_name().eq_ignore_ascii_case("sqlite");
            let mut tx = if sqlite {
                conn.begin_with("BEGIN IMMEDIATE").await?
            } else {
                conn.begin().await?
            };
            let state: Option<String> =
                sqlx::query_scalar("SELECT state FROM shop_orders WHERE id = $1")
                    .bind(input.order_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if state.as_deref() != Some(OrderState::PendingPayment.as_str()) {
                return Ok(());
            }
            let change = Change {
                to: OrderState::Expired,
                actor: "system",
                note: "Not paid in time; stock released.",
                tracking: None,
            };
            apply(&mut tx, "", None, input.order_id, &change).await?;
            tx.commit().await?;
            Ok(())
        })
    });
}
