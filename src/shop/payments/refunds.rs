//! Refunds: an admin refunds a paid order fully or in part. The refund
//! form carries a random key, stored unique with the refund and sent to
//! the provider as its `Idempotency-Key`, so a double submit (or a retry
//! after a timeout) refunds once. The order shows refunded or partly
//! refunded when the provider confirms: at once when it answers
//! "succeeded", or later by webhook (`refund.updated`, `charge.refunded`).
//!
//! A refund is of an amount, or of particular lines (how many of each):
//! then the amount is the lines' prices on the order, computed here, and
//! no line is refunded more times than it was bought (refunds asked for,
//! pending or done all count). Restocking goes with a refund of lines
//! (those quantities) or with a refund of everything left (what no
//! earlier refund of lines put back).

use sqlx::AnyConnection;

use super::attempts::{self, Attempt, AttemptState, COLUMNS};
use super::provider::{ProviderError, RefundRequest};
use super::refund_lines::{amount_of_lines, refundable_lines, restock_refunded};
use super::webhook::Env;
use crate::db::{begin_write, now, DbPool};
use crate::error::AppResult;
use crate::shop::orders::{self, Change};
use crate::shop::state::{may_transition, OrderState};

/// A refund an admin asks for.
#[derive(Debug)]
pub struct RefundInput<'a> {
    pub order_id: i64,
    /// The amount, for a refund that is not of lines.
    pub amount: i64,
    /// (order line id, quantity): when not empty, the refund is of these
    /// and its amount their prices.
    pub lines: Vec<(i64, i64)>,
    /// Put the items back in stock: the lines refunded, or (with no lines)
    /// the whole order, only with everything that is left.
    pub restock: bool,
    /// The form's one-time key.
    pub key: &'a str,
    pub actor: &'a str,
}

/// What asking for a refund did.
#[derive(Debug, PartialEq, Eq)]
pub enum Refunded {
    /// The provider confirmed it.
    Done,
    /// The provider accepted it; a webhook will confirm it.
    Pending,
    /// This form was submitted before: nothing was refunded again.
    AlreadyRequested,
    /// Not possible, with the reason in words.
    Refused(String),
    /// The provider could not be reached: nothing was refunded; the same
    /// form may be sent again.
    Unavailable,
}

/// The settled attempt of order `order_id`, locked.
async fn paid_attempt(conn: &mut AnyConnection, order_id: i64) -> AppResult<Option<Attempt>> {
    let lock = attempts::lock(conn);
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payment_attempts WHERE order_id = $1 \
         AND state IN ('succeeded', 'partially_refunded', 'refunded') ORDER BY id DESC LIMIT 1{lock}"
    ))
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Refund part or all of an order's payment; the amount refunded (or
/// asked for) with what happened.
pub async fn request(
    db: &DbPool,
    env: &Env,
    input: &RefundInput<'_>,
) -> AppResult<(Refunded, i64)> {
    let mut amount = input.amount;
    let outcome = request_amount(db, env, input, &mut amount).await?;
    Ok((outcome, amount))
}

