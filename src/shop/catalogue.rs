//! Catalogue queries: products, their variants and categories. Visitors
//! see active products only; admins see drafts too.

use serde::Serialize;

use super::model::{ProductInput, VariantInput};
use crate::db::{affected, begin_write, contains, is_unique_violation, now, search_text, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};

/// A product as lists show it: its lowest price, its stock over all
/// variants and its first image.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Summary {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub compare_at: Option<i64>,
    pub active: i64,
    pub category: Option<String>,
    pub price: i64,
    pub stock: i64,
    pub image_id: Option<i64>,
}

/// A product with its description.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Product {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub compare_at: Option<i64>,
    pub active: i64,
    pub category: Option<String>,
}

/// A variant: what is priced, stocked and sold.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Variant {
    pub id: i64,
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub price: i64,
    pub stock: i64,
}

const SUMMARY: &str = "SELECT p.id, p.slug, p.title, p.compare_at, p.active, c.name AS category, \
     COALESCE((SELECT MIN(v.price) FROM shop_variants v WHERE v.product_id = p.id), 0) AS price, \
     COALESCE((SELECT CAST(SUM(v.stock) AS BIGINT) FROM shop_variants v WHERE v.product_id = p.id), 0) AS stock, \
     (SELECT MIN(i.id) FROM shop_images i WHERE i.product_id = p.id) AS image_id \
     FROM shop_products p LEFT JOIN shop_categories c ON c.id = p.category_id";

/// What a catalogue list asks for.
pub struct ListQuery<'a> {
    pub q: &'a str,
    pub category: &'a str,
    /// Keyset paging: products with an id above this one.
    pub after: i64,
    pub limit: i64,
    pub include_drafts: bool,
}

/// One page of the catalogue, oldest product first, and whether more follow.
pub async fn list(db: &DbPool, query: &ListQuery<'_>) -> AppResult<(Vec<Summary>, bool)> {
    let sql = format!(
        "{SUMMARY} WHERE (p.active = 1 OR $1 = 1) \
         AND ($2 = '' OR {}) \
         AND ($4 = '' OR c.slug = $4) AND p.id > $5 ORDER BY p.id LIMIT $6",
        contains(db.backend, "p.title", "$3")
    );
    let mut rows: Vec<Summary> = sqlx::query_as(&sql)
        .bind(i64::from(query.include_drafts))
        .bind(query.q.trim())
        .bind(search_text(query.q))
        .bind(query.category)
        .bind(query.after)
        .bind(query.limit + 1)
        .fetch_all(&db.pool)
        .await?;
    let more = rows.len() as i64 > query.limit;
    rows.truncate(query.limit.max(0) as usize);
    Ok((rows, more))
}

/// The product at `slug` (drafts only for admins).
pub async fn by_slug(db: &DbPool, slug: &str, include_drafts: bool) -> AppResult<Option<Product>> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.slug, p.title, p.description, p.compare_at, p.active, c.name AS category \
         FROM shop_products p LEFT JOIN shop_categories c ON c.id = p.category_id \
         WHERE p.slug = $1 AND (p.active = 1 OR $2 = 1)",
    )
    .bind(slug)
    .bind(i64::from(include_drafts))
    .fetch_optional(&db.pool)
    .await?)
}

/// The product `id`, drafts included (admins).
pub async fn by_id(db: &DbPool, id: i64) -> AppResult<Option<Product>> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.slug, p.title, p.description, p.compare_at, p.active, c.name AS category \
         FROM shop_products p LEFT JOIN shop_categories c ON c.id = p.category_id WHERE p.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

/// A product's variants, in their order.
pub async fn variants(db: &DbPool, product_id: i64) -> AppResult<Vec<Variant>> {
    Ok(sqlx::query_as(
        "SELECT id, product_id, sku, name, price, stock FROM shop_variants \
         WHERE product_id = $1 ORDER BY position, id",
    )
    .bind(product_id)
    .fetch_all(&db.pool)
    .await?)
}

/// The ids of a product's images.
pub async fn image_ids(db: &DbPool, product_id: i64) -> AppResult<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM shop_images WHERE product_id = $1 ORDER BY id")
            .bind(product_id)
            .fetch_all(&db.pool)
            .await?,
    )
}

/// The category names with their slugs, for the filter.
pub async fn categories(db: &DbPool) -> AppResult<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT slug, name FROM shop_categories ORDER BY name")
            .fetch_all(&db.pool)
            .await?,
    )
}

