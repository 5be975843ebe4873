//! Payment attempts: their states (which only ever move forward) and
//! starting a payment from the order page without ever making two hosted
//! payments for one click, one reload or one retry.

use serde::Serialize;
use sqlx::AnyConnection;

use super::provider::{NewPayment, ProviderError};
use super::webhook::Env;
use crate::db::{now, DbPool};
use crate::error::AppResult;
use crate::shop::orders::Order;
use crate::shop::state::OrderState;

/// Where an attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptState {
    Created,
    Pending,
    Succeeded,
    Failed,
    Expired,
    PartiallyRefunded,
    Refunded,
}

impl AttemptState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptState::Created => "created",
            AttemptState::Pending => "pending",
            AttemptState::Succeeded => "succeeded",
            AttemptState::Failed => "failed",
            AttemptState::Expired => "expired",
            AttemptState::PartiallyRefunded => "partially_refunded",
            AttemptState::Refunded => "refunded",
        }
    }

    /// The state a stored name stands for (unknown: failed).
    pub fn parse(s: &str) -> AttemptState {
        use AttemptState::*;
        [
            Created,
            Pending,
            Succeeded,
            Failed,
            Expired,
            PartiallyRefunded,
            Refunded,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .unwrap_or(Failed)
    }

    /// How far along: a state is only ever replaced by a later one, so a
    /// late or reordered event can never move an attempt backwards.
    /// Failed and expired are both final for an unpaid attempt; money that
    /// arrives after either still counts (and is flagged for an admin).
    pub fn rank(self) -> u8 {
        match self {
            AttemptState::Created => 0,
            AttemptState::Pending => 1,
            AttemptState::Failed | AttemptState::Expired => 2,
            AttemptState::Succeeded => 3,
            AttemptState::PartiallyRefunded => 4,
            AttemptState::Refunded => 5,
        }
    }

    /// Whether money was taken.
    pub fn is_paid(self) -> bool {
        self.rank() >= 3
    }
}

/// A stored attempt.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Attempt {
    pub id: i64,
    pub order_id: i64,
    pub provider: String,
    pub state: String,
    pub provider_ref: String,
    pub payment_ref: String,
    pub url: String,
    pub amount: i64,
    pub currency: String,
    pub refunded: i64,
    pub flag: String,
    pub last_error: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Attempt {
    /// Its state.
    pub fn state(&self) -> AttemptState {
        AttemptState::parse(&self.state)
    }
}

/// The columns of [`Attempt`].
pub const COLUMNS: &str = "id, order_id, provider, state, provider_ref, payment_ref, url, amount, \
     currency, refunded, flag, last_error, created_at, updated_at";

/// ` FOR UPDATE` on Postgres (SQLite's write transactions already hold
/// the whole database).
pub fn lock(conn: &AnyConnection) -> &'static str {
    if conn.backend_name().eq_ignore_ascii_case("postgres") {
        " FOR UPDATE"
    } else {
        ""
    }
}

/// The attempts of an order, newest first.
pub async fn of_order(db: &DbPool, order_id: i64) -> AppResult<Vec<Attempt>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payment_attempts WHERE order_id = $1 ORDER BY id DESC"
    ))
    .bind(order_id)
    .fetch_all(&db.pool)
    .await?)
}

/// The newest attempts of every order (the admin's list).
pub async fn recent(db: &DbPool, limit: i64) -> AppResult<Vec<Attempt>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payment_attempts ORDER BY id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

