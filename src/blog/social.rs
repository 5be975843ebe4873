//! Profiles and follows.

use super::notices;
use super::repo::{Author, AuthorRow, FOLLOWING};
use crate::db::{affected, begin_write, now, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::moderation::relations;

/// The enabled account called `username` (any case), as `viewer` sees it.
pub async fn profile(db: &DbPool, viewer: i64, username: &str) -> AppResult<Option<Author>> {
    let row: Option<AuthorRow> = sqlx::query_as(&format!(
        "SELECT u.id AS author_id, u.username, u.bio, u.avatar_url, {FOLLOWING} \
         FROM users u WHERE lower(u.username) = $2 AND u.disabled = 0"
    ))
    .bind(viewer)
    .bind(username.to_lowercase())
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(Into::into))
}

/// The profile called `username`, or 404.
pub async fn find(db: &DbPool, viewer: i64, username: &str) -> AppResult<Author> {
    profile(db, viewer, username)
        .await?
        .ok_or(AppError::NotFound)
}

/// Follow (`on`) or unfollow `username` as `follower` (called
/// `follower_name`); returns their profile as it is now. Following twice
/// changes nothing; following oneself is refused. A new follow tells the
/// followee, in the same transaction.
pub async fn set_following(
    db: &DbPool,
    follower: i64,
    follower_name: &str,
    username: &str,
    on: bool,
) -> AppResult<Author> {
    let mut author = find(db, follower, username).await?;
    if author.id == follower {
        let mut errors = FieldErrors::default();
        errors.add("username", "You cannot follow yourself.");
        return Err(AppError::Validation(errors));
    }
    let mut tx = begin_write(db).await?;
    if on && relations::has_blocked(&mut tx, author.id, follower).await? {
        let mut errors = FieldErrors::default();
        errors.add("username", "You cannot follow this member.");
        return Err(AppError::Validation(errors));
    }
    if on {
        let r = sqlx::query(
            "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(follower)
        .bind(author.id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        if affected(&r) > 0 {
            notices::followed(&mut tx, follower, follower_name, author.id).await?;
        }
    } else {
        sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2")
            .bind(follower)
            .bind(author.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    super::cache::changed(db).await;
    author.following = on;
    Ok(author)
}
