//! A fake Stripe API on 127.0.0.1 for tests: the three endpoints the site
//! uses (create a Checkout Session, read one, refund), form-encoded as
//! Stripe's API is, checking the secret key and honouring
//! `Idempotency-Key` the way Stripe does (the same key gives back the
//! first result). It can be taken "down" (503) and told that a customer
//! paid; tests then sign events with the webhook secret.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rocket::figment::Figment;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::{json, Value};
use rocket::{get, post, routes, Shutdown, State};

/// The secret key the fake accepts.
pub const SECRET_KEY: &str = "sk_test_fake_51Hx9QpLk2c7d4e";
/// The webhook endpoint's signing secret.
pub const WEBHOOK_SECRET: &str = "whsec_fake_9a8b7c6d5e4f3a2b";

#[derive(Default)]
struct Inner {
    base: String,
    sessions: HashMap<String, Value>,
    /// Idempotency key → session id.
    session_keys: HashMap<String, String>,
    /// Every key a create request carried, in order (also while down).
    create_keys: Vec<String>,
    /// Every create request's form.
    create_forms: Vec<HashMap<String, String>>,
    refunds: Vec<Value>,
    refund_keys: HashMap<String, usize>,
    down: bool,
    next: u64,
}

type Shared = Arc<Mutex<Inner>>;

/// The running fake.
pub struct FakeStripe {
    pub base: String,
    inner: Shared,
    shutdown: Shutdown,
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

struct Call {
    /// The `Authorization` header as sent.
    auth: String,
    authorized: bool,
    key: Option<String>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Call {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(Call {
            auth: req
                .headers()
                .get_one("Authorization")
                .unwrap_or("")
                .to_string(),
            authorized: req.headers().get_one("Authorization")
                == Some(&format!("Bearer {SECRET_KEY}")),
            key: req.headers().get_one("Idempotency-Key").map(str::to_string),
        })
    }
}

fn form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let d = |s: &str| rocket::http::RawStr::new(s).url_decode_lossy().into_owned();
            (d(k), d(v))
        })
        .collect()
}

type Answer = (Status, Value);

fn error(status: Status, message: &str) -> Answer {
    (
        status,
        json!({"error": {"message": message, "type": "api_error"}}),
    )
}

fn gate(inner: &Inner, call: &Call) -> Option<Answer> {
    if inner.down {
        return Some(error(Status::ServiceUnavailable, "Stripe is down (fake)"));
    }
    if !call.authorized {
        return Some(error(Status::Unauthorized, "Invalid API Key provided"));
    }
    None
}

#[post("/v1/checkout/sessions", data = "<body>")]
fn create(inner: &State<Shared>, call: Call, body: String) -> Answer {
    let mut inner = inner.lock().unwrap();
    let f = form(&body);
    inner.create_keys.push(call.key.clone().unwrap_or_default());
    inner.create_forms.push(f.clone());
    if let Some(refused) = gate(&inner, &call) {
        return refused;
    }
    if let Some(id) = call.key.as_ref().and_then(|k| inner.session_keys.get(k)) {
        return (Status::Ok, inner.sessions[id].clone());
    }
    inner.next += 1;
    let id = format!("cs_test_fake{}", inner.next);
    let unit: i64 = f
        .get("line_items[0][price_data][unit_amount]")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let quantity: i64 = f
        .get("line_items[0][quantity]")
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let session = json!({
        "id": id,
        "object": "checkout.session",
        "amount_total": unit * quantity,
        "currency": f.get("line_items[0][price_data][currency]"),
        "client_reference_id": f.get("client_reference_id"),
        "metadata": {"order_id": f.get("metadata[order_id]"), "attempt_id": f.get("metadata[attempt_id]")},
        "mode": f.get("mode"),
        "payment_intent": null,
        "payment_status": "unpaid",
        "status": "open",
        "success_url": f.get("success_url"),
        "cancel_url": f.get("cancel_url"),
        "url": format!("{}/pay/{id}", inner.base),
    });
    inner.sessions.insert(id.clone(), session.clone());
    if let Some(k) = call.key {
        inner.session_keys.insert(k, id);
    }
    (Status::Ok, session)
}

#[get("/v1/checkout/sessions/<id>")]
fn read(inner: &State<Shared>, call: Call, id: &str) -> Answer {
    let inner = inner.lock().unwrap();
    if let Some(refused) = gate(&inner, &call) {
        return refused;
    }
    match inner.sessions.get(id) {
        Some(s) => (Status::Ok, s.clone()),
        // Worse than Stripe (which shows at most the key's last four
        // characters): the key sent is echoed, so that tests prove the
        // site scrubs provider messages before logging or storing them.
        None => error(
            Status::NotFound,
            &format!(
                "No such checkout.session: '{id}' (asked with {})",
                call.auth
            ),
        ),
    }
}

#[post("/v1/refunds", data = "<body>")]
fn refund(inner: &State<Shared>, call: Call, body: String) -> Answer {
    let mut inner = inner.lock().unwrap();
    if let Some(refused) = gate(&inner, &call) {
        return refused;
    }
    if let Some(&i) = call.key.as_ref().and_then(|k| inner.refund_keys.get(k)) {
        return (Status::Ok, inner.refunds[i].clone());
    }
    let f = form(&body);
    inner.next += 1;
    let refund = json!({
        "id": format!("re_fake{}", inner.next),
        "object": "refund",
        "amount": f.get("amount").and_then(|a| a.parse::<i64>().ok()),
        "payment_intent": f.get("payment_intent"),
        "status": "succeeded",
    });
    inner.refunds.push(refund.clone());
    let i = inner.refunds.len() - 1;
    if let Some(k) = call.key {
        inner.refund_keys.insert(k, i);
    }
    (Status::Ok, refund)
}

