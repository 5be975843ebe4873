//! A member's saved shipping addresses.

use super::model::AddressForm;
use crate::db::{now, DbPool};
use crate::error::AppResult;

/// Save an address for `user_id` (at most 10 are kept; the same address
/// twice is stored once).
pub async fn save_address(db: &DbPool, user_id: i64, a: &AddressForm) -> AppResult<()> {
    let have: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM shop_addresses WHERE user_id = $1 AND name = $2 AND line1 = $3 \
         AND line2 = $4 AND city = $5 AND postcode = $6 AND country = $7",
    )
    .bind(user_id)
    .bind(&a.name)
    .bind(&a.line1)
    .bind(&a.line2)
    .bind(&a.city)
    .bind(&a.postcode)
    .bind(&a.country)
    .fetch_one(&db.pool)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shop_addresses WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?;
    if have > 0 || total >= 10 {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO shop_addresses (user_id, name, line1, line2, city, postcode, country, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user_id)
    .bind(&a.name)
    .bind(&a.line1)
    .bind(&a.line2)
    .bind(&a.city)
    .bind(&a.postcode)
    .bind(&a.country)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The member's saved addresses, newest first.
pub async fn addresses(db: &DbPool, user_id: i64) -> AppResult<Vec<(i64, AddressForm)>> {
    let rows: Vec<(i64, String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT id, name, line1, line2, city, postcode, country FROM shop_addresses \
         WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, line1, line2, city, postcode, country)| {
            (
                id,
                AddressForm {
                    name,
                    line1,
                    line2,
                    city,
                    postcode,
                    country,
                },
            )
        })
        .collect())
}
