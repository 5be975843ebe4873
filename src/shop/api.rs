//! The shop's JSON API under `/shop/api`: the catalogue (public), the
//! member's cart, checkout and orders (bearer token), and admin endpoints
//! for products, stock and order transitions. Every POST that creates
//! something honours `Idempotency-Key`: the same key with the same body
//! answers the first answer again; with another body, 422.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::catalogue::{self, ListQuery};
use super::model::{quantity, AddressForm};
use super::orders::{self, Change, Checkout, Placed, Want};
use super::state::OrderState;
use super::{cart, Shop};
use crate::api::json::{Fields, JsonBody};
use crate::api::{ApiRequest, ApiUser};
use crate::config::AppConfig;
use crate::db::{now, Db, DbPool};
use crate::error::{AppError, AppResult, FieldErrors, GuardError};

/// The `Idempotency-Key` header: 1 to 200 visible ASCII characters.
pub struct IdempotencyKey(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IdempotencyKey {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match req.headers().get_one("Idempotency-Key") {
            None => Outcome::Success(IdempotencyKey(None)),
            Some(k) if (1..=200).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
                Outcome::Success(IdempotencyKey(Some(k.to_string())))
            }
            Some(_) => {
                let e = AppError::BadRequest(
                    "Idempotency-Key must be 1 to 200 visible ASCII characters.".into(),
                );
                Outcome::Error((GuardError::stash(req, e), ()))
            }
        }
    }
}

pub(super) type Answer = (Status, Json<Value>);

/// Run `create` once per (user, key): a stored answer is replayed when the
/// body is the same, and a different body under the same key is 422.
/// Without a key, `create` simply runs. Only successes are kept, so a
/// request that failed may be retried with its key.
pub(super) async fn once<F, Fut>(
    db: &DbPool,
    user_id: i64,
    key: &IdempotencyKey,
    body: &impl Serialize,
    create: F,
) -> AppResult<Answer>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<Answer>>,
{
    let Some(key) = key.0.as_deref() else {
        return create().await;
    };
    let text = serde_json::to_string(body).map_err(|e| AppError::Internal(e.to_string()))?;
    let hash = format!("{:x}", Sha256::digest(text.as_bytes()));
    let stored: Option<(String, i64, String)> = sqlx::query_as(
        "SELECT request_hash, status, response FROM shop_idempotency WHERE user_id = $1 AND idem_key = $2",
    )
    .bind(user_id)
    .bind(key)
    .fetch_optional(&db.pool)
    .await?;
    if let Some((h, status, response)) = stored {
        if h != hash {
            let mut errors = FieldErrors::default();
            errors.add(
                "Idempotency-Key",
                "This key was used with a different request body.",
            );
            return Err(AppError::Validation(errors));
        }
        let value: Value = serde_json::from_str(&response).unwrap_or(Value::Null);
        return Ok((
            Status::from_code(status as u16).unwrap_or(Status::Ok),
            Json(value),
        ));
    }
    let (status, Json(value)) = create().await?;
    sqlx::query(
        "INSERT INTO shop_idempotency (user_id, idem_key, request_hash, status, response, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(key)
    .bind(&hash)
    .bind(i64::from(status.code))
    .bind(value.to_string())
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok((status, Json(value)))
}

#[get("/shop/api/products?<q>&<category>&<after>&<limit>")]
async fn products(
    _api: ApiRequest,
    db: &Db,
    q: Option<&str>,
    category: Option<&str>,
    after: Option<i64>,
    limit: Option<i64>,
) -> AppResult<Json<Value>> {
    let limit = limit.unwrap_or(24);
    if !(1..=100).contains(&limit) {
        let mut errors = FieldErrors::default();
        errors.add("limit", "Use a limit from 1 to 100.");
        return Err(AppError::Validation(errors));
    }
    let q: String = q.unwrap_or("").chars().take(100).collect();
    let query = ListQuery {
        q: &q,
        category: category.unwrap_or(""),
        after: after.unwrap_or(0).max(0),
        limit,
        include_drafts: false,
    };
    let (rows, more) = catalogue::list(db, &query).await?;
    let next = rows.last().filter(|_| more).map(|r| r.id);
    Ok(Json(json!({ "products": rows, "next_after": next })))
}

#[get("/shop/api/products/<slug>")]
async fn product(_api: ApiRequest, db: &Db, slug: &str) -> AppResult<Json<Value>> {
    let p = catalogue::by_slug(db, slug, false)
        .await?
        .ok_or(AppError::NotFound)?;
    let variants = catalogue::variants(db, p.id).await?;
    let images: Vec<String> = catalogue::image_ids(db, p.id)
        .await?
        .into_iter()
        .map(|id| format!("/shop/images/{id}"))
        .collect();
    Ok(Json(
        json!({ "product": p, "variants": variants, "images": images }),
    ))
}

async fn cart_json(db: &DbPool, user_id: i64) -> AppResult<Value> {
    let mut conn = db.pool.acquire().await?;
    let cart_id: Option<i64> = sqlx::query_scalar("SELECT id FROM shop_carts WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    let lines = match cart_id {
        Some(id) => cart::lines_on(&mut conn, id).await?,
        None => Vec::new(),
    };
    let items: Vec<Value> = lines
        .iter()
        .map(|l| {
            json!({
                "variant_id": l.variant_id, "slug": l.slug, "title": l.title, "variant": l.variant,
                "sku": l.sku, "quantity": l.quantity, "price": l.price, "price_when_added": l.price_seen,
                "price_changed": l.price_changed(), "stock": l.stock, "available": !l.unavailable(),
            })
        })
        .collect();
    let subtotal: i64 = lines.iter().map(|l| l.price * l.quantity).sum();
    Ok(json!({ "items": items, "subtotal": subtotal }))
}

#[get("/shop/api/cart")]
async fn get_cart(_api: ApiRequest, db: &Db, me: ApiUser) -> AppResult<Json<Value>> {
    Ok(Json(cart_json(db, me.0.id).await?))
}

/// `POST /shop/api/cart/items`.
#[derive(Debug, Deserialize, Serialize)]
pub struct CartItemRequest {
    pub variant_id: i64,
    pub quantity: i64,
}

impl Fields for CartItemRequest {
    const FIELDS: &'static [&'static str] = &["variant_id", "quantity"];
}

