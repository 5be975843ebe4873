//! Account queries. Plain SQL that runs unchanged on SQLite and Postgres.

use crate::db::{now, DbPool};
use crate::error::AppResult;

/// A user row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: String,
    pub email_verified: i64,
    pub disabled: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, username, email, password_hash, role, display_name, bio, avatar_url, \
                       email_verified, disabled, created_at";

/// The user with this (normalised) email.
pub async fn find_by_email(db: &DbPool, email: &str) -> AppResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
    Ok(sqlx::query_as(&sql)
        .bind(email)
        .fetch_optional(&db.pool)
        .await?)
}

/// The user with this id.
pub async fn find_by_id(db: &DbPool, id: i64) -> AppResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?)
}

/// Whether a username is taken, ignoring case.
pub async fn username_taken(db: &DbPool, username: &str) -> AppResult<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE lower(username) = lower($1)")
        .bind(username)
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}

/// Whether an email is taken.
pub async fn email_taken(db: &DbPool, email: &str) -> AppResult<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}

/// Insert a user; returns the new id. Fails with a unique violation when the
/// username or email is taken (callers check first to give field messages).
pub async fn create(
    conn: &mut sqlx::AnyConnection,
    username: &str,
    email: &str,
    password_hash: Option<&str>,
    role: &str,
    email_verified: bool,
) -> Result<i64, sqlx::Error> {
    let t = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, email, password_hash, role, email_verified, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(username)
    .bind(email)
    .bind(password_hash)
    .bind(role)
    .bind(i64::from(email_verified))
    .bind(t)
    .fetch_one(&mut *conn)
    .await?;
    // Counted on the admin's dashboard.
    crate::events::publish_in(conn, crate::events::COUNTS, "users").await?;
    Ok(id)
}

/// Save the editable profile fields.
pub async fn update_profile(
    db: &DbPool,
    id: i64,
    display_name: &str,
    bio: &str,
    avatar_url: &str,
) -> AppResult<()> {
    sqlx::query("UPDATE users SET display_name = $1, bio = $2, avatar_url = $3, updated_at = $4 WHERE id = $5")
        .bind(display_name)
        .bind(bio)
        .bind(avatar_url)
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    // The profile page shows them.
    crate::session::user_changed(db, id).await
}

/// Rename the account. A unique violation (the name was taken a moment
/// ago) is returned as is, for the caller to explain.
pub async fn set_username(db: &DbPool, id: i64, username: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET username = $1, updated_at = $2 WHERE id = $3")
        .bind(username)
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    crate::session::cache::publish_user(db, id).await
}

/// Store a new password hash.
pub async fn set_password_hash(db: &DbPool, id: i64, hash: &str) -> AppResult<()> {
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    crate::session::user_changed(db, id).await
}

/// Change a user's role.
pub async fn set_role(db: &DbPool, id: i64, role: &str) -> AppResult<()> {
    sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(role)
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    crate::session::user_changed(db, id).await
}

/// Delete a user and, by cascade, everything they own.
pub async fn delete(db: &DbPool, id: i64) -> AppResult<()> {
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    crate::session::user_changed(db, id).await
}
