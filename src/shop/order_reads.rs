//! Reading orders: one order (only its customer's, when asked so), its
//! lines and history, and the admin's filtered list. `orders.rs` places
//! and moves them.

use super::orders::{Event, Order, OrderLine, COLUMNS};
use super::state::OrderState;
use crate::db::DbPool;
use crate::error::AppResult;

/// The order `id`; with `user_id`, only if it is theirs.
pub async fn get(db: &DbPool, id: i64, user_id: Option<i64>) -> AppResult<Option<Order>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM shop_orders WHERE id = $1 AND ($2 = 0 OR user_id = $2)"
    ))
    .bind(id)
    .bind(user_id.unwrap_or(0))
    .fetch_optional(&db.pool)
    .await?)
}

/// An order's lines and its history.
pub async fn details(db: &DbPool, id: i64) -> AppResult<(Vec<OrderLine>, Vec<Event>)> {
    let lines = sqlx::query_as(
        "SELECT variant_id, title, sku, unit_price, quantity FROM shop_order_lines WHERE order_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    let events = sqlx::query_as(
        "SELECT from_state, to_state, actor, note, at FROM shop_order_events WHERE order_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    Ok((lines, events))
}

/// Filters of an order list.
#[derive(Debug, Default)]
pub struct Filter {
    pub user_id: Option<i64>,
    pub state: Option<OrderState>,
    /// Only orders placed on or after this time.
    pub since: i64,
    /// Only orders of customers whose name or email contains this.
    pub customer: String,
}

/// Newest orders first (at most 100).
pub async fn list(db: &DbPool, f: &Filter) -> AppResult<Vec<(Order, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        order: Order,
        username: String,
    }
    let cols: Vec<String> = COLUMNS.split(", ").map(|c| format!("o.{c}")).collect();
    let [name, email] = ["u.username", "u.email"].map(|c| crate::db::contains(db.backend, c, "$5"));
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {}, u.username FROM shop_orders o JOIN users u ON u.id = o.user_id \
         WHERE ($1 = 0 OR o.user_id = $1) AND ($2 = '' OR o.state = $2) AND o.created_at >= $3 \
         AND ($4 = '' OR {name} OR {email}) \
         ORDER BY o.id DESC LIMIT 100",
        cols.join(", ")
    ))
    .bind(f.user_id.unwrap_or(0))
    .bind(f.state.map(OrderState::as_str).unwrap_or(""))
    .bind(f.since)
    .bind(f.customer.trim())
    .bind(crate::db::search_text(&f.customer))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.order, r.username)).collect())
}
