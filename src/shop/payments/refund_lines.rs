//! Refunds of particular order lines: what is left to refund of each line,
//! the amount of a refund of lines (their prices on the order), and what a
//! confirmed refund puts back in stock. `refunds.rs` asks the provider.

use sqlx::AnyConnection;

use crate::error::AppResult;

/// An order line and how many of it may still be refunded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundableLine {
    pub id: i64,
    pub title: String,
    pub sku: String,
    pub unit_price: i64,
    pub quantity: i64,
    pub left_quantity: i64,
}

/// Order `order_id`'s lines with what is left to refund of each (refunds
/// asked for, pending or done count; the one with form key `except` does
/// not, so that the same form may be sent again after a failure).
pub async fn refundable_lines(
    conn: &mut AnyConnection,
    order_id: i64,
    except: &str,
) -> AppResult<Vec<RefundableLine>> {
    Ok(sqlx::query_as(
        "SELECT l.id, l.title, l.sku, l.unit_price, l.quantity, \
                l.quantity - COALESCE((SELECT CAST(SUM(rl.quantity) AS BIGINT) \
                    FROM payment_refund_lines rl JOIN payment_refunds r ON r.id = rl.refund_id \
                    WHERE rl.line_id = l.id AND r.state IN ('requested', 'pending', 'succeeded') \
                    AND r.idem_key <> $2), 0) AS left_quantity \
         FROM shop_order_lines l WHERE l.order_id = $1 ORDER BY l.id",
    )
    .bind(order_id)
    .bind(except)
    .fetch_all(&mut *conn)
    .await?)
}

/// The amount of a refund of `wanted` (line id, quantity) among `lines`,
/// or why it cannot be.
pub(super) fn amount_of_lines(
    lines: &[RefundableLine],
    wanted: &[(i64, i64)],
) -> Result<i64, String> {
    let mut amount = 0i64;
    for (id, quantity) in wanted {
        let Some(line) = lines.iter().find(|l| l.id == *id) else {
            return Err("One of the items is not on this order: reload the order page.".into());
        };
        if *quantity < 0 || *quantity > line.left_quantity {
            return Err(format!(
                "At most {} of “{}” can be refunded.",
                line.left_quantity.max(0),
                line.title
            ));
        }
        amount = line
            .unit_price
            .checked_mul(*quantity)
            .and_then(|a| a.checked_add(amount))
            .ok_or_else(|| "That is more than this order's total.".to_string())?;
    }
    if amount == 0 {
        return Err("Choose how many of which items to refund.".into());
    }
    Ok(amount)
}

/// Put back in stock what refund `row` refunded: its lines, or, for a
/// refund of everything left, each line less what refunds of lines put
/// back before.
pub(super) async fn restock_refunded(
    conn: &mut AnyConnection,
    row: i64,
    order_id: i64,
) -> AppResult<()> {
    let of_lines: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM payment_refund_lines WHERE refund_id = $1")
            .bind(row)
            .fetch_one(&mut *conn)
            .await?;
    if of_lines > 0 {
        sqlx::query(
            "UPDATE shop_variants SET stock = stock + (SELECT COALESCE(CAST(SUM(rl.quantity) AS BIGINT), 0) \
             FROM payment_refund_lines rl JOIN shop_order_lines l ON l.id = rl.line_id \
             WHERE rl.refund_id = $1 AND l.variant_id = shop_variants.id) \
             WHERE id IN (SELECT l.variant_id FROM payment_refund_lines rl \
                          JOIN shop_order_lines l ON l.id = rl.line_id WHERE rl.refund_id = $1)",
        )
        .bind(row)
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query(
            "UPDATE shop_variants SET stock = stock \
             + (SELECT COALESCE(CAST(SUM(l.quantity) AS BIGINT), 0) FROM shop_order_lines l \
                WHERE l.order_id = $1 AND l.variant_id = shop_variants.id) \
             - (SELECT COALESCE(CAST(SUM(rl.quantity) AS BIGINT), 0) FROM payment_refund_lines rl \
                JOIN payment_refunds r ON r.id = rl.refund_id JOIN shop_order_lines l ON l.id = rl.line_id \
                WHERE l.order_id = $1 AND l.variant_id = shop_variants.id \
                AND r.state = 'succeeded' AND r.restock = 1) \
             WHERE id IN (SELECT variant_id FROM shop_order_lines WHERE order_id = $1)",
        )
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