async fn category_id(conn: &mut sqlx::AnyConnection, name: Option<&str>) -> AppResult<Option<i64>> {
    let Some(name) = name else { return Ok(None) };
    let slug = super::model::slug_of("", name);
    sqlx::query("INSERT INTO shop_categories (slug, name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(&slug)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(
        sqlx::query_scalar("SELECT id FROM shop_categories WHERE slug = $1")
            .bind(&slug)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

fn taken(e: sqlx::Error, field: &'static str, message: &str) -> AppError {
    if is_unique_violation(&e) {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        AppError::Validation(errors)
    } else {
        e.into()
    }
}

/// Create a product with its first variant; its id. A slug or SKU in use
/// is a validation error on that field.
pub async fn create(db: &DbPool, p: &ProductInput, v: &VariantInput) -> AppResult<i64> {
    let mut tx = begin_write(db).await?;
    let category = category_id(&mut tx, p.category.as_deref()).await?;
    let t = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO shop_products (slug, title, description, compare_at, active, category_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(&p.slug)
    .bind(&p.title)
    .bind(&p.description)
    .bind(p.compare_at)
    .bind(i64::from(p.active))
    .bind(category)
    .bind(t)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| taken(e, "slug", "Another product has this address."))?;
    insert_variant(&mut tx, id, v).await?;
    tx.commit().await?;
    Ok(id)
}

async fn insert_variant(
    conn: &mut sqlx::AnyConnection,
    product_id: i64,
    v: &VariantInput,
) -> AppResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO shop_variants (product_id, sku, name, price, stock, position) \
         VALUES ($1, $2, $3, $4, $5, (SELECT COUNT(*) FROM shop_variants WHERE product_id = $1)) RETURNING id",
    )
    .bind(product_id)
    .bind(&v.sku)
    .bind(&v.name)
    .bind(v.price)
    .bind(v.stock)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| taken(e, "sku", "Another variant has this SKU."))
}

/// Add a variant to product `product_id`; its id.
pub async fn add_variant(db: &DbPool, product_id: i64, v: &VariantInput) -> AppResult<i64> {
    let mut tx = begin_write(db).await?;
    let id = insert_variant(&mut tx, product_id, v).await?;
    tx.commit().await?;
    Ok(id)
}

/// Save a product's own fields. False when there is no such product.
pub async fn update(db: &DbPool, id: i64, p: &ProductInput) -> AppResult<bool> {
    let mut tx = begin_write(db).await?;
    let category = category_id(&mut tx, p.category.as_deref()).await?;
    let done = sqlx::query(
        "UPDATE shop_products SET slug = $1, title = $2, description = $3, compare_at = $4, \
         active = $5, category_id = $6, updated_at = $7 WHERE id = $8",
    )
    .bind(&p.slug)
    .bind(&p.title)
    .bind(&p.description)
    .bind(p.compare_at)
    .bind(i64::from(p.active))
    .bind(category)
    .bind(now())
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, "slug", "Another product has this address."))?;
    tx.commit().await?;
    Ok(affected(&done) == 1)
}

/// Set a variant's price (stock changes go through [`restock`]). False
/// when the product has no such variant.
pub async fn set_price(
    db: &DbPool,
    product_id: i64,
    variant_id: i64,
    price: i64,
) -> AppResult<bool> {
    let done = sqlx::query("UPDATE shop_variants SET price = $1 WHERE id = $2 AND product_id = $3")
        .bind(price)
        .bind(variant_id)
        .bind(product_id)
        .execute(&db.pool)
        .await?;
    Ok(affected(&done) == 1)
}

/// Add `n` to a variant's stock (an admin restocking); the new stock, or
/// None when there is no such variant. Relative, so it never overwrites
/// what checkouts took meanwhile.
pub async fn restock(db: &DbPool, variant_id: i64, n: i64) -> AppResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "UPDATE shop_variants SET stock = stock + $1 WHERE id = $2 RETURNING stock",
    )
    .bind(n)
    .bind(variant_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// A variant with its product's title, for the low-stock list.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct StockRow {
    pub id: i64,
    pub product_id: i64,
    pub title: String,
    pub sku: String,
    pub name: String,
    pub stock: i64,
}

/// Variants with `threshold` or fewer in stock, fewest first.
pub async fn low_stock(db: &DbPool, threshold: i64) -> AppResult<Vec<StockRow>> {
    Ok(sqlx::query_as(
        "SELECT v.id, v.product_id, p.title, v.sku, v.name, v.stock FROM shop_variants v \
         JOIN shop_products p ON p.id = v.product_id WHERE v.stock <= $1 ORDER BY v.stock, v.id LIMIT 200",
    )
    .bind(threshold)
    .fetch_all(&db.pool)
    .await?)
}
