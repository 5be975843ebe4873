//! Stripe, through Checkout Sessions: Stripe hosts the payment page, so no
//! card data and no script of ours is involved. Three calls, form-encoded
//! as Stripe's API wants: create a session (with an `Idempotency-Key`
//! derived from the attempt), read one back, and refund.

use std::time::Duration;

use serde_json::Value;

use super::provider::{
    Hosted, NewPayment, Provider, ProviderError, RefundReply, RefundRequest, Session,
};
use super::{Secret, StripeConfig};

/// The Stripe provider.
pub struct Stripe {
    http: reqwest::Client,
    secret_key: Secret,
    webhook_secret: Secret,
    api_base: String,
}

impl Stripe {
    /// A client for the configured account.
    pub fn new(cfg: &StripeConfig) -> Result<Stripe, String> {
        let api_base = cfg.api_base.trim_end_matches('/').to_string();
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            return Err("payments.stripe.api_base must be an http(s) URL".into());
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| format!("cannot build the Stripe client: {e}"))?;
        Ok(Stripe {
            http,
            secret_key: cfg.secret_key.clone(),
            webhook_secret: cfg.webhook_secret.clone(),
            api_base,
        })
    }

    /// Send a request and read Stripe's JSON answer: 2xx is the object;
    /// 429, 5xx and no answer at all are "try again later"; other 4xx are a
    /// refusal with Stripe's own message (which never holds the key).
    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let res = req
            .bearer_auth(self.secret_key.expose())
            .send()
            .await
            .map_err(|e| {
                ProviderError::Unavailable(if e.is_timeout() {
                    "Stripe did not answer in time".into()
                } else {
                    "Stripe could not be reached".into()
                })
            })?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or("no message")
            .to_string();
        if status.is_server_error() || status.as_u16() == 429 {
            Err(ProviderError::Unavailable(format!(
                "Stripe answered {}: {message}",
                status.as_u16()
            )))
        } else {
            Err(ProviderError::Rejected(format!(
                "Stripe answered {}: {message}",
                status.as_u16()
            )))
        }
    }
}

#[rocket::async_trait]
impl Provider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn webhook_secret(&self) -> &str {
        self.webhook_secret.expose()
    }

    async fn create(&self, p: &NewPayment<'_>) -> Result<Hosted, ProviderError> {
        let form: Vec<(&str, String)> = vec![
            ("mode", "payment".into()),
            ("success_url", p.success_url.clone()),
            ("cancel_url", p.cancel_url.clone()),
            ("client_reference_id", p.order_id.to_string()),
            ("metadata[order_id]", p.order_id.to_string()),
            ("metadata[attempt_id]", p.attempt_id.to_string()),
            (
                "payment_intent_data[metadata][order_id]",
                p.order_id.to_string(),
            ),
            (
                "payment_intent_data[metadata][attempt_id]",
                p.attempt_id.to_string(),
            ),
            ("line_items[0][quantity]", "1".into()),
            (
                "line_items[0][price_data][currency]",
                p.currency.to_ascii_lowercase(),
            ),
            (
                "line_items[0][price_data][unit_amount]",
                p.amount.to_string(),
            ),
            (
                "line_items[0][price_data][product_data][name]",
                p.description.clone(),
            ),
            ("expires_at", p.expires_at.to_string()),
        ];
        let v = self
            .call(
                self.http
                    .post(format!("{}/v1/checkout/sessions", self.api_base))
                    .header("Idempotency-Key", &p.idempotency_key)
                    .form(&form),
            )
            .await?;
        let s = Session::from_object(&v);
        if s.id.is_empty() || s.url.is_empty() {
            return Err(ProviderError::Unavailable(
                "Stripe's answer has no session id or url".into(),
            ));
        }
        Ok(Hosted {
            reference: s.id,
            url: s.url,
        })
    }

    async fn fetch(&self, reference: &str) -> Result<Session, ProviderError> {
        // Session ids are Stripe's own (`cs_…`); refuse anything that could
        // change the path.
        if reference.is_empty()
            || !reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(ProviderError::Rejected("not a session id".into()));
        }
        let v = self
            .call(self.http.get(format!(
                "{}/v1/checkout/sessions/{reference}",
                self.api_base
            )))
            .await?;
        Ok(Session::from_object(&v))
    }

    async fn refund(&self, r: &RefundRequest<'_>) -> Result<RefundReply, ProviderError> {
        let form: Vec<(&str, String)> = vec![
            ("payment_intent", r.payment_ref.to_string()),
            ("amount", r.amount.to_string()),
            ("metadata[attempt_id]", r.attempt_id.to_string()),
        ];
        let v = self
            .call(
                self.http
                    .post(format!("{}/v1/refunds", self.api_base))
                    .header("Idempotency-Key", &r.idempotency_key)
                    .form(&form),
            )
            .await?;
        Ok(RefundReply {
            reference: v["id"].as_str().unwrap_or("").to_string(),
            status: v["status"].as_str().unwrap_or("pending").to_string(),
        })
    }
}
