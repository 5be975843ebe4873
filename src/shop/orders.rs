//! Orders: placing one (stock reserved in the order's own transaction, so
//! stock k is sold at most k times across every app process), moving it
//! through the state machine (`state.rs`) with a record of who and when,
//! and the customer's mails. Reading orders is in `order_reads.rs`, the
//! expiry job in `expiry.rs`, saved addresses in `addresses.rs`.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::model::AddressForm;
pub use super::order_reads::{details, get, list, Filter};
use super::state::{may_transition, refusal, releases_stock, OrderState};
use super::{ShippingMethod, Shop};
use crate::db::{begin_write, is_unique_violation, now, DbPool};
use crate::error::{AppError, AppResult};
use crate::jobs::{self, NewJob};
use crate::mail::{self, MailContent};
use crate::mail_templates;

/// The job kind that expires an unpaid order.
pub const EXPIRE_KIND: &str = "shop_expire";

/// A stored order.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Order {
    pub id: i64,
    pub user_id: i64,
    pub state: String,
    pub currency: String,
    pub subtotal: i64,
    pub shipping: i64,
    pub total: i64,
    pub shipping_method: String,
    pub ship_name: String,
    pub ship_line1: String,
    pub ship_line2: String,
    pub ship_city: String,
    pub ship_postcode: String,
    pub ship_country: String,
    pub tracking: String,
    pub expires_at: i64,
    pub created_at: i64,
}

impl Order {
    /// The order's state (an unknown stored name reads as cancelled).
    pub fn state(&self) -> OrderState {
        OrderState::parse(&self.state).unwrap_or(OrderState::Cancelled)
    }
}

pub(super) const COLUMNS: &str = "id, user_id, state, currency, subtotal, shipping, total, shipping_method, \
     ship_name, ship_line1, ship_line2, ship_city, ship_postcode, ship_country, tracking, expires_at, created_at";

/// A line of an order, with the price copied when it was placed.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct OrderLine {
    pub variant_id: Option<i64>,
    pub title: String,
    pub sku: String,
    pub unit_price: i64,
    pub quantity: i64,
}

/// One recorded transition.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Event {
    pub from_state: String,
    pub to_state: String,
    pub actor: String,
    pub note: String,
    pub at: i64,
}

/// What to buy: a variant and how many.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct Want {
    pub variant_id: i64,
    pub quantity: i64,
}

/// Everything placing an order needs.
pub struct Checkout<'a> {
    pub user_id: i64,
    pub actor: &'a str,
    pub wants: &'a [Want],
    pub address: &'a AddressForm,
    pub method: &'a ShippingMethod,
    /// One order per (customer, token): the checkout form's hidden token,
    /// or the API's `Idempotency-Key`.
    pub token: &'a str,
    /// The cart to empty once the order is placed.
    pub cart_id: Option<i64>,
}

/// What placing an order did.
#[derive(Debug)]
pub enum Placed {
    /// A new order.
    Created(i64),
    /// This token already placed this order (a double click, a reload).
    Existing(i64),
    /// Nothing was placed: these items have too little stock left.
    SoldOut(Vec<String>),
}

/// The order `token` placed for `user_id`, if any.
async fn by_token(conn: &mut AnyConnection, user_id: i64, token: &str) -> AppResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM shop_orders WHERE user_id = $1 AND checkout_token = $2")
            .bind(user_id)
            .bind(token)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Place an order: in one write transaction, take each line's stock with
