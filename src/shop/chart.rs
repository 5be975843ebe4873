//! The admin dashboard's chart: orders and revenue per day for the last
//! days, drawn as an SVG on the server (no chart library on the page).

use super::Shop;
use crate::db::{now, DbPool};
use crate::error::AppResult;

/// One day: its first second, how many orders were placed, and the
/// revenue of those that were paid (paid, shipped or completed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub start: i64,
    pub orders: i64,
    pub revenue: i64,
}

/// The last `days` days (UTC), oldest first, with empty days included.
pub async fn per_day(db: &DbPool, days: i64) -> AppResult<Vec<Day>> {
    let today = now() / 86_400;
    let first = today - days + 1;
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT created_at / 86400 AS day, COUNT(*), \
         CAST(COALESCE(SUM(CASE WHEN state IN ('paid', 'fulfilled', 'completed') THEN total ELSE 0 END), 0) AS BIGINT) \
         FROM shop_orders WHERE created_at >= $1 GROUP BY created_at / 86400",
    )
    .bind(first * 86_400)
    .fetch_all(&db.pool)
    .await?;
    Ok((first..=today)
        .map(|d| {
            let (orders, revenue) = rows
                .iter()
                .find(|r| r.0 == d)
                .map_or((0, 0), |r| (r.1, r.2));
            Day {
                start: d * 86_400,
                orders,
                revenue,
            }
        })
        .collect())
}

/// The chart: a bar of revenue per day with the day's order count above
/// it, and a text summary for screen readers. Everything in it is numbers
/// and formatted amounts we produced: safe for `|safe`.
pub fn svg(shop: &Shop, days: &[Day]) -> String {
    let (w, h, bar) = (600, 160, 600 / days.len().max(1) as i64);
    let max = days.iter().map(|d| d.revenue).max().unwrap_or(0).max(1);
    let total: i64 = days.iter().map(|d| d.revenue).sum();
    let orders: i64 = days.iter().map(|d| d.orders).sum();
    let summary = format!(
        "{orders} orders and {} revenue in the last {} days",
        shop.money(total),
        days.len()
    );
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"{summary}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{summary}</title>",
        h + 20
    );
    for (i, d) in days.iter().enumerate() {
        let x = i as i64 * bar;
        let height = d.revenue * (h - 20) / max;
        let day = time::OffsetDateTime::from_unix_timestamp(d.start)
            .map(|t| format!("{}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
            .unwrap_or_default();
        out.push_str(&format!(
            "<g><title>{day}: {} orders, {}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{height}\" fill=\"#1f5f4a\"/>",
            d.orders,
            shop.money(d.revenue),
            x + 2,
            h - height,
            bar - 4
        ));
        if d.orders > 0 {
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#1d2420\">{}</text>",
                x + bar / 2,
                h - height - 4,
                d.orders
            ));
        }
        out.push_str("</g>");
    }
    out.push_str(&format!(
        "<line x1=\"0\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#4f5b55\"/></svg>"
    ));
    out
}
