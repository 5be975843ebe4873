//! The stored passkeys and the user handle they carry. Plain SQL that
//! runs on SQLite and Postgres.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use webauthn_rs::prelude::{Passkey, Uuid};

use crate::db::{is_unique_violation, now, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};

/// The longest passkey name, in characters.
pub const NAME_MAX: usize = 60;

/// A passkey as its owner sees it listed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Listed {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    /// 0 until it signs in.
    pub last_used_at: i64,
}

/// A stored passkey found by its credential id.
pub struct Found {
    pub id: i64,
    pub user_id: i64,
    pub passkey: Passkey,
}

/// A credential id as stored: base64url without padding.
pub fn credential_key(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// A passkey's name, trimmed: 1 to [`NAME_MAX`] characters, no control
/// characters. The error names the field `name`.
pub fn parse_name(name: &str) -> Result<String, FieldErrors> {
    let name = name.trim();
    let mut errors = FieldErrors::default();
    if name.is_empty() {
        errors.add(
            "name",
            "Give the passkey a name, such as the device it is on (\"Work laptop\").",
        );
    } else if name.chars().count() > NAME_MAX {
        errors.add(
            "name",
            format!("A passkey's name has at most {NAME_MAX} characters."),
        );
    } else if name.chars().any(char::is_control) {
        errors.add("name", "A passkey's name is one line of text.");
    }
    if errors.is_empty() {
        Ok(name.to_string())
    } else {
        Err(errors)
    }
}

/// The user handle of `user_id`'s passkeys, made on first use.
pub async fn handle(db: &DbPool, user_id: i64) -> AppResult<Uuid> {
    sqlx::query(
        "INSERT INTO passkey_handles (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(Uuid::new_v4().to_string())
    .execute(&db.pool)
    .await?;
    let handle: String =
        sqlx::query_scalar("SELECT handle FROM passkey_handles WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&db.pool)
            .await?;
    Uuid::parse_str(&handle).map_err(|e| AppError::Internal(format!("a passkey handle: {e}")))
}

/// The account whose passkeys carry `handle`.
pub async fn user_of_handle(db: &DbPool, handle: &Uuid) -> AppResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM passkey_handles WHERE handle = $1")
            .bind(handle.to_string())
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// `user_id`'s passkeys, oldest first.
pub async fn list(db: &DbPool, user_id: i64) -> AppResult<Vec<Listed>> {
    Ok(sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM passkeys WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?)
}

/// How many passkeys `user_id` has.
pub async fn count(db: &DbPool, user_id: i64) -> AppResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&db.pool)
            .await?,
    )
}

fn decode(json: &str) -> AppResult<Passkey> {
    serde_json::from_str(json).map_err(|e| AppError::Internal(format!("a stored passkey: {e}")))
}

/// `user_id`'s passkeys as webauthn-rs takes them.
pub async fn keys_of(db: &DbPool, user_id: i64) -> AppResult<Vec<Passkey>> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT passkey FROM passkeys WHERE user_id = $1 ORDER BY id")
            .bind(user_id)
            .fetch_all(&db.pool)
            .await?;
    rows.iter().map(|r| decode(r)).collect()
}

/// Store a new passkey of `user_id`. None when its credential is already
/// registered (to this account or another: a credential belongs to one).
pub async fn add(
    db: &DbPool,
    user_id: i64,
    name: &str,
    passkey: &Passkey,
) -> AppResult<Option<i64>> {
    let json = serde_json::to_string(passkey)
        .map_err(|e| AppError::Internal(format!("storing a passkey: {e}")))?;
    let added = sqlx::query_scalar(
        "INSERT INTO passkeys (user_id, credential_id, name, passkey, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(credential_key(passkey.cred_id()))
    .bind(name)
    .bind(json)
    .bind(now())
    .fetch_one(&db.pool)
    .await;
    match added {
        Ok(id) => {
            // The profile page counts them.
            crate::session::user_changed(db, user_id).await?;
            Ok(Some(id))
        }
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The passkey whose credential id is `credential`, whoever owns it.
pub async fn find_by_credential(db: &DbPool, credential: &[u8]) -> AppResult<Option<Found>> {
    let row: Option<(i64, i64, String)> =
        sqlx::query_as("SELECT id, user_id, passkey FROM passkeys WHERE credential_id = $1")
            .bind(credential_key(credential))
            .fetch_optional(&db.pool)
            .await?;
    row.map(|(id, user_id, json)| {
        Ok(Found {
            id,
            user_id,
            passkey: decode(&json)?,
        })
    })
    .transpose()
}

/// Note that passkey `id` signed in now, storing its updated counter and
/// flags when they changed.
pub async fn used(db: &DbPool, id: i64, changed: Option<&Passkey>) -> AppResult<()> {
    match changed {
        Some(passkey) => {
            let json = serde_json::to_string(passkey)
                .map_err(|e| AppError::Internal(format!("storing a passkey: {e}")))?;
            sqlx::query("UPDATE passkeys SET last_used_at = $1, passkey = $2 WHERE id = $3")
                .bind(now())
                .bind(json)
                .bind(id)
                .execute(&db.pool)
                .await?
        }
        None => {
            sqlx::query("UPDATE passkeys SET last_used_at = $1 WHERE id = $2")
                .bind(now())
                .bind(id)
                .execute(&db.pool)
                .await?
        }
    };
    Ok(())
}

/// The name of `user_id`'s passkey `id`, if it is theirs.
pub async fn name_of(db: &DbPool, user_id: i64, id: i64) -> AppResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT name FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Rename `user_id`'s passkey `id`. False when it is not theirs.
pub async fn rename(db: &DbPool, user_id: i64, id: i64, name: &str) -> AppResult<bool> {
    let r = sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3")
        .bind(name)
        .bind(id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Remove `user_id`'s passkey `id`. False when it is not theirs.
pub async fn remove(db: &DbPool, user_id: i64, id: i64) -> AppResult<bool> {
    let r = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    if r.rows_affected() > 0 {
        crate::session::user_changed(db, user_id).await?;
    }
    Ok(r.rows_affected() == 1)
}

/// Remove every passkey of `user_id` (an admin's reset); how many went.
pub async fn remove_all(db: &DbPool, user_id: i64) -> AppResult<u64> {
    let r = sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    if r.rows_affected() > 0 {
        crate::session::user_changed(db, user_id).await?;
    }
    Ok(r.rows_affected())
}