async fn request_amount(
    db: &DbPool,
    env: &Env,
    input: &RefundInput<'_>,
    amount: &mut i64,
) -> AppResult<Refunded> {
    let Some(provider) = env.payments.provider.clone() else {
        return Ok(Refunded::Refused(
            "Online payment is off on this site.".into(),
        ));
    };
    let mut tx = begin_write(db).await?;
    let Some(attempt) = paid_attempt(&mut tx, input.order_id).await? else {
        return Ok(Refunded::Refused(
            "This order has no settled online payment to refund.".into(),
        ));
    };
    if attempt.provider != provider.name() {
        return Ok(Refunded::Refused(format!(
            "This order was paid with {}, which is no longer configured.",
            attempt.provider
        )));
    }
    let existing: Option<(i64, String)> =
        sqlx::query_as("SELECT id, state FROM payment_refunds WHERE idem_key = $1")
            .bind(input.key)
            .fetch_optional(&mut *tx)
            .await?;
    let committed: i64 = sqlx::query_scalar(
        "SELECT COALESCE(CAST(SUM(amount) AS BIGINT), 0) FROM payment_refunds \
         WHERE attempt_id = $1 AND state IN ('requested', 'pending', 'succeeded') AND idem_key <> $2",
    )
    .bind(attempt.id)
    .bind(input.key)
    .fetch_one(&mut *tx)
    .await?;
    let left = attempt.amount - committed.max(attempt.refunded);
    if left <= 0 {
        return Ok(Refunded::Refused(
            "Everything paid for this order is refunded or being refunded.".into(),
        ));
    }
    if !input.lines.is_empty() {
        let lines = refundable_lines(&mut tx, input.order_id, input.key).await?;
        match amount_of_lines(&lines, &input.lines) {
            Ok(a) => *amount = a,
            Err(why) => return Ok(Refunded::Refused(why)),
        }
        if *amount > left {
            return Ok(Refunded::Refused(format!(
                "Those items come to {}, more than the {} left to refund.",
                env.shop.money(*amount),
                env.shop.money(left)
            )));
        }
    }
    let amount = *amount;
    if amount < 1 || amount > left {
        return Ok(Refunded::Refused(format!(
            "The amount must be between {} and {}.",
            env.shop.money(1),
            env.shop.money(left)
        )));
    }
    if input.restock && input.lines.is_empty() && amount != left {
        return Ok(Refunded::Refused(
            "Restocking goes with a refund of items, or of everything that is left.".into(),
        ));
    }
    let row = match existing {
        Some((_, state)) if state != "failed" => return Ok(Refunded::AlreadyRequested),
        Some((id, _)) => {
            // A failed try may be sent again; the provider sees the same key.
            sqlx::query("UPDATE payment_refunds SET state = 'requested', amount = $1, restock = $2, error = '', updated_at = $3 WHERE id = $4")
                .bind(amount)
                .bind(i64::from(input.restock))
                .bind(now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            id
        }
        None => {
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO payment_refunds (attempt_id, idem_key, amount, restock, state, actor, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'requested', $5, $6, $6) ON CONFLICT (idem_key) DO NOTHING RETURNING id",
            )
            .bind(attempt.id)
            .bind(input.key)
            .bind(amount)
            .bind(i64::from(input.restock))
            .bind(input.actor)
            .bind(now())
            .fetch_optional(&mut *tx)
            .await?;
            match inserted {
                Some(id) => id,
                None => return Ok(Refunded::AlreadyRequested),
            }
        }
    };
    sqlx::query("DELETE FROM payment_refund_lines WHERE refund_id = $1")
        .bind(row)
        .execute(&mut *tx)
        .await?;
    for (line, quantity) in input.lines.iter().filter(|(_, q)| *q > 0) {
        sqlx::query(
            "INSERT INTO payment_refund_lines (refund_id, line_id, quantity) VALUES ($1, $2, $3)",
        )
        .bind(row)
        .bind(line)
        .bind(quantity)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let asked = RefundRequest {
        payment_ref: &attempt.payment_ref,
        amount,
        idempotency_key: format!("groundwork-refund-{}", input.key),
        attempt_id: attempt.id,
    };
    let reply = provider.refund(&asked).await;
    let mut tx = begin_write(db).await?;
    let outcome = match reply {
        Ok(reply) => {
            sqlx::query(
                "UPDATE payment_refunds SET provider_ref = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(&reply.reference)
            .bind(now())
            .bind(row)
            .execute(&mut *tx)
            .await?;
            match reply.status.as_str() {
                "succeeded" => {
                    confirm(&mut tx, env, row).await?;
                    Refunded::Done
                }
                "failed" | "canceled" => {
                    mark(&mut tx, row, "failed", "the provider refused the refund").await?;
                    Refunded::Refused("The payment provider refused the refund.".into())
                }
                _ => {
                    mark(&mut tx, row, "pending", "").await?;
                    Refunded::Pending
                }
            }
        }
        Err(e) => {
            let message = env.payments.scrub(&e.to_string());
            log::warn!("payments: refund of order {}: {message}", input.order_id);
            mark(&mut tx, row, "failed", &message).await?;
            match e {
                ProviderError::Unavailable(_) => Refunded::Unavailable,
                ProviderError::Rejected(m) => Refunded::Refused(format!(
                    "The payment provider refused the refund: {}",
                    env.payments.scrub(&m)
                )),
            }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn mark(conn: &mut AnyConnection, row: i64, state: &str, error: &str) -> AppResult<()> {
    sqlx::query("UPDATE payment_refunds SET state = $1, error = $2, updated_at = $3 WHERE id = $4 AND state <> 'succeeded'")
        .bind(state)
        .bind(error)
        .bind(now())
        .bind(row)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The provider confirmed refund `row`: record it once, restock if asked,
/// and bring the attempt's and the order's refunded totals up to date.
async fn confirm(conn: &mut AnyConnection, env: &Env, row: i64) -> AppResult<()> {
    let done = sqlx::query(
        "UPDATE payment_refunds SET state = 'succeeded', error = '', updated_at = $1 WHERE id = $2 AND state <> 'succeeded'",
    )
    .bind(now())
    .bind(row)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(());
    }
    let (attempt_id, restock): (i64, i64) =
        sqlx::query_as("SELECT attempt_id, restock FROM payment_refunds WHERE id = $1")
            .bind(row)
            .fetch_one(&mut *conn)
            .await?;
    let lock = attempts::lock(conn);
    let attempt: Attempt = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payment_attempts WHERE id = $1{lock}"
    ))
    .bind(attempt_id)
    .fetch_one(&mut *conn)
    .await?;
    if restock == 1 {
        restock_refunded(conn, row, attempt.order_id).await?;
    }
    let total: i64 = sqlx::query_scalar(
        "SELECT COALESCE(CAST(SUM(amount) AS BIGINT), 0) FROM payment_refunds WHERE attempt_id = $1 AND state = 'succeeded'",
    )
    .bind(attempt_id)
    .fetch_one(&mut *conn)
    .await?;
    settle_refunded(conn, env, &attempt, total).await
}

/// A refund's new status from the provider (`refund.updated`).
pub async fn settle_refund_status(
    conn: &mut AnyConnection,
    env: &Env,
    provider_ref: &str,
    status: &str,
) -> AppResult<()> {
    if provider_ref.is_empty() {
        return Ok(());
    }
    let row: Option<i64> =
        sqlx::query_scalar("SELECT id FROM payment_refunds WHERE provider_ref = $1")
            .bind(provider_ref)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else {
        // A refund made in the provider's dashboard: `charge.refunded`
        // carries its amount.
        return Ok(());
    };
    match status {
        "succeeded" => confirm(conn, env, row).await,
        "failed" | "canceled" => {
            mark(
                conn,
                row,
                "failed",
                "the provider reports the refund failed",
            )
            .await
        }
        _ => Ok(()),
    }
}

/// The provider says `total` of `attempt`'s payment is refunded by now
/// (a total, never an increment, so a repeated or late report changes
/// nothing): the attempt and the order become partly or fully refunded.
pub async fn settle_refunded(
    conn: &mut AnyConnection,
    env: &Env,
    attempt: &Attempt,
    total: i64,
) -> AppResult<()> {
    if total <= attempt.refunded || !attempt.state().is_paid() {
        return Ok(());
    }
    let (to, order_to) = if total >= attempt.amount {
        (AttemptState::Refunded, OrderState::Refunded)
    } else {
        (
            AttemptState::PartiallyRefunded,
            OrderState::PartiallyRefunded,
        )
    };
    sqlx::query(
        "UPDATE payment_attempts SET refunded = $1, state = $2, updated_at = $3 WHERE id = $4 AND refunded < $1",
    )
    .bind(total)
    .bind(to.as_str())
    .bind(now())
    .bind(attempt.id)
    .execute(&mut *conn)
    .await?;
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM shop_orders WHERE id = $1")
        .bind(attempt.order_id)
        .fetch_optional(&mut *conn)
        .await?;
    let from = state
        .as_deref()
        .and_then(OrderState::parse)
        .unwrap_or(OrderState::Cancelled);
    if from != order_to && may_transition(from, order_to) {
        let note = format!("{} refunded in all.", env.shop.money(total));
        let change = Change {
            to: order_to,
            actor: "payments",
            note: &note,
            tracking: None,
        };
        orders::apply(
            conn,
            &env.base_url,
            Some(&env.shop),
            attempt.order_id,
            &change,
        )
        .await?;
    }
    Ok(())
}
