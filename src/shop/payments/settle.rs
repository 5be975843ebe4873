//! Applying what a provider reports to an attempt and its order: finding
//! the attempt an event is about, and settling a payment that arrived —
//! paid when the amount and currency are the order's and the order still
//! waits, flagged for an admin otherwise.

use sqlx::AnyConnection;

use super::attempts::{self, advance, Attempt, AttemptState, COLUMNS};
use super::provider::Session;
use super::webhook::{Applied, Env};
use crate::error::AppResult;
use crate::shop::orders::{self, Change};
use crate::shop::state::{may_transition, OrderState};

/// The attempt a Checkout Session event is about.
pub async fn find_by_session(
    conn: &mut AnyConnection,
    provider: &str,
    s: &Session,
) -> AppResult<Option<Attempt>> {
    if s.id.is_empty() {
        return Ok(None);
    }
    // By the session id we stored, or (when the answer to "create" was
    // lost before we stored it) by the attempt id we put in its metadata.
    let lock = attempts::lock(conn);
    let found: Option<Attempt> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payment_attempts WHERE provider = $1 \
         AND (provider_ref = $2 OR (provider_ref = '' AND id = $3 AND order_id = $4)) \
         ORDER BY id LIMIT 1{lock}"
    ))
    .bind(provider)
    .bind(&s.id)
    .bind(s.attempt_id.unwrap_or(0))
    .bind(s.order_id.unwrap_or(0))
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(a) = &found {
        if a.provider_ref.is_empty() {
            sqlx::query("UPDATE payment_attempts SET provider_ref = $1 WHERE id = $2")
                .bind(&s.id)
                .bind(a.id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(found)
}

/// The attempt whose payment is `payment_ref`.
pub async fn find_by_payment(
    conn: &mut AnyConnection,
    provider: &str,
    payment_ref: &str,
) -> AppResult<Option<Attempt>> {
    if payment_ref.is_empty() {
        return Ok(None);
    }
    let lock = attempts::lock(conn);
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payment_attempts WHERE provider = $1 AND payment_ref = $2 \
         ORDER BY id LIMIT 1{lock}"
    ))
    .bind(provider)
    .bind(payment_ref)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Money arrived for `attempt`: the attempt succeeds, and the order is
/// paid when the amount and currency are the order's and the order is
/// still waiting; anything else is flagged for an admin, never paid.
pub async fn settle_paid(
    conn: &mut AnyConnection,
    env: &Env,
    attempt: &Attempt,
    s: &Session,
) -> AppResult<Applied> {
    if attempt.state().is_paid() {
        return Ok(Applied::ignored(Some(attempt.id)));
    }
    let order: Option<(String, i64, String)> =
        sqlx::query_as("SELECT state, total, currency FROM shop_orders WHERE id = $1")
            .bind(attempt.order_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((order_state, total, currency)) = order else {
        return Ok(Applied::ignored(Some(attempt.id)));
    };
    let amount_ok = s.amount_total == Some(total)
        && s.currency.eq_ignore_ascii_case(&currency)
        && attempt.amount == total;
    if !amount_ok {
        let why = format!(
            "amount mismatch: the provider reports {} {} for an order of {} {}; not taken as payment",
            s.amount_total.map_or("no amount".into(), |a| a.to_string()),
            s.currency.to_uppercase(),
            total,
            currency
        );
        attempts::flag(conn, attempt.id, &why).await?;
        return Ok(Applied {
            state: "flagged",
            attempt_id: Some(attempt.id),
        });
    }
    let before = attempt.state();
    advance(conn, attempt, AttemptState::Succeeded, Some(&s.payment_ref)).await?;
    let order_state = OrderState::parse(&order_state).unwrap_or(OrderState::Cancelled);
    if order_state == OrderState::PendingPayment {
        let note = format!("Paid online ({}, {}).", attempt.provider, s.payment_ref);
        let change = Change {
            to: OrderState::Paid,
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
    } else if !may_transition(order_state, OrderState::Paid) {
        let why = if matches!(order_state, OrderState::Cancelled | OrderState::Expired) {
            format!(
                "paid after the order was {}: refund it or re-open the order",
                order_state.as_str()
            )
        } else {
            format!(
                "a second payment for an order already {}: refund one of them",
                order_state.as_str()
            )
        };
        attempts::flag(conn, attempt.id, &why).await?;
        return Ok(Applied {
            state: "flagged",
            attempt_id: Some(attempt.id),
        });
    }
    if before == AttemptState::Expired {
        attempts::flag(conn, attempt.id, "paid after its payment page had expired").await?;
    }
    Ok(Applied::done(attempt))
}
