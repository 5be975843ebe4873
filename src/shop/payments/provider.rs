//! The provider interface: create a hosted payment, read its state back,
//! refund, and verify and parse a webhook. Stripe (`stripe.rs`) and the
//! built-in test provider (`test_provider.rs`) implement it; another
//! provider (PayPal, Mollie) is one more file implementing [`Provider`]
//! whose events are turned into the Stripe-shaped [`Event`] below.

use serde_json::Value;

use super::signature::{self, SignatureError};

/// What a hosted payment page needs from us.
#[derive(Debug)]
pub struct NewPayment<'a> {
    pub attempt_id: i64,
    pub order_id: i64,
    /// In the currency's minor unit, from the order.
    pub amount: i64,
    /// ISO 4217, as the order stores it (upper case).
    pub currency: &'a str,
    pub description: String,
    pub success_url: String,
    pub cancel_url: String,
    /// Unix time after which the hosted page should stop taking payment.
    pub expires_at: i64,
    /// Derived from the attempt: a retry of the same attempt never makes a
    /// second hosted payment.
    pub idempotency_key: String,
}

/// A hosted payment the provider made: its reference and where to send the customer.
#[derive(Debug, Clone)]
pub struct Hosted {
    pub reference: String,
    pub url: String,
}

/// A refund to ask for.
#[derive(Debug)]
pub struct RefundRequest<'a> {
    /// The provider's payment reference (Stripe's PaymentIntent id).
    pub payment_ref: &'a str,
    pub amount: i64,
    pub idempotency_key: String,
    pub attempt_id: i64,
}

/// What the provider said about a refund.
#[derive(Debug, Clone)]
pub struct RefundReply {
    pub reference: String,
    /// `succeeded`, `pending`, `requires_action`, `failed` or `canceled`.
    pub status: String,
}

/// Why a call to the provider failed. Messages never contain a secret.
#[derive(Debug, Clone)]
pub enum ProviderError {
    /// Not reached, timed out, or a 5xx/429 answer: try again later.
    Unavailable(String),
    /// The provider refused the request (4xx): trying again will not help.
    Rejected(String),
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProviderError::Unavailable(m) => write!(f, "provider unavailable: {m}"),
            ProviderError::Rejected(m) => write!(f, "provider refused: {m}"),
        }
    }
}

/// A webhook event (Stripe's shape: `id`, `type`, `data.object`).
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub object: Value,
}

impl Event {
    /// Parse a Stripe-shaped event from the raw body.
    pub fn parse(body: &[u8]) -> Result<Event, String> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
        let id = v["id"].as_str().filter(|s| !s.is_empty() && s.len() <= 255);
        let kind = v["type"]
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= 255);
        match (id, kind, v["data"]["object"].is_object()) {
            (Some(id), Some(kind), true) => Ok(Event {
                id: id.to_string(),
                kind: kind.to_string(),
                object: v["data"]["object"].clone(),
            }),
            _ => Err("the body is not an event (id, type and data.object)".into()),
        }
    }
}

fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        // An expanded object: its id.
        Value::Object(o) => o.get("id").and_then(Value::as_str).unwrap_or("").into(),
        _ => String::new(),
    }
}

/// A hosted payment's state as the provider reports it (a Checkout Session).
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    /// `open`, `complete` or `expired`.
    pub status: String,
    /// `paid`, `unpaid` or `no_payment_required`.
    pub payment_status: String,
    pub amount_total: Option<i64>,
    /// Lower case, as Stripe sends it.
    pub currency: String,
    pub payment_ref: String,
    pub attempt_id: Option<i64>,
    pub order_id: Option<i64>,
    pub url: String,
}

impl Session {
    /// Read a Checkout Session object.
    pub fn from_object(v: &Value) -> Session {
        let number = |s: String| s.parse::<i64>().ok();
        Session {
            id: text(v, "id"),
            status: text(v, "status"),
            payment_status: text(v, "payment_status"),
            amount_total: v["amount_total"].as_i64(),
            currency: text(v, "currency").to_ascii_lowercase(),
            payment_ref: text(v, "payment_intent"),
            attempt_id: number(text(&v["metadata"], "attempt_id")),
            order_id: number(text(v, "client_reference_id")),
            url: text(v, "url"),
        }
    }

    /// The money has arrived.
    pub fn is_paid(&self) -> bool {
        matches!(self.payment_status.as_str(), "paid" | "no_payment_required")
    }
}

/// A charge (in `charge.refunded`): how much of it is refunded so far.
#[derive(Debug, Clone)]
pub struct Charge {
    pub payment_ref: String,
    pub amount_refunded: i64,
}

impl Charge {
    /// Read a Charge object.
    pub fn from_object(v: &Value) -> Charge {
        Charge {
            payment_ref: text(v, "payment_intent"),
            amount_refunded: v["amount_refunded"].as_i64().unwrap_or(0),
        }
    }
}

/// A payment provider. `name` is stored with every attempt and event and
/// names the webhook endpoint (`/payments/<name>/webhook`).
#[rocket::async_trait]
pub trait Provider: Send + Sync {
    /// `stripe`, `test`, …
    fn name(&self) -> &'static str;

    /// The webhook endpoint's signing secret.
    fn webhook_secret(&self) -> &str;

    /// Make a hosted payment page for an attempt.
    async fn create(&self, payment: &NewPayment<'_>) -> Result<Hosted, ProviderError>;

    /// Read a hosted payment's state (reconciliation, when a webhook was lost).
    async fn fetch(&self, reference: &str) -> Result<Session, ProviderError>;

    /// Refund (part of) a payment.
    async fn refund(&self, refund: &RefundRequest<'_>) -> Result<RefundReply, ProviderError>;

    /// Check a webhook's signature (Stripe's scheme unless overridden).
    fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        tolerance: i64,
        now: i64,
    ) -> Result<i64, SignatureError> {
        signature::verify(header, body, self.webhook_secret(), tolerance, now)
    }

    /// Parse a verified webhook body (Stripe's event shape unless overridden).
    fn parse(&self, body: &[u8]) -> Result<Event, String> {
        Event::parse(body)
    }
}