impl FakeStripe {
    /// Start the server on a free port.
    pub async fn start() -> FakeStripe {
        let inner: Shared = Arc::default();
        let (tx, rx) = rocket::tokio::sync::oneshot::channel();
        let tx = Mutex::new(Some(tx));
        let figment = Figment::from(rocket::Config::debug_default())
            .merge(("address", "127.0.0.1"))
            .merge(("port", 0))
            .merge(("log_level", "off"))
            .merge(("shutdown.ctrlc", false))
            .merge(("shutdown.grace", 0))
            .merge(("shutdown.mercy", 0));
        let server = rocket::custom(figment)
            .manage(inner.clone())
            .mount("/", routes![create, read, refund])
            .attach(rocket::fairing::AdHoc::on_liftoff(
                "report port",
                move |r| {
                    let port = r.config().port;
                    let shutdown = r.shutdown();
                    let tx = tx.lock().unwrap().take();
                    Box::pin(async move {
                        if let Some(tx) = tx {
                            let _ = tx.send((port, shutdown));
                        }
                    })
                },
            ));
        rocket::tokio::spawn(server.launch());
        let (port, shutdown) = rx.await.expect("the fake Stripe starts");
        for _ in 0..50 {
            if rocket::tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            rocket::tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let base = format!("http://127.0.0.1:{port}");
        inner.lock().unwrap().base = base.clone();
        FakeStripe {
            base,
            inner,
            shutdown,
        }
    }

    /// The app's Stripe settings, pointed at this server.
    pub fn configure(&self, f: Figment) -> Figment {
        f.merge(("payments.stripe.secret_key", SECRET_KEY))
            .merge(("payments.stripe.webhook_secret", WEBHOOK_SECRET))
            .merge(("payments.stripe.api_base", self.base.clone()))
    }

    /// Answer every call with 503 (or stop doing so).
    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }

    /// Sessions made so far.
    pub fn sessions_made(&self) -> usize {
        self.inner.lock().unwrap().sessions.len()
    }

    /// The `Idempotency-Key` of every create request, in order.
    pub fn create_keys(&self) -> Vec<String> {
        self.inner.lock().unwrap().create_keys.clone()
    }

    /// The form of the last create request.
    pub fn last_create_form(&self) -> HashMap<String, String> {
        self.inner
            .lock()
            .unwrap()
            .create_forms
            .last()
            .cloned()
            .unwrap_or_default()
    }

    /// The session `id` as Stripe would show it now.
    pub fn session(&self, id: &str) -> Value {
        self.inner.lock().unwrap().sessions[id].clone()
    }

    /// The customer paid session `id` (asynchronously: `paid` false leaves
    /// it complete but unpaid). Returns the session.
    pub fn complete(&self, id: &str, paid: bool) -> Value {
        let mut inner = self.inner.lock().unwrap();
        let s = inner.sessions.get_mut(id).expect("a session");
        s["status"] = json!("complete");
        s["payment_status"] = json!(if paid { "paid" } else { "unpaid" });
        s["payment_intent"] = json!(format!("pi_for_{id}"));
        s.clone()
    }

    /// Set a field of session `id` (an amount that does not match).
    pub fn set(&self, id: &str, key: &str, value: Value) -> Value {
        let mut inner = self.inner.lock().unwrap();
        let s = inner.sessions.get_mut(id).expect("a session");
        s[key] = value;
        s.clone()
    }

    /// Every refund made.
    pub fn refunds(&self) -> Vec<Value> {
        self.inner.lock().unwrap().refunds.clone()
    }
}

/// An event body as Stripe sends it.
pub fn event(id: &str, kind: &str, object: &Value) -> String {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_700_000_000,
        "livemode": false,
        "type": kind,
        "data": {"object": object},
    })
    .to_string()
}

/// A `Stripe-Signature` header for `body`, signed now with `secret`.
pub fn sign(secret: &str, body: &str) -> String {
    groundwork::shop::payments::signature::sign(secret, groundwork::db::now(), body.as_bytes())
}

/// POST a webhook body to `/payments/<provider>/webhook`, with a
/// `Stripe-Signature` header when given.
pub async fn post_webhook(
    client: &rocket::local::asynchronous::Client,
    provider: &str,
    body: &str,
    signature: Option<&str>,
) -> super::Resp {
    let mut req = client
        .post(format!("/payments/{provider}/webhook"))
        .header(rocket::http::ContentType::JSON)
        .body(body);
    if let Some(s) = signature {
        req = req.header(rocket::http::Header::new("Stripe-Signature", s.to_string()));
    }
    super::Resp::read(req.dispatch().await).await
}

/// A member `username` in a browser of their own with a placed order for
/// two of a new €12.50 product (`slug`): the browser and the order id.
pub async fn member_with_order(
    app: &super::TestApp,
    username: &str,
    slug: &str,
) -> (rocket::local::asynchronous::Client, i64) {
    let variant = super::shop::seed_product(app, slug, 1250, 10).await;
    let browser = app.member(username).await;
    let r = super::shop::add_to_cart(&browser, slug, variant, 2).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let (r, _) = super::shop::checkout(&browser).await;
    let id = super::shop::order_id(&r);
    (browser, id)
}

/// Press "Pay" on order `id`'s page.
pub async fn press_pay(client: &rocket::local::asynchronous::Client, id: i64) -> super::Resp {
    super::submit(
        client,
        &format!("/shop/orders/{id}"),
        &format!("/shop/orders/{id}/pay"),
        &[],
    )
    .await
}

/// The session id at the end of a fake Stripe URL.
pub fn session_of(url: &str) -> String {
    url.rsplit('/').next().unwrap_or_default().to_string()
}