/// a conditional `UPDATE … WHERE stock >= n` (a row that no longer has
/// enough is not touched, and the whole order is rolled back), copy the
/// prices, record the first state, queue its expiry and empty the cart.
pub async fn place(db: &DbPool, shop: &Shop, c: &Checkout<'_>) -> AppResult<Placed> {
    if c.wants.is_empty() {
        return Err(AppError::BadRequest("The cart is empty.".into()));
    }
    let mut tx = begin_write(db).await?;
    if let Some(id) = by_token(&mut tx, c.user_id, c.token).await? {
        return Ok(Placed::Existing(id));
    }
    let mut sold_out = Vec::new();
    let mut lines = Vec::new();
    // Always lock rows in the same order, so two orders cannot deadlock.
    let mut wants = c.wants.to_vec();
    wants.sort_by_key(|w| w.variant_id);
    for w in &wants {
        let found: Option<(String, String, String, i64)> = sqlx::query_as(
            "SELECT p.title, v.name, v.sku, v.price FROM shop_variants v \
             JOIN shop_products p ON p.id = v.product_id WHERE v.id = $1 AND p.active = 1",
        )
        .bind(w.variant_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((title, name, sku, price)) = found else {
            sold_out.push(format!("item {}", w.variant_id));
            continue;
        };
        let title = if name.is_empty() {
            title
        } else {
            format!("{title} – {name}")
        };
        let taken = sqlx::query(
            "UPDATE shop_variants SET stock = stock - $1 WHERE id = $2 AND stock >= $1",
        )
        .bind(w.quantity)
        .bind(w.variant_id)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            sold_out.push(title);
            continue;
        }
        lines.push((*w, title, sku, price));
    }
    if !sold_out.is_empty() {
        tx.rollback().await?;
        return Ok(Placed::SoldOut(sold_out));
    }
    let subtotal: i64 = lines.iter().map(|(w, _, _, p)| p * w.quantity).sum();
    let t = now();
    let expires_at = t + shop.payment_timeout;
    let a = c.address;
    let inserted = sqlx::query_scalar(
        "INSERT INTO shop_orders (user_id, state, currency, subtotal, shipping, total, shipping_method, \
         ship_name, ship_line1, ship_line2, ship_city, ship_postcode, ship_country, checkout_token, \
         expires_at, created_at, updated_at) \
         VALUES ($1, 'pending_payment', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id",
    )
    .bind(c.user_id)
    .bind(shop.currency.code)
    .bind(subtotal)
    .bind(c.method.price)
    .bind(subtotal + c.method.price)
    .bind(&c.method.name)
    .bind(&a.name)
    .bind(&a.line1)
    .bind(&a.line2)
    .bind(&a.city)
    .bind(&a.postcode)
    .bind(&a.country)
    .bind(c.token)
    .bind(expires_at)
    .bind(t)
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match inserted {
        Ok(id) => id,
        // The same token at the same moment through another process: its
        // order won; ours is rolled back with the stock it took.
        Err(e) if is_unique_violation(&e) => {
            tx.rollback().await?;
            let mut conn = db.pool.acquire().await?;
            return match by_token(&mut conn, c.user_id, c.token).await? {
                Some(id) => Ok(Placed::Existing(id)),
                None => Err(e.into()),
            };
        }
        Err(e) => return Err(e.into()),
    };
    for (w, title, sku, price) in &lines {
        sqlx::query(
            "INSERT INTO shop_order_lines (order_id, variant_id, title, sku, unit_price, quantity) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(w.variant_id)
        .bind(title)
        .bind(sku)
        .bind(price)
        .bind(w.quantity)
        .execute(&mut *tx)
        .await?;
    }
    record(
        &mut tx,
        id,
        "",
        OrderState::PendingPayment,
        c.actor,
        "Order placed.",
    )
    .await?;
    let job = NewJob::new(EXPIRE_KIND, &super::expiry::ExpireJob { order_id: id })?
        .at(expires_at)
        .unique(&format!("{EXPIRE_KIND}:{id}"));
    jobs::enqueue(&mut tx, &job).await?;
    if let Some(cart_id) = c.cart_id {
        super::cart::clear(&mut tx, cart_id).await?;
    }
    tx.commit().await?;
    Ok(Placed::Created(id))
}

async fn record(
    conn: &mut AnyConnection,
    order_id: i64,
    from: &str,
    to: OrderState,
    actor: &str,
    note: &str,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO shop_order_events (order_id, from_state, to_state, actor, note, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(order_id)
    .bind(from)
    .bind(to.as_str())
    .bind(actor)
    .bind(note)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A transition someone asks for.
pub struct Change<'a> {
    pub to: OrderState,
    pub actor: &'a str,
    pub note: &'a str,
    /// A tracking number, kept when the order ships.
    pub tracking: Option<&'a str>,
}

/// Move order `id` to `change.to` inside the caller's transaction:
/// refused with 409 and a clear message when the state machine does not
/// allow it (or someone moved the order first); stock goes back when the
/// order is cancelled or expires; the customer is mailed when it is paid
/// or ships. `base_url` is needed for those mails.
pub async fn apply(
    conn: &mut AnyConnection,
    base_url: &str,
    shop: Option<&Shop>,
    id: i64,
    change: &Change<'_>,
) -> AppResult<()> {
    let found: Option<(String, i64, String, String)> = sqlx::query_as(
        "SELECT o.state, o.total, u.username, u.email FROM shop_orders o \
         JOIN users u ON u.id = o.user_id WHERE o.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (state, total, username, email) = found.ok_or(AppError::NotFound)?;
    let from = OrderState::parse(&state).unwrap_or(OrderState::Cancelled);
    if !may_transition(from, change.to) {
        return Err(AppError::Conflict(refusal(from, change.to)));
    }
    let done = sqlx::query(
        "UPDATE shop_orders SET state = $1, updated_at = $2, \
         tracking = CASE WHEN $3 = '' THEN tracking ELSE $3 END WHERE id = $4 AND state = $5",
    )
    .bind(change.to.as_str())
    .bind(now())
    .bind(change.tracking.unwrap_or(""))
    .bind(id)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(AppError::Conflict(
            "Someone changed this order at the same moment. Reload and try again.".into(),
        ));
    }
    if releases_stock(from, change.to) {
        sqlx::query(
            "UPDATE shop_variants SET stock = stock + (SELECT COALESCE(CAST(SUM(l.quantity) AS BIGINT), 0) \
             FROM shop_order_lines l WHERE l.order_id = $1 AND l.variant_id = shop_variants.id) \
             WHERE id IN (SELECT variant_id FROM shop_order_lines WHERE order_id = $1)",
        )
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    record(
        conn,
        id,
        from.as_str(),
        change.to,
        change.actor,
        change.note,
    )
    .await?;
    let mail = match change.to {
        OrderState::Paid => Some(("paid", "Thank you: your order is paid")),
        OrderState::Fulfilled => Some(("shipped", "Your order is on its way")),
        _ => None,
    };
    if let (Some((kind, subject)), Some(shop)) = (mail, shop) {
        let m = OrderMail {
            kind,
            subject,
            username,
            order_id: id,
            total: shop.money(total),
            tracking: change.tracking.unwrap_or("").to_string(),
            link: format!("{}/shop/orders/{id}", base_url.trim_end_matches('/')),
        };
        let email = m
            .to(&email, None)
            .map_err(|e| AppError::Internal(format!("order mail: {e}")))?;
        mail::enqueue(conn, base_url, &email, Some(("shop_order", id))).await?;
    }
    Ok(())
}

/// [`apply`] in a transaction of its own.
pub async fn transition(
    db: &DbPool,
    base_url: &str,
    shop: &Shop,
    id: i64,
    change: &Change<'_>,
) -> AppResult<()> {
    let mut tx = begin_write(db).await?;
    apply(&mut tx, base_url, Some(shop), id, change).await?;
    tx.commit().await?;
    Ok(())
}

/// "Your order is paid" and "your order is on its way".
pub struct OrderMail {
    pub kind: &'static str,
    pub subject: &'static str,
    pub username: String,
    pub order_id: i64,
    pub total: String,
    pub tracking: String,
    pub link: String,
}
mail_templates!(OrderMail, "email/shop_order.txt", "email/shop_order.html");

impl MailContent for OrderMail {
    const NAME: &'static str = "shop_order";
    fn subject(&self) -> String {
        format!("{} (order {})", self.subject, self.order_id)
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

/// The order checkout token `token` placed for `user_id`, if any.
pub async fn by_checkout_token(db: &DbPool, user_id: i64, token: &str) -> AppResult<Option<i64>> {
    let mut conn = db.pool.acquire().await?;
    by_token(&mut conn, user_id, token).await
}
