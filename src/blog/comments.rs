//! Comments on articles, oldest first, and replies: a reply names the
//! comment it answers (`parent_id`) and the top-level comment of its
//! thread (`thread_id`), under which the page shows it. Comments by
//! members the viewer muted are left out; a member an article's author
//! blocked cannot comment on it.

use super::notices;
use super::repo::{Article, Author, AuthorRow, FOLLOWING};
use crate::db::{begin_write, now, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::moderation::relations;

/// A stored comment with its author.
#[derive(Debug, Clone)]
pub struct Comment {
    pub id: i64,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub author: Author,
    /// The comment this one answers, if it is a reply.
    pub parent_id: Option<i64>,
    /// The top-level comment of its thread, if it is a reply.
    pub thread_id: Option<i64>,
    /// Why a moderator hid it (then only its author sees it).
    pub hidden_reason: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    body: String,
    created_at: i64,
    updated_at: i64,
    parent_id: Option<i64>,
    thread_id: Option<i64>,
    hidden_reason: Option<String>,
    #[sqlx(flatten)]
    author: AuthorRow,
}

fn select() -> String {
    format!(
        "SELECT c.id, c.body, c.created_at, c.updated_at, c.parent_id, c.thread_id, c.hidden_reason, \
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
            parent_id: r.parent_id,
            thread_id: r.thread_id,
            hidden_reason: r.hidden_reason,
        }
    }
}

/// The comments of article `article_id`, oldest first.
pub async fn list(db: &DbPool, viewer: i64, article_id: i64) -> AppResult<Vec<Comment>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{} WHERE c.article_id = $2 AND NOT ({}) \
         AND (c.hidden_reason IS NULL OR c.author_id = $1) ORDER BY c.id LIMIT $3",
        select(),
        relations::muted_by_viewer("c.author_id")
    ))
    .bind(viewer)
    .bind(article_id)
    .bind(LIMIT)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Add a comment by `author_id` on `article`, answering comment `parent`
/// when given (which must be a comment of the same article: a 422 on
/// `body` otherwise, as it was deleted meanwhile); returns it as stored.
/// The article's author, the answered comment's author and the members
/// it mentions are told in the same transaction.
pub async fn add(
    db: &DbPool,
    author_id: i64,
    article: &Article,
    body: &str,
    parent: Option<i64>,
) -> AppResult<Comment> {
    let mut tx = begin_write(db).await?;
    if relations::has_blocked(&mut tx, article.author.id, author_id).await? {
        let mut errors = FieldErrors::default();
        errors.add("body", "You cannot comment on this member's articles.");
        return Err(AppError::Validation(errors));
    }
    let (parent_author, thread) = match parent {
        None => (None, None),
        Some(p) => {
            let found: Option<(i64, Option<i64>)> = sqlx::query_as(
                "SELECT author_id, thread_id FROM comments WHERE id = $1 AND article_id = $2",
            )
            .bind(p)
            .bind(article.id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((author, thread)) = found else {
                let mut errors = FieldErrors::default();
                errors.add("body", "The comment you are answering was deleted.");
                return Err(AppError::Validation(errors));
            };
            (Some(author), Some(thread.unwrap_or(p)))
        }
    };
    let t = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO comments (article_id, author_id, body, created_at, updated_at, parent_id, thread_id) \
         VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING id",
    )
    .bind(article.id)
    .bind(author_id)
    .bind(body)
    .bind(t)
    .bind(parent)
    .bind(thread)
    .fetch_one(&mut *tx)
    .await?;
    notices::commented(&mut tx, author_id, article, id, parent_author, body).await?;
    tx.commit().await?;
    super::cache::changed(db).await;
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
    super::cache::changed(db).await;
    Ok(())
}
