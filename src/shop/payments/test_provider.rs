//! The built-in test provider, so that `cargo run` can take an order to
//! "paid" without an account anywhere: a stand-in for a hosted payment
//! page on the site itself, clearly marked as a test, with "Pay",
//! "Decline" and "Pay later (asynchronous)". Each button builds the
//! Stripe-shaped event Stripe would send, signs it with this provider's
//! webhook secret and hands it to [`webhook::receive`] — the very
//! function behind `POST /payments/<provider>/webhook` — so it goes
//! through the same signature check and processing as a real webhook.
//! It refuses to run in the release profile unless
//! `payments.test.allow_in_release` is set (see `payments::build`).

use askama::Template;
use rand::Rng;
use rocket::form::FromForm;
use rocket::{get, post, routes, Route, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::AnyConnection;

use super::provider::{
    Hosted, NewPayment, Provider, ProviderError, RefundReply, RefundRequest, Session,
};
use super::signature;
use super::webhook::{self, Env};
use super::Secret;
use crate::db::{now, Db, DbPool};
use crate::error::{AppError, AppResult};
use crate::jobs::{self, JobError, NewJob, Policy, Registry};
use crate::session::CsrfForm;
use crate::web::{Layout, Reply};

/// The provider's name: `/payments/test/webhook`.
pub const NAME: &str = "test";

/// The job that settles a "Pay later" payment.
const SETTLE_KIND: &str = "payments_test_settle";

fn random_id(prefix: &str) -> String {
    let n: u128 = rand::thread_rng().gen();
    format!("{prefix}_{n:032x}")
}

/// The test provider: its "sessions" are rows of `payment_test_sessions`,
/// so every app process sees them.
pub struct TestProvider {
    db: DbPool,
    base_url: String,
    secret: Secret,
}

impl TestProvider {
    /// The provider for a site at `base_url`.
    pub fn new(db: DbPool, base_url: &str, secret: Secret) -> TestProvider {
        TestProvider {
            db,
            base_url: base_url.trim_end_matches('/').to_string(),
            secret,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct TestSession {
    id: String,
    attempt_id: i64,
    order_id: i64,
    amount: i64,
    currency: String,
    status: String,
    payment_status: String,
    payment_ref: String,
    success_url: String,
    cancel_url: String,
}

const SESSION_COLUMNS: &str =
    "id, attempt_id, order_id, amount, currency, status, payment_status, \
     payment_ref, success_url, cancel_url";

impl TestSession {
    /// The session as Stripe would show it.
    fn object(&self, base_url: &str) -> Value {
        json!({
            "id": self.id,
            "object": "checkout.session",
            "amount_total": self.amount,
            "currency": self.currency.to_ascii_lowercase(),
            "client_reference_id": self.order_id.to_string(),
            "metadata": {"order_id": self.order_id.to_string(), "attempt_id": self.attempt_id.to_string()},
            "payment_intent": if self.payment_ref.is_empty() { Value::Null } else { Value::String(self.payment_ref.clone()) },
            "payment_status": self.payment_status,
            "status": self.status,
            "url": format!("{base_url}/payments/test/pay/{}", self.id),
        })
    }
}

fn unavailable(e: sqlx::Error) -> ProviderError {
    ProviderError::Unavailable(format!("test provider: {e}"))
}

async fn session(db: &DbPool, id: &str) -> Result<Option<TestSession>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {SESSION_COLUMNS} FROM payment_test_sessions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await
}

#[rocket::async_trait]
impl Provider for TestProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn webhook_secret(&self) -> &str {
        self.secret.expose()
    }

    async fn create(&self, p: &NewPayment<'_>) -> Result<Hosted, ProviderError> {
        // The idempotency key makes a retry find the same session.
        sqlx::query(
            "INSERT INTO payment_test_sessions (id, idem_key, attempt_id, order_id, amount, currency, status, \
             payment_status, success_url, cancel_url, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', 'unpaid', $7, $8, $9) ON CONFLICT (idem_key) DO NOTHING",
        )
        .bind(random_id("cs_test"))
        .bind(&p.idempotency_key)
        .bind(p.attempt_id)
        .bind(p.order_id)
        .bind(p.amount)
        .bind(p.currency)
        .bind(&p.success_url)
        .bind(&p.cancel_url)
        .bind(now())
        .execute(&self.db.pool)
        .await
        .map_err(unavailable)?;
        let id: String =
            sqlx::query_scalar("SELECT id FROM payment_test_sessions WHERE idem_key = $1")
                .bind(&p.idempotency_key)
                .fetch_one(&self.db.pool)
                .await
                .map_err(unavailable)?;
        Ok(Hosted {
            url: format!("{}/payments/test/pay/{id}", self.base_url),
            reference: id,
        })
    }

    async fn fetch(&self, reference: &str) -> Result<Session, ProviderError> {
        let s = session(&self.db, reference)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| ProviderError::Rejected("no such test session".into()))?;
        Ok(Session::from_object(&s.object(&self.base_url)))
    }

    async fn refund(&self, r: &RefundRequest<'_>) -> Result<RefundReply, ProviderError> {
        sqlx::query(
            "UPDATE payment_test_sessions SET refunded = refunded + $1 WHERE payment_ref = $2",
        )
        .bind(r.amount)
        .bind(r.payment_ref)
        .execute(&self.db.pool)
        .await
        .map_err(unavailable)?;
        Ok(RefundReply {
            reference: random_id("re_test"),
            status: "succeeded".into(),
        })
    }
}

/// Build, sign and deliver the event `kind` about session `s`, through
/// the same path as a webhook from outside.
async fn deliver(db: &DbPool, env: &Env, kind: &str, s: &TestSession) -> AppResult<()> {
    let base = env.base_url.trim_end_matches('/');
    let body = json!({
        "id": random_id("evt_test"),
        "object": "event",
        "type": kind,
        "created": now(),
        "livemode": false,
        "data": {"object": s.object(base)},
    })
    .to_string();
    let provider = env
        .payments
        .provider_named(NAME)
        .ok_or(AppError::NotFound)?;
    let header = signature::sign(provider.webhook_secret(), now(), body.as_bytes());
    webhook::receive(db, env, NAME, Some(&header), body.as_bytes()).await?;
    Ok(())
}

/// The test payment page.
#[derive(Template)]
#[template(path = "shop/test_payment.html")]
struct TestPaymentPage {
    layout: Layout,
    id: String,
    order_id: i64,
    amount: String,
    open: bool,
    cancel_url: String,
}

fn in_use(env: &Env) -> AppResult<()> {
    env.payments
        .provider_named(NAME)
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

#[get("/payments/test/pay/<id>")]
async fn page(db: &Db, env: &State<Env>, layout: Layout, id: &str) -> AppResult<Reply> {
    in_use(env)?;
    let s = session(db, id).await?.ok_or(AppError::NotFound)?;
    Reply::page(&TestPaymentPage {
        layout,
        id: s.id.clone(),
        order_id: s.order_id,
        amount: env.shop.money(s.amount),
        open: s.status == "open",
        cancel_url: s.cancel_url.clone(),
    })
}

#[derive(Debug, FromForm)]
struct Choice {
    action: String,
}

#[post("/payments/test/pay/<id>", data = "<form>")]
async fn choose(db: &Db, env: &State<Env>, id: &str, form: CsrfForm<Choice>) -> AppResult<Reply> {
    in_use(env)?;
    let s = session(db, id).await?.ok_or(AppError::NotFound)?;
    if s.status != "open" {
        return Ok(Reply::failure(
            format!("/payments/test/pay/{id}"),
            "This test payment is already finished.",
        ));
    }
    let (status, payment_status, kind, back) = match form.0.action.as_str() {
        "pay" => (
            "complete",
            "paid",
            "checkout.session.completed",
            &s.success_url,
        ),
        "later" => (
            "complete",
            "unpaid",
            "checkout.session.completed",
            &s.success_url,
        ),
        "decline" => (
            "complete",
            "unpaid",
            "checkout.session.async_payment_failed",
            &s.cancel_url,
        ),
        _ => {
            return Err(AppError::BadRequest(
                "Choose Pay, Decline or Pay later.".into(),
            ))
        }
    };
    let payment_ref = random_id("pi_test");
    // Only one choice wins, whatever arrives at the same moment.
    let done = sqlx::query(
        "UPDATE payment_test_sessions SET status = $1, payment_status = $2, payment_ref = $3 \
         WHERE id = $4 AND status = 'open'",
    )
    .bind(status)
    .bind(payment_status)
    .bind(&payment_ref)
    .bind(id)
    .execute(&db.pool)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(Reply::to(s.success_url.clone()));
    }
    let s = session(db, id).await?.ok_or(AppError::NotFound)?;
    deliver(db, env, kind, &s).await?;
    if form.0.action == "later" {
        let mut conn = db.pool.acquire().await?;
        let job = NewJob::new(
            SETTLE_KIND,
            &SettleJob {
                session: s.id.clone(),
            },
        )?
        .at(now() + env.payments.async_delay)
        .unique(&format!("{SETTLE_KIND}:{}", s.id));
        jobs::enqueue(&mut conn, &job).await?;
    }
    let back = if form.0.action == "decline" {
        back.replace("payment=cancelled", "payment=declined")
    } else {
        back.clone()
    };
    Ok(Reply::to(back))
}

/// The "Pay later" job's input.
#[derive(Debug, Serialize, Deserialize)]
struct SettleJob {
    session: String,
}

const SETTLE_POLICY: Policy = Policy {
    max_attempts: 5,
    retry_base: 5.0,
    retry_max: 60.0,
};

/// Register the job that settles "Pay later" payments.
pub fn register_jobs(registry: &Registry, env: &Env) {
    let env = env.clone();
    registry.register(SETTLE_KIND, SETTLE_POLICY, move |conn, job| {
        let env = env.clone();
        Box::pin(async move {
            let input: SettleJob = job.payload().map_err(JobError::permanent)?;
            settle_later(conn, &env, &input.session).await
        })
    });
}

async fn settle_later(conn: &mut AnyConnection, env: &Env, id: &str) -> Result<(), JobError> {
    if env.payments.provider_named(NAME).is_none() {
        return Ok(());
    }
    sqlx::query("UPDATE payment_test_sessions SET payment_status = 'paid' WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let s: Option<TestSession> = sqlx::query_as(&format!(
        "SELECT {SESSION_COLUMNS} FROM payment_test_sessions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(s) = s else { return Ok(()) };
    // Delivered on a pool connection, as a webhook request would be.
    deliver(&env.db, env, "checkout.session.async_payment_succeeded", &s)
        .await
        .map_err(JobError::from)
}

/// The test provider's pages.
pub fn routes() -> Vec<Route> {
    routes![page, choose]
}
