//! Shop helpers: products seeded straight into the database (stock and
//! prices are what the tests are about, not the admin form), adding to a
//! cart and checking out through the pages, and API orders.

use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use super::json_api::ApiRequest;
use super::{extract_value, get, post_raw, submit, Resp, TestApp};

/// An active product `slug` with one variant; the variant's id.
pub async fn seed_product(app: &TestApp, slug: &str, price: i64, stock: i64) -> i64 {
    let product: i64 = sqlx::query_scalar(
        "INSERT INTO shop_products (slug, title, description, active, created_at, updated_at) \
         VALUES ($1, $2, '', 1, 0, 0) RETURNING id",
    )
    .bind(slug)
    .bind(format!("Product {slug}"))
    .fetch_one(&app.db.pool)
    .await
    .expect("product");
    sqlx::query_scalar(
        "INSERT INTO shop_variants (product_id, sku, name, price, stock, position) \
         VALUES ($1, $2, '', $3, $4, 0) RETURNING id",
    )
    .bind(product)
    .bind(slug.to_uppercase())
    .bind(price)
    .bind(stock)
    .fetch_one(&app.db.pool)
    .await
    .expect("variant")
}

/// Stock of variant `id` now.
pub async fn stock_of(app: &TestApp, id: i64) -> i64 {
    app.scalar(&format!("SELECT stock FROM shop_variants WHERE id = {id}"))
        .await
}

/// Add `quantity` of variant `id` (of product `slug`) through the product page's form.
pub async fn add_to_cart(client: &Client, slug: &str, id: i64, quantity: i64) -> Resp {
    submit(
        client,
        &format!("/shop/p/{slug}"),
        "/shop/cart/add",
        &[
            ("variant_id", &id.to_string()),
            ("quantity", &quantity.to_string()),
        ],
    )
    .await
}

/// A complete address for the checkout form.
pub const ADDRESS: &[(&str, &str)] = &[
    ("address.name", "Ada Lovelace"),
    ("address.line1", "12 Analytical Street"),
    ("address.city", "London"),
    ("address.postcode", "N1 1AA"),
    ("address.country", "United Kingdom"),
    ("method", "standard"),
];

/// Open the checkout page and place the order as a browser would; the
/// answer and the checkout token the page carried.
pub async fn checkout(client: &Client) -> (Resp, String) {
    let page = get(client, "/shop/checkout").await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    let token = extract_value(&page.body, "token").expect("a checkout token");
    let csrf = page.csrf();
    let mut fields = vec![("csrf_token", csrf.as_str()), ("token", token.as_str())];
    fields.extend_from_slice(ADDRESS);
    (
        post_raw(client, "/shop/checkout", &fields, &[]).await,
        token,
    )
}

/// The order id a redirect to `/shop/orders/<id>` names.
pub fn order_id(r: &Resp) -> i64 {
    r.location()
        .and_then(|l| l.strip_prefix("/shop/orders/"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a redirect to an order: {:?} {}", r.location(), r.body))
}

/// The JSON body of an API order for `quantity` of variant `id`.
pub fn order_body(id: i64, quantity: i64) -> String {
    json!({
        "items": [{"variant_id": id, "quantity": quantity}],
        "address": {"name": "Ada", "line1": "1 Road", "city": "Town", "postcode": "1000", "country": "BE"},
        "shipping_method": "standard",
    })
    .to_string()
}

/// `POST /shop/api/orders` with `token` and `key`.
pub async fn api_order(client: &Client, token: &str, key: &str, body: &str) -> Resp {
    ApiRequest::new(client, Method::Post, "/shop/api/orders")
        .token(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
}