/// Move attempt `id` to `to` when that is forward from `from` (the state
/// the caller read under its lock); returns whether it moved.
pub async fn advance(
    conn: &mut AnyConnection,
    attempt: &Attempt,
    to: AttemptState,
    payment_ref: Option<&str>,
) -> AppResult<bool> {
    if to.rank() <= attempt.state().rank() {
        return Ok(false);
    }
    // An attempt that reached any final state no longer blocks a new one;
    // a pending one stays the order's open attempt, so the customer is
    // told the payment is being confirmed rather than offered another.
    let done = sqlx::query(
        "UPDATE payment_attempts SET state = $1, updated_at = $2, \
         open_for = CASE WHEN $1 = 'pending' THEN open_for ELSE NULL END, \
         payment_ref = CASE WHEN $3 = '' THEN payment_ref ELSE $3 END \
         WHERE id = $4 AND state = $5",
    )
    .bind(to.as_str())
    .bind(now())
    .bind(payment_ref.unwrap_or(""))
    .bind(attempt.id)
    .bind(&attempt.state)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Put a note for the admins on an attempt (an amount that does not
/// match, money that arrived for an order that is no longer waiting).
pub async fn flag(conn: &mut AnyConnection, attempt_id: i64, why: &str) -> AppResult<()> {
    sqlx::query("UPDATE payment_attempts SET flag = $1, updated_at = $2 WHERE id = $3")
        .bind(why)
        .bind(now())
        .bind(attempt_id)
        .execute(&mut *conn)
        .await?;
    log::warn!("payments: attempt {attempt_id} flagged for an admin: {why}");
    Ok(())
}

/// What "Pay" leads to.
#[derive(Debug)]
pub enum Started {
    /// Send the customer to the provider's page.
    Redirect(String),
    /// A payment is already being confirmed: nothing new is started.
    Confirming,
    /// Payments are off, or the order is not waiting for payment.
    NotPayable(String),
    /// The provider could not be reached; nothing was created twice and
    /// "Pay" may be tried again.
    Unavailable,
}

async fn open_attempt(db: &DbPool, order_id: i64) -> AppResult<Option<Attempt>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payment_attempts WHERE open_for = $1"
    ))
    .bind(order_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// "Pay" on the order page: reuse the order's open attempt (its hosted
/// page, or, if creating it failed, a retry with the same idempotency
/// key), or open a new one; then ask the provider for a hosted page.
pub async fn start(db: &DbPool, env: &Env, order: &Order) -> AppResult<Started> {
    let Some(provider) = env.payments.provider.as_ref() else {
        return Ok(Started::NotPayable(
            "Online payment is not available on this site.".into(),
        ));
    };
    if order.state() != OrderState::PendingPayment {
        return Ok(Started::NotPayable(format!(
            "This order is {} and cannot be paid.",
            order.state().label().to_lowercase()
        )));
    }
    let mut attempt = open_attempt(db, order.id).await?;
    if attempt.is_none() {
        let t = now();
        // The unique `open_for` makes two clicks at once one attempt.
        sqlx::query(
            "INSERT INTO payment_attempts (order_id, open_for, provider, state, amount, currency, created_at, updated_at) \
             VALUES ($1, $1, $2, 'created', $3, $4, $5, $5) ON CONFLICT (open_for) DO NOTHING",
        )
        .bind(order.id)
        .bind(provider.name())
        .bind(order.total)
        .bind(&order.currency)
        .bind(t)
        .execute(&db.pool)
        .await?;
        attempt = open_attempt(db, order.id).await?;
    }
    let Some(attempt) = attempt else {
        return Ok(Started::Unavailable);
    };
    match attempt.state() {
        AttemptState::Pending => return Ok(Started::Confirming),
        AttemptState::Created if !attempt.url.is_empty() => {
            return Ok(Started::Redirect(attempt.url));
        }
        _ => {}
    }
    let base = env.base_url.trim_end_matches('/');
    let page = format!("{base}/shop/orders/{}", order.id);
    // Stripe wants a session to live 30 minutes at least (and 24 hours at
    // most); a payment after the order's own expiry is flagged.
    let t = now();
    let expires_at = order.expires_at.clamp(t + 31 * 60, t + 23 * 3600);
    let new = NewPayment {
        attempt_id: attempt.id,
        order_id: order.id,
        amount: attempt.amount,
        currency: &attempt.currency,
        description: format!("Order {}", order.id),
        success_url: format!("{page}?payment=returned"),
        cancel_url: format!("{page}?payment=cancelled"),
        expires_at,
        idempotency_key: format!("groundwork-attempt-{}-{}", attempt.id, attempt.created_at),
    };
    match provider.create(&new).await {
        Ok(hosted) => {
            sqlx::query(
                "UPDATE payment_attempts SET provider_ref = $1, url = $2, last_error = '', updated_at = $3 WHERE id = $4",
            )
            .bind(&hosted.reference)
            .bind(&hosted.url)
            .bind(now())
            .bind(attempt.id)
            .execute(&db.pool)
            .await?;
            Ok(Started::Redirect(hosted.url))
        }
        Err(e) => {
            let message = env.payments.scrub(&e.to_string());
            log::warn!("payments: order {}: {message}", order.id);
            // Refused outright: the attempt is over and the next "Pay" is
            // a new one; unreachable: the next "Pay" retries this one with
            // the same idempotency key.
            let state = match e {
                ProviderError::Rejected(_) => "failed",
                ProviderError::Unavailable(_) => "created",
            };
            sqlx::query(
                "UPDATE payment_attempts SET last_error = $1, updated_at = $2, state = $4, \
                 open_for = CASE WHEN $4 = 'failed' THEN NULL ELSE open_for END WHERE id = $3",
            )
            .bind(&message)
            .bind(now())
            .bind(attempt.id)
            .bind(state)
            .execute(&db.pool)
            .await?;
            Ok(Started::Unavailable)
        }
    }
}