#[post("/shop/api/cart/items", data = "<body>")]
async fn add_item(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    key: IdempotencyKey,
    body: JsonBody<CartItemRequest>,
) -> AppResult<Answer> {
    let JsonBody(b) = body;
    once(db, me.0.id, &key, &b, || async {
        let n = quantity(&b.quantity.to_string(), false).map_err(|m| {
            let mut errors = FieldErrors::default();
            errors.add("quantity", m);
            AppError::Validation(errors)
        })?;
        let cart_id = cart::of_member(db, me.0.id).await?;
        cart::add(db, cart_id, b.variant_id, n).await?;
        Ok((Status::Created, Json(cart_json(db, me.0.id).await?)))
    })
    .await
}

/// `POST /shop/api/orders`: the items (or, when left out, the cart), the
/// address and the shipping method's code.
#[derive(Debug, Deserialize, Serialize)]
pub struct OrderRequest {
    pub items: Option<Vec<Want>>,
    pub address: AddressForm,
    pub shipping_method: String,
}

impl Fields for OrderRequest {
    const FIELDS: &'static [&'static str] = &["items", "address", "shipping_method"];
}

pub(super) async fn order_json(
    db: &DbPool,
    shop: &Shop,
    id: i64,
    user_id: Option<i64>,
) -> AppResult<Value> {
    let o = orders::get(db, id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (lines, events) = orders::details(db, id).await?;
    Ok(json!({
        "id": o.id, "state": o.state, "currency": shop.currency.code, "subtotal": o.subtotal,
        "shipping": o.shipping, "total": o.total, "shipping_method": o.shipping_method,
        "address": {
            "name": o.ship_name, "line1": o.ship_line1, "line2": o.ship_line2, "city": o.ship_city,
            "postcode": o.ship_postcode, "country": o.ship_country,
        },
        "tracking": o.tracking, "created_at": o.created_at, "expires_at": o.expires_at,
        "lines": lines, "history": events,
    }))
}

#[post("/shop/api/orders", data = "<body>")]
async fn create_order(
    _api: ApiRequest,
    db: &Db,
    shop: &State<Shop>,
    me: ApiUser,
    key: IdempotencyKey,
    body: JsonBody<OrderRequest>,
) -> AppResult<Answer> {
    let JsonBody(b) = body;
    let Some(token) = key.0.as_ref().map(|k| format!("api:{k}")) else {
        return Err(AppError::BadRequest(
            "Send an Idempotency-Key header so that a retried order is placed once.".into(),
        ));
    };
    once(db, me.0.id, &key, &b, || async {
        let mut errors = FieldErrors::default();
        let address = b.address.validate().map_err(AppError::Validation)?;
        let method = shop.method(&b.shipping_method).cloned();
        let Some(method) = method else {
            errors.add("shipping_method", "Unknown shipping method.");
            return Err(AppError::Validation(errors));
        };
        let cart_id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM shop_carts WHERE user_id = $1")
                .bind(me.0.id)
                .fetch_optional(&db.pool)
                .await?;
        let (wants, cart_id) = match &b.items {
            Some(items) => (items.clone(), None),
            None => {
                let lines = match cart_id {
                    Some(id) => cart::lines(db, id).await?,
                    None => Vec::new(),
                };
                let wants = lines
                    .iter()
                    .map(|l| Want {
                        variant_id: l.variant_id,
                        quantity: l.quantity,
                    })
                    .collect();
                (wants, cart_id)
            }
        };
        if wants.is_empty()
            || wants.len() > 50
            || wants
                .iter()
                .any(|w| !(1..=super::model::QUANTITY_MAX).contains(&w.quantity))
        {
            errors.add(
                "items",
                "Order 1 to 50 items, each a quantity from 1 to 99.",
            );
            return Err(AppError::Validation(errors));
        }
        let checkout = Checkout {
            user_id: me.0.id,
            actor: &me.0.username,
            wants: &wants,
            address: &address,
            method: &method,
            token: &token,
            cart_id,
        };
        match orders::place(db, shop, &checkout).await? {
            Placed::Created(id) => {
                Ok((Status::Created, Json(order_json(db, shop, id, None).await?)))
            }
            Placed::Existing(id) => {
                Ok((Status::Created, Json(order_json(db, shop, id, None).await?)))
            }
            Placed::SoldOut(items) => Err(AppError::Conflict(format!(
                "Sold out: not enough stock is left of {}. Nothing was ordered.",
                items.join(", ")
            ))),
        }
    })
    .await
}

#[get("/shop/api/orders")]
async fn my_orders(
    _api: ApiRequest,
    db: &Db,
    shop: &State<Shop>,
    me: ApiUser,
) -> AppResult<Json<Value>> {
    let filter = orders::Filter {
        user_id: Some(me.0.id),
        ..Default::default()
    };
    let rows = orders::list(db, &filter).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|(o, _)| json!({"id": o.id, "state": o.state, "currency": shop.currency.code, "total": o.total, "created_at": o.created_at}))
        .collect();
    Ok(Json(json!({ "orders": list })))
}

