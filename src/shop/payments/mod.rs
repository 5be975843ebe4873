//! Payments for the shop's orders (issue 18): a hosted payment page per
//! attempt (Stripe Checkout, or the built-in test provider), signed
//! webhooks processed once each, reconciliation for lost webhooks, and
//! refunds. It lives inside the shop because an order's state change, its
//! payment's and the event's record are one transaction.
//!
//! `signature.rs` (Stripe-Signature), `provider.rs` (the interface),
//! `stripe.rs` and `test_provider.rs` (its implementations), `attempts.rs`
//! (attempts and starting a payment), `webhook.rs` (receiving and
//! processing events), `settle.rs` (applying a payment to its order),
//! `reconcile.rs` (the job), `refunds.rs`, `routes.rs`
//! (pay, webhooks) and `admin.rs` (`/admin/payments`). See docs/payments.md.

pub mod admin;
pub mod attempts;
pub mod provider;
mod reconcile;
mod refund_lines;
pub mod refunds;
mod routes;
mod settle;
pub mod signature;
mod stripe;
pub mod test_provider;
pub mod webhook;

use std::sync::Arc;

use rocket::{Build, Rocket, Route};
use serde::Deserialize;

use crate::config::AppConfig;
use crate::db::Db;
use provider::Provider;

/// A secret setting: never shown by `Debug`, so it cannot reach a log
/// through a `{:?}` of the settings.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(unset)"
        } else {
            "Secret(redacted)"
        })
    }
}

impl Secret {
    /// A secret with this value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether it was set.
    pub fn is_set(&self) -> bool {
        !self.0.trim().is_empty()
    }
}

/// `[payments.stripe]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct StripeConfig {
    pub secret_key: Secret,
    pub webhook_secret: Secret,
    /// Stripe's API; tests point it at a local fake.
    pub api_base: String,
}

impl Default for StripeConfig {
    fn default() -> Self {
        StripeConfig {
            secret_key: Secret::default(),
            webhook_secret: Secret::default(),
            api_base: "https://api.stripe.com".into(),
        }
    }
}

/// `[payments.test]`: the built-in test provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TestConfig {
    /// Let the test provider run in the release profile (a demo site).
    pub allow_in_release: bool,
    /// Signing secret of `/payments/test/webhook`. Unset: a random one
    /// per process (the test page signs and delivers in-process).
    pub webhook_secret: Secret,
    /// Seconds before "Pay later" settles.
    pub async_delay: i64,
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig {
            allow_in_release: false,
            webhook_secret: Secret::default(),
            async_delay: 5,
        }
    }
}

/// The `payments` table of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PaymentsConfig {
    /// `stripe`, `test` or `none`; empty: Stripe when
    /// `payments.stripe.secret_key` is set, else the test provider.
    pub provider: String,
    pub stripe: StripeConfig,
    pub test: TestConfig,
    /// Seconds a webhook signature's timestamp may be away from now.
    pub signature_tolerance: i64,
    /// Largest webhook body, in bytes.
    pub webhook_max_bytes: u64,
    /// Seconds an attempt waits for its webhook before reconciliation
    /// reads it back from the provider.
    pub reconcile_after: i64,
    /// Seconds between two reconciliation runs.
    pub reconcile_interval: i64,
    /// Seconds before an attempt is read again after its provider could
    /// not be reached; doubles with each failure, at most an hour.
    pub reconcile_backoff: i64,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        PaymentsConfig {
            provider: String::new(),
            stripe: StripeConfig::default(),
            test: TestConfig::default(),
            signature_tolerance: signature::DEFAULT_TOLERANCE,
            webhook_max_bytes: 256 * 1024,
            reconcile_after: 600,
            reconcile_interval: 300,
            reconcile_backoff: 30,
        }
    }
}

/// Payments as every handler and job sees them.
pub struct Payments {
    /// None: payments are off (no provider configured for this profile).
    pub provider: Option<Arc<dyn Provider>>,
    pub tolerance: i64,
    pub webhook_max_bytes: u64,
    pub reconcile_after: i64,
    pub reconcile_backoff: i64,
    pub async_delay: i64,
    /// Every configured secret, to scrub from anything stored or shown.
    secrets: Vec<String>,
}

impl Payments {
    /// The provider called `name`, when it is the one in use.
    pub fn provider_named(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.provider.as_ref().filter(|p| p.name() == name)
    }

    /// `text` with every configured secret replaced: provider answers and
    /// errors are scrubbed before they are logged, stored or shown.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets.iter().filter(|s| !s.is_empty()) {
            out = out.replace(s.as_str(), "[redacted]");
        }
        out.chars().take(1000).collect()
    }
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments")
            .field("provider", &self.provider.as_ref().map(|p| p.name()))
            .finish_non_exhaustive()
    }
}

fn random_secret() -> String {
    format!("whsec_{}", crate::session::random_token())
}

