//! Comments on articles, oldest first.

use super::repo::{Author, AuthorRow, FOLLOWING};
use crate::db::{now, DbPool};
use crate::error::AppResult;

/// A stored comment with its author.
#[derive(Debug, Clone)]
pub struct Comment {
    pub id: i64,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub author: Author,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    body: String,
    created_at: i64,
    updated_at: i64,
    #[sqlx(flatten)]
    author: AuthorRow,
}

fn select() -> String {
    format!(
        "SELECT c.id, c.body, c.created_at, c.updated_at, \
         u.id AS author_id, u.username, u.bio, u.avatar_url, {FOLLOWING} \
         FROM comments c JOIN users u ON u.id = c.author_id AND u.disabled = 0"
    )
}

/// Most comments one article shows.
pub const LIMIT: i64 = 500;

impl From<Row> for Comment {
    fn from(r: Row) -> Self {
        Comment {
            id: r.id,
            body: r.body,
            created_at: r.created_at,
            updated_at: r.updated_at,
            author: r.author.into(),
        }
    }
}

/// The comments of article `article_id`, oldest first.
pub async fn list(db: &DbPool, viewer: i64, article_id: i64) -> AppResult<Vec<Comment>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{} WHERE c.article_id = $2 ORDER BY c.id LIMIT $3",
        select()
    ))
    .bind(viewer)
    .bind(article_id)
    .bind(LIMIT)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Add a comment; returns it as stored.
pub async fn add(db: &DbPool, author_id: i64, article_id: i64, body: &str) -> AppResult<Comment> {
    let t = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO comments (article_id, author_id, body, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(article_id)
    .bind(author_id)
    .bind(body)
    .bind(t)
    .fetch_one(&db.pool)
    .await?;
    let row: Row = sqlx::query_as(&format!("{} WHERE c.id = $2", select()))
        .bind(author_id)
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
    Ok(row.into())
}

/// Comment `id` on article `article_id`: its author's id and username, if
/// it exists.
pub async fn author_of(db: &DbPool, article_id: i64, id: i64) -> AppResult<Option<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT c.author_id, u.username FROM comments c JOIN users u ON u.id = c.author_id \
         WHERE c.id = $1 AND c.article_id = $2",
    )
    .bind(id)
    .bind(article_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Delete comment `id`.
pub async fn delete(db: &DbPool, id: i64) -> AppResult<()> {
    sqlx::query("DELETE FROM comments WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
