//! Carts. A member's cart is found by their user id; a visitor's by a
//! random token in a private (encrypted, signed) cookie whose SHA-256 is
//! stored, so every app process finds it. At sign-in the visitor's cart is
//! merged into the member's (see `merge_at_sign_in`, run by the session
//! layer's sign-in hooks).

use rocket::http::{Cookie, CookieJar, SameSite};
use serde::Serialize;
use sqlx::AnyConnection;

use super::model::QUANTITY_MAX;
use crate::db::{affected, begin_write, now, DbPool};
use crate::error::{AppError, AppResult};
use crate::session::{hash_token, random_token};

/// The cookie that ties a visitor's browser to their cart.
pub const CART_COOKIE: &str = "gw_cart";

/// One line of a cart, with the variant as it is now.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Line {
    pub variant_id: i64,
    pub slug: String,
    pub title: String,
    pub variant: String,
    pub sku: String,
    pub quantity: i64,
    /// The price when the line was added.
    pub price_seen: i64,
    /// The price now: what checkout charges.
    pub price: i64,
    pub stock: i64,
    pub active: i64,
}

impl Line {
    /// True when the price changed since the line was added.
    pub fn price_changed(&self) -> bool {
        self.price != self.price_seen
    }
    /// True when the line cannot be bought as it is.
    pub fn unavailable(&self) -> bool {
        self.active == 0 || self.stock < self.quantity
    }
}

/// Whose cart.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Member(i64),
    Visitor,
}

async fn visitor_cart(db: &DbPool, cookies: &CookieJar<'_>) -> AppResult<Option<i64>> {
    let Some(c) = cookies.get_private(CART_COOKIE) else {
        return Ok(None);
    };
    Ok(
        sqlx::query_scalar("SELECT id FROM shop_carts WHERE token_hash = $1")
            .bind(hash_token(c.value()))
            .fetch_optional(&db.pool)
            .await?,
    )
}

