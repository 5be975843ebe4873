//! The shop's admin JSON endpoints under `/shop/api/admin`: order
//! transitions, restocking a variant and creating a product (`api.rs` has
//! the catalogue, cart, checkout and the customer's orders, and the
//! `Idempotency-Key` handling both use).

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::api::{once, order_json, Answer, IdempotencyKey};
use super::catalogue;
use super::model::ProductForm;
use super::orders::{self, Change};
use super::state::OrderState;
use super::Shop;
use crate::api::json::{Fields, JsonBody};
use crate::api::{ApiAdmin, ApiRequest};
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};

#[derive(Debug, Deserialize, Serialize)]
pub struct TransitionRequest {
    pub to: String,
    pub tracking: Option<String>,
    pub note: Option<String>,
}

impl Fields for TransitionRequest {
    const FIELDS: &'static [&'static str] = &["to", "tracking", "note"];
}

#[post("/shop/api/admin/orders/<id>/transitions", data = "<body>")]
async fn transition(
    _api: ApiRequest,
    db: &Db,
    cfg: &State<AppConfig>,
    shop: &State<Shop>,
    admin: ApiAdmin,
    id: i64,
    body: JsonBody<TransitionRequest>,
) -> AppResult<Json<Value>> {
    let JsonBody(b) = body;
    let mut errors = FieldErrors::default();
    let Some(to) = OrderState::parse(&b.to) else {
        errors.add("to", "Unknown state.");
        return Err(AppError::Validation(errors));
    };
    let tracking = crate::web::text::one_line(b.tracking.as_deref().unwrap_or(""));
    let note = crate::web::text::one_line(b.note.as_deref().unwrap_or(""));
    if tracking.chars().count() > 100
        || note.chars().count() > 500
        || tracking.contains('\0')
        || note.contains('\0')
    {
        errors.add(
            "note",
            "Keep the tracking number under 100 and the note under 500 characters.",
        );
        return Err(AppError::Validation(errors));
    }
    let change = Change {
        to,
        actor: &admin.0.username,
        note: &note,
        tracking: Some(&tracking),
    };
    orders::transition(db, &cfg.base_url, shop, id, &change).await?;
    Ok(Json(order_json(db, shop, id, None).await?))
}

/// `POST /shop/api/admin/variants/{id}/restock`.
#[derive(Debug, Deserialize)]
pub struct RestockRequest {
    pub add: i64,
}

impl Fields for RestockRequest {
    const FIELDS: &'static [&'static str] = &["add"];
}

#[post("/shop/api/admin/variants/<id>/restock", data = "<body>")]
async fn restock(
    _api: ApiRequest,
    db: &Db,
    _admin: ApiAdmin,
    id: i64,
    body: JsonBody<RestockRequest>,
) -> AppResult<Json<Value>> {
    if !(1..=1_000_000).contains(&body.0.add) {
        let mut errors = FieldErrors::default();
        errors.add("add", "Add from 1 to 1,000,000.");
        return Err(AppError::Validation(errors));
    }
    let stock = catalogue::restock(db, id, body.0.add)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(json!({ "variant_id": id, "stock": stock })))
}

/// `POST /shop/api/admin/products`: amounts as decimal strings ("12.50").
#[derive(Debug, Deserialize, Serialize)]
pub struct ProductRequest {
    pub title: String,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub compare_at: Option<String>,
    pub category: Option<String>,
    pub active: Option<bool>,
    pub sku: String,
    pub price: String,
    pub stock: i64,
}

impl Fields for ProductRequest {
    const FIELDS: &'static [&'static str] = &[
        "title",
        "slug",
        "description",
        "compare_at",
        "category",
        "active",
        "sku",
        "price",
        "stock",
    ];
}

#[post("/shop/api/admin/products", data = "<body>")]
async fn create_product(
    _api: ApiRequest,
    db: &Db,
    shop: &State<Shop>,
    admin: ApiAdmin,
    key: IdempotencyKey,
    body: JsonBody<ProductRequest>,
) -> AppResult<Answer> {
    let JsonBody(b) = body;
    once(db, admin.0.id, &key, &b, || async {
        let form = ProductForm {
            title: b.title.clone(),
            slug: b.slug.clone().unwrap_or_default(),
            description: b.description.clone().unwrap_or_default(),
            compare_at: b.compare_at.clone().unwrap_or_default(),
            category: b.category.clone().unwrap_or_default(),
            active: b.active.unwrap_or(false),
            sku: b.sku.clone(),
            price: b.price.clone(),
            stock: b.stock.to_string(),
        };
        let (p, v) = form
            .validate(&shop.currency)
            .map_err(AppError::Validation)?;
        let id = catalogue::create(db, &p, &v).await?;
        let p = catalogue::by_id(db, id).await?.ok_or(AppError::NotFound)?;
        let variants = catalogue::variants(db, id).await?;
        Ok((
            Status::Created,
            Json(json!({ "product": p, "variants": variants })),
        ))
    })
    .await
}

/// The admin JSON routes.
pub fn routes() -> Vec<Route> {
    routes![transition, restock, create_product]
}