/// Read `[payments]`, pick the provider and check the settings; refuse
/// settings that cannot work.
fn build(cfg: PaymentsConfig, release: bool, db: &Db, base_url: &str) -> Result<Payments, String> {
    if cfg.signature_tolerance < 1
        || cfg.reconcile_after < 0
        || cfg.reconcile_interval < 1
        || cfg.reconcile_backoff < 1
    {
        return Err("payments.signature_tolerance and payments.reconcile_interval must be positive, payments.reconcile_after not negative".into());
    }
    if cfg.webhook_max_bytes < 1024 {
        return Err("payments.webhook_max_bytes must be at least 1024".into());
    }
    let choice = match cfg.provider.as_str() {
        "" if cfg.stripe.secret_key.is_set() => "stripe",
        "" => "test",
        other => other,
    };
    let mut secrets = Vec::new();
    let provider: Option<Arc<dyn Provider>> = match choice {
        "stripe" => {
            if !cfg.stripe.secret_key.is_set() || !cfg.stripe.webhook_secret.is_set() {
                return Err("Stripe needs payments.stripe.secret_key and payments.stripe.webhook_secret (see docs/payments.md)".into());
            }
            secrets.push(cfg.stripe.secret_key.expose().to_string());
            secrets.push(cfg.stripe.webhook_secret.expose().to_string());
            Some(Arc::new(stripe::Stripe::new(&cfg.stripe)?))
        }
        "test" if release && !cfg.test.allow_in_release => {
            log::warn!("payments: the test provider does not run in the release profile (set payments.test.allow_in_release to show it on a demo site); online payment is off");
            None
        }
        "test" => {
            let secret = if cfg.test.webhook_secret.is_set() {
                cfg.test.webhook_secret.clone()
            } else {
                Secret::new(random_secret())
            };
            secrets.push(secret.expose().to_string());
            Some(Arc::new(test_provider::TestProvider::new(
                (**db).clone(),
                base_url,
                secret,
            )))
        }
        "none" => None,
        other => {
            return Err(format!(
                "payments.provider must be stripe, test or none (got {other:?})"
            ))
        }
    };
    if cfg.test.async_delay < 0 {
        return Err("payments.test.async_delay must not be negative".into());
    }
    Ok(Payments {
        provider,
        tolerance: cfg.signature_tolerance,
        webhook_max_bytes: cfg.webhook_max_bytes,
        reconcile_after: cfg.reconcile_after,
        reconcile_backoff: cfg.reconcile_backoff,
        async_delay: cfg.test.async_delay,
        secrets,
    })
}

/// Attach payments to the shop's rocket: settings, jobs, routes. Called by
/// the shop's stage once its own settings are managed.
// The same shape as Rocket's `try_on_ignite` fairings, which it serves.
#[allow(clippy::result_large_err)]
pub fn install(rocket: Rocket<Build>, shop: &super::Shop) -> Result<Rocket<Build>, Rocket<Build>> {
    let cfg = match crate::config::section::<PaymentsConfig>(rocket.figment(), "payments") {
        Ok(cfg) => cfg,
        Err(problem) => {
            log::error!("invalid payments configuration: {problem}");
            return Err(rocket);
        }
    };
    let interval = cfg.reconcile_interval;
    let release = rocket.figment().profile() == "release";
    let (Some(app), Some(db), Some(registry)) = (
        rocket.state::<AppConfig>(),
        rocket.state::<Db>(),
        rocket.state::<crate::jobs::Registry>(),
    ) else {
        log::error!("payments need the database and jobs stages attached before the shop");
        return Err(rocket);
    };
    let payments = match build(cfg, release, db, &app.base_url) {
        Ok(p) => Arc::new(p),
        Err(problem) => {
            log::error!("refusing to start: {problem}");
            eprintln!("refusing to start: {problem}");
            return Err(rocket);
        }
    };
    let env = webhook::Env {
        db: (**db).clone(),
        payments: payments.clone(),
        shop: shop.clone(),
        base_url: app.base_url.clone(),
    };
    webhook::register_jobs(registry, &env);
    reconcile::register_jobs(registry, &env, interval);
    test_provider::register_jobs(registry, &env);
    Ok(rocket.manage(env).mount("/", routes()))
}

/// Every page and endpoint of payments.
pub fn routes() -> Vec<Route> {
    let mut all = routes::routes();
    all.extend(test_provider::routes());
    all.extend(admin::routes());
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_debug_output_never_shows_a_secret() {
        let mut cfg = PaymentsConfig::default();
        cfg.stripe.secret_key = Secret::new("sk_live_abcdef123456");
        cfg.stripe.webhook_secret = Secret::new("whsec_abcdef123456");
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("abcdef123456"), "{shown}");
        assert!(shown.contains("Secret(redacted)"));
        assert_eq!(format!("{:?}", Secret::default()), "Secret(unset)");
    }

    #[test]
    fn provider_messages_are_scrubbed_of_every_configured_secret() {
        let payments = Payments {
            provider: None,
            tolerance: 300,
            webhook_max_bytes: 1024,
            reconcile_after: 0,
            reconcile_backoff: 1,
            async_delay: 0,
            secrets: vec!["sk_test_123".into(), "whsec_456".into()],
        };
        assert_eq!(
            payments.scrub("Invalid API Key provided: sk_test_123 (whsec_456)"),
            "Invalid API Key provided: [redacted] ([redacted])"
        );
    }
}
