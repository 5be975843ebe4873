//! The audit log: who did what, to whom, when, and from which address.

use crate::db::{now, DbPool};
use crate::error::AppResult;
use sqlx::AnyConnection;

/// Who is acting, as the log records them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub name: String,
    pub ip: String,
}

/// Write one entry.
pub async fn record(
    db: &DbPool,
    actor: &Actor,
    action: &str,
    target: Option<(i64, &str)>,
    detail: &str,
) -> AppResult<()> {
    let mut conn = db.pool.acquire().await?;
    record_in(&mut conn, actor, action, target, detail).await
}

/// Write one entry on `conn`: inside the transaction that makes the
/// change, so that the change and its entry land together or not at all.
pub async fn record_in(
    conn: &mut AnyConnection,
    actor: &Actor,
    action: &str,
    target: Option<(i64, &str)>,
    detail: &str,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, actor_name, action, target_id, target_name, detail, ip, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(actor.id)
    .bind(&actor.name)
    .bind(action)
    .bind(target.map(|t| t.0))
    .bind(target.map(|t| t.1).unwrap_or(""))
    .bind(detail)
    .bind(&actor.ip)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    // The admin's audit log is kept per process (`admin::cache`).
    crate::events::publish_in(conn, crate::events::COUNTS, "audit").await?;
    Ok(())
}

/// One entry.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Entry {
    pub id: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub target_id: Option<i64>,
    pub target_name: String,
    pub detail: String,
    pub ip: String,
    pub created_at: i64,
}

/// Which entries to show; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    pub actor: String,
    pub action: String,
    pub target: String,
}

const COLUMNS: &str =
    "id, actor_id, actor_name, action, target_id, target_name, detail, ip, created_at";

/// A page of entries, newest first, and how many match.
pub async fn list(
    db: &DbPool,
    f: &Filter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<Entry>, i64)> {
    #[derive(sqlx::FromRow)]
    struct Counted {
        #[sqlx(flatten)]
        entry: Entry,
        total: i64,
    }
    let cond = "($1 = '' OR lower(actor_name) = lower($1)) AND ($2 = '' OR action = $2) \
                AND ($3 = '' OR lower(target_name) = lower($3))";
    // The count rides on each row (a window): one statement, and a second
    // only for a page past the last, which has no row to carry it.
    let rows: Vec<Counted> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, COUNT(*) OVER () AS total FROM audit_log WHERE {cond} \
         ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
    ))
    .bind(f.actor.trim())
    .bind(f.action.trim())
    .bind(f.target.trim())
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    let total = match rows.first() {
        Some(first) => first.total,
        None if offset == 0 => 0,
        None => {
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE {cond}"))
                .bind(f.actor.trim())
                .bind(f.action.trim())
                .bind(f.target.trim())
                .fetch_one(&db.pool)
                .await?
        }
    };
    Ok((rows.into_iter().map(|c| c.entry).collect(), total))
}

/// The latest entries about one user.
pub async fn about_user(db: &DbPool, user_id: i64, limit: i64) -> AppResult<Vec<Entry>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE target_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

/// The action names in use, for the filter's choices.
pub async fn actions(db: &DbPool) -> AppResult<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT action FROM audit_log ORDER BY action")
            .fetch_all(&db.pool)
            .await?,
    )
}