#[get("/shop/api/orders/<id>")]
async fn order(
    _api: ApiRequest,
    db: &Db,
    shop: &State<Shop>,
    me: ApiUser,
    id: i64,
) -> AppResult<Json<Value>> {
    Ok(Json(order_json(db, shop, id, Some(me.0.id)).await?))
}

#[post("/shop/api/orders/<id>/cancel")]
async fn cancel(
    _api: ApiRequest,
    db: &Db,
    cfg: &State<AppConfig>,
    shop: &State<Shop>,
    me: ApiUser,
    id: i64,
) -> AppResult<Json<Value>> {
    let o = orders::get(db, id, Some(me.0.id))
        .await?
        .ok_or(AppError::NotFound)?;
    if o.state() != OrderState::PendingPayment {
        return Err(AppError::Conflict(super::state::refusal(
            o.state(),
            OrderState::Cancelled,
        )));
    }
    let change = Change {
        to: OrderState::Cancelled,
        actor: &me.0.username,
        note: "Cancelled by the customer.",
        tracking: None,
    };
    orders::transition(db, &cfg.base_url, shop, id, &change).await?;
    Ok(Json(order_json(db, shop, id, None).await?))
}

/// `POST /shop/api/admin/orders/{id}/transitions`.
/// The shop's JSON routes.
pub fn routes() -> Vec<Route> {
    routes![
        products,
        product,
        get_cart,
        add_item,
        create_order,
        my_orders,
        order,
        cancel,
    ]
    .into_iter()
    .chain(super::admin_api::routes())
    .collect()
}
