//! "Pay" on the order page, and the webhook endpoints.

use rocket::data::{Data, ToByteUnit};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};
use serde_json::{json, Value};

use super::attempts::{self, Started};
use super::webhook::{self, Env, Received};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::session::{CsrfForm, CurrentUser, NoFields};
use crate::shop::orders;
use crate::web::Reply;

/// "Pay": 303 to the provider's page (or back to the order with a message).
#[post("/shop/orders/<id>/pay", data = "<_form>")]
async fn pay(
    db: &Db,
    env: &State<Env>,
    me: CurrentUser,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let order = orders::get(db, id, Some(me.id))
        .await?
        .ok_or(AppError::NotFound)?;
    let back = format!("/shop/orders/{id}");
    Ok(match attempts::start(db, env, &order).await? {
        Started::Redirect(url) => Reply::to(url),
        Started::Confirming => Reply::success(
            back,
            "Your payment is being confirmed by the payment provider; this page shows it as soon as it is.",
        ),
        Started::NotPayable(why) => Reply::failure(back, why),
        Started::Unavailable => Reply::failure(
            back,
            "The payment service cannot be reached right now. Nothing was charged; please try again in a moment.",
        ),
    })
}

/// The `Stripe-Signature` header, if sent.
pub struct SignatureHeader(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SignatureHeader {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        // Errors on this endpoint answer as JSON, for the provider's logs.
        crate::web::mark_json(req);
        Outcome::Success(SignatureHeader(
            req.headers()
                .get_one("Stripe-Signature")
                .map(str::to_string),
        ))
    }
}

/// A provider's webhook. No CSRF token (the provider is not a browser):
/// the signature over the raw body stands in for it. The body is read as
/// bytes, up to `payments.webhook_max_bytes`.
#[post("/payments/<provider>/webhook", data = "<body>")]
async fn receive(
    db: &Db,
    env: &State<Env>,
    provider: &str,
    signature: SignatureHeader,
    body: Data<'_>,
) -> AppResult<(Status, Json<Value>)> {
    if env.payments.provider_named(provider).is_none() {
        return Err(AppError::NotFound);
    }
    let limit = env.payments.webhook_max_bytes.bytes();
    let body = body
        .open(limit)
        .into_bytes()
        .await
        .map_err(|_| AppError::BadRequest("The body could not be read.".into()))?;
    if !body.is_complete() {
        return Err(AppError::PayloadTooLarge);
    }
    let received = webhook::receive(db, env, provider, signature.0.as_deref(), &body).await?;
    let what = match received {
        Received::Processed => "processed",
        Received::Duplicate => "duplicate",
    };
    Ok((Status::Ok, Json(json!({"received": true, "result": what}))))
}

/// The routes.
pub fn routes() -> Vec<Route> {
    routes![pay, receive]
}
