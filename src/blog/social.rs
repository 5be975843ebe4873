//! Profiles and follows.

use super::repo::Author;
use crate::db::{now, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    username: String,
    bio: String,
    avatar_url: String,
    following: i64,
}

/// The enabled account called `username` (any case), as `viewer` sees it.
pub async fn profile(db: &DbPool, viewer: i64, username: &str) -> AppResult<Option<Author>> {
    // No username contains NUL, and Postgres refuses it in a query.
    if username.contains('\0') {
        return Ok(None);
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT u.id, u.username, u.bio, u.avatar_url, \
         CASE WHEN EXISTS (SELECT 1 FROM follows w WHERE w.follower_id = $1 AND w.followee_id = u.id) \
              THEN 1 ELSE 0 END AS following \
         FROM users u WHERE lower(u.username) = $2 AND u.disabled = 0",
    )
    .bind(viewer)
    .bind(username.to_lowercase())
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| Author {
        id: r.id,
        username: r.username,
        bio: r.bio,
        image: r.avatar_url,
        following: r.following != 0,
    }))
}

/// The profile called `username`, or 404.
pub async fn find(db: &DbPool, viewer: i64, username: &str) -> AppResult<Author> {
    profile(db, viewer, username)
        .await?
        .ok_or(AppError::NotFound)
}

/// Follow (`on`) or unfollow `username`; returns their profile as it is
/// now. Following twice changes nothing; following oneself is refused.
pub async fn set_following(
    db: &DbPool,
    follower: i64,
    username: &str,
    on: bool,
) -> AppResult<Author> {
    let mut author = find(db, follower, username).await?;
    if author.id == follower {
        let mut errors = FieldErrors::default();
        errors.add("username", "You cannot follow yourself.");
        return Err(AppError::Validation(errors));
    }
    if on {
        sqlx::query(
            "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(follower)
        .bind(author.id)
        .bind(now())
        .execute(&db.pool)
        .await?;
    } else {
        sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2")
            .bind(follower)
            .bind(author.id)
            .execute(&db.pool)
            .await?;
    }
    author.following = on;
    Ok(author)
}