async fn member_cart(
    conn: &mut AnyConnection,
    user_id: i64,
    create: bool,
) -> AppResult<Option<i64>> {
    if create {
        let t = now();
        sqlx::query(
            "INSERT INTO shop_carts (user_id, created_at, updated_at) VALUES ($1, $2, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(t)
        .execute(&mut *conn)
        .await?;
    }
    Ok(
        sqlx::query_scalar("SELECT id FROM shop_carts WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The cart of `owner`, if it has one.
pub async fn find(db: &DbPool, cookies: &CookieJar<'_>, owner: Owner) -> AppResult<Option<i64>> {
    match owner {
        Owner::Member(id) => {
            let mut conn = db.pool.acquire().await?;
            member_cart(&mut conn, id, false).await
        }
        Owner::Visitor => visitor_cart(db, cookies).await,
    }
}

/// The cart of `owner`, made (and for a visitor, its cookie set) if needed.
pub async fn find_or_create(
    db: &DbPool,
    cookies: &CookieJar<'_>,
    owner: Owner,
    secure: bool,
) -> AppResult<i64> {
    if let Some(id) = find(db, cookies, owner).await? {
        return Ok(id);
    }
    match owner {
        Owner::Member(user_id) => of_member(db, user_id).await,
        Owner::Visitor => {
            let token = random_token();
            let t = now();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO shop_carts (token_hash, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id",
            )
            .bind(hash_token(&token))
            .bind(t)
            .fetch_one(&db.pool)
            .await?;
            let cookie = Cookie::build((CART_COOKIE, token))
                .http_only(true)
                .same_site(SameSite::Lax)
                .path("/")
                .secure(secure)
                .max_age(rocket::time::Duration::days(30));
            cookies.add_private(cookie);
            Ok(id)
        }
    }
}

/// The member's cart, made if needed (the API's cart).
pub async fn of_member(db: &DbPool, user_id: i64) -> AppResult<i64> {
    let mut conn = db.pool.acquire().await?;
    member_cart(&mut conn, user_id, true)
        .await?
        .ok_or_else(|| AppError::Internal("cart not created".into()))
}

/// The lines of cart `cart_id`, oldest first.
pub async fn lines(db: &DbPool, cart_id: i64) -> AppResult<Vec<Line>> {
    lines_on(&mut *db.pool.acquire().await?, cart_id).await
}

/// [`lines`] on the caller's connection or transaction.
pub async fn lines_on(conn: &mut AnyConnection, cart_id: i64) -> AppResult<Vec<Line>> {
    Ok(sqlx::query_as(
        "SELECT i.variant_id, p.slug, p.title, v.name AS variant, v.sku, i.quantity, i.price_seen, \
         v.price, v.stock, p.active FROM shop_cart_items i \
         JOIN shop_variants v ON v.id = i.variant_id JOIN shop_products p ON p.id = v.product_id \
         WHERE i.cart_id = $1 ORDER BY i.added_at, i.variant_id",
    )
    .bind(cart_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// How many items a cart holds (for the cart link).
pub async fn count(db: &DbPool, cart_id: i64) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(CAST(SUM(quantity) AS BIGINT), 0) FROM shop_cart_items WHERE cart_id = $1",
    )
    .bind(cart_id)
    .fetch_one(&db.pool)
    .await?)
}

/// Add `quantity` of a variant to a cart (added to what is there, capped
/// by the stock and [`QUANTITY_MAX`]). A missing, draft or sold-out
/// variant is refused with a message.
pub async fn add(db: &DbPool, cart_id: i64, variant_id: i64, quantity: i64) -> AppResult<()> {
    let mut tx = begin_write(db).await?;
    let found: Option<(i64, i64)> = sqlx::query_as(
        "SELECT v.price, v.stock FROM shop_variants v JOIN shop_products p ON p.id = v.product_id \
         WHERE v.id = $1 AND p.active = 1",
    )
    .bind(variant_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (price, stock) = found.ok_or(AppError::NotFound)?;
    if stock < 1 {
        return Err(AppError::Conflict("Sorry, this item is sold out.".into()));
    }
    let cap = stock.min(QUANTITY_MAX);
    sqlx::query(
        "INSERT INTO shop_cart_items (cart_id, variant_id, quantity, price_seen, added_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cart_id, variant_id) DO UPDATE SET \
         quantity = CASE WHEN shop_cart_items.quantity + $3 > $6 THEN $6 \
                         ELSE shop_cart_items.quantity + $3 END",
    )
    .bind(cart_id)
    .bind(variant_id)
    .bind(quantity.min(cap))
    .bind(price)
    .bind(now())
    .bind(cap)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Set a line's quantity (0 removes it). False when the cart has no such line.
pub async fn set_quantity(
    db: &DbPool,
    cart_id: i64,
    variant_id: i64,
    quantity: i64,
) -> AppResult<bool> {
    let done = if quantity == 0 {
        sqlx::query("DELETE FROM shop_cart_items WHERE cart_id = $1 AND variant_id = $2")
            .bind(cart_id)
            .bind(variant_id)
            .execute(&db.pool)
            .await?
    } else {
        sqlx::query(
            "UPDATE shop_cart_items SET quantity = $1 WHERE cart_id = $2 AND variant_id = $3",
        )
        .bind(quantity)
        .bind(cart_id)
        .bind(variant_id)
        .execute(&db.pool)
        .await?
    };
    Ok(affected(&done) == 1)
}

/// Empty a cart inside the caller's transaction (an order was placed).
pub async fn clear(conn: &mut AnyConnection, cart_id: i64) -> AppResult<()> {
    sqlx::query("DELETE FROM shop_cart_items WHERE cart_id = $1")
        .bind(cart_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Move the visitor's cart (found by this browser's cookie) into the
/// member's: quantities are added, capped by stock and [`QUANTITY_MAX`];
/// the visitor's cart and cookie are then gone. Nothing to do without one.
pub async fn merge_at_sign_in(db: &DbPool, cookies: &CookieJar<'_>, user_id: i64) -> AppResult<()> {
    let Some(visitor) = visitor_cart(db, cookies).await? else {
        return Ok(());
    };
    let mut tx = begin_write(db).await?;
    let member = member_cart(&mut tx, user_id, true)
        .await?
        .ok_or_else(|| AppError::Internal("cart not created".into()))?;
    let items: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT i.variant_id, i.quantity, i.price_seen, i.added_at, v.stock FROM shop_cart_items i \
         JOIN shop_variants v ON v.id = i.variant_id WHERE i.cart_id = $1",
    )
    .bind(visitor)
    .fetch_all(&mut *tx)
    .await?;
    for (variant_id, quantity, price_seen, added_at, stock) in items {
        let cap = stock.clamp(1, QUANTITY_MAX);
        sqlx::query(
            "INSERT INTO shop_cart_items (cart_id, variant_id, quantity, price_seen, added_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cart_id, variant_id) DO UPDATE SET \
             quantity = CASE WHEN shop_cart_items.quantity + $3 > $6 THEN $6 \
                             ELSE shop_cart_items.quantity + $3 END",
        )
        .bind(member)
        .bind(variant_id)
        .bind(quantity.min(cap))
        .bind(price_seen)
        .bind(added_at)
        .bind(cap)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM shop_carts WHERE id = $1")
        .bind(visitor)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    cookies.remove_private(Cookie::build(CART_COOKIE).path("/"));
    Ok(())
}
