//! What admins do to accounts. The HTML admin pages and the JSON API both
//! call these, so the rules (never lose the last admin; everything audited;
//! a disabled user is signed out at once) hold whichever way a request came.

use crate::accounts::repo::{self, User};
use crate::audit::{self, Actor};
use crate::db::{now, DbPool};
use crate::error::{AppError, AppResult};
use crate::session;
use crate::session::Role;

const LAST_ADMIN: &str = "This is the last admin account: make another admin first.";

async fn target(db: &DbPool, id: i64) -> AppResult<User> {
    repo::find_by_id(db, id).await?.ok_or(AppError::NotFound)
}

/// True when `user` is the only enabled admin left.
async fn is_last_admin(db: &DbPool, user: &User) -> AppResult<bool> {
    if user.role != Role::Admin.as_str() || user.disabled != 0 {
        return Ok(false);
    }
    let admins: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
            .fetch_one(&db.pool)
            .await?;
    Ok(admins <= 1)
}

/// Give `id` the role `role`.
pub async fn set_role(db: &DbPool, actor: &Actor, id: i64, role: Role) -> AppResult<()> {
    let user = target(db, id).await?;
    if user.role == role.as_str() {
        return Ok(());
    }
    if !role.can_administer() && is_last_admin(db, &user).await? {
        return Err(AppError::Conflict(LAST_ADMIN.into()));
    }
    repo::set_role(db, id, role.as_str()).await?;
    let detail = format!("{} → {}", user.role, role.as_str());
    audit::record(db, actor, "user.role", Some((id, &user.username)), &detail).await
}

/// Disable (signing the user out everywhere at once) or enable `id`.
pub async fn set_disabled(db: &DbPool, actor: &Actor, id: i64, disabled: bool) -> AppResult<()> {
    let user = target(db, id).await?;
    if disabled && is_last_admin(db, &user).await? {
        return Err(AppError::Conflict(LAST_ADMIN.into()));
    }
    sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(disabled))
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    if disabled {
        session::end_all_for_user(db, id, None).await?;
    } else {
        session::user_changed(db, id).await?;
    }
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    audit::record(db, actor, action, Some((id, &user.username)), "").await
}

/// End every session (browser and API) of `id`.
pub async fn end_sessions(db: &DbPool, actor: &Actor, id: i64) -> AppResult<u64> {
    let user = target(db, id).await?;
    let n = session::end_all_for_user(db, id, None).await?;
    audit::record(
        db,
        actor,
        "user.sessions_end",
        Some((id, &user.username)),
        &format!("{n} session(s)"),
    )
    .await?;
    Ok(n)
}

/// Delete `id` and everything it owns. The last admin cannot be deleted.
pub async fn delete_user(db: &DbPool, actor: &Actor, id: i64) -> AppResult<()> {
    let user = target(db, id).await?;
    if is_last_admin(db, &user).await? {
        return Err(AppError::Conflict(LAST_ADMIN.into()));
    }
    // Recorded first: when people delete themselves, the entry's actor row
    // still exists (the foreign key then turns it to NULL, the name stays).
    let detail = format!("{} <{}>", user.username, user.email);
    audit::record(
        db,
        actor,
        "user.delete",
        Some((id, &user.username)),
        &detail,
    )
    .await?;
    repo::delete(db, id).await
}
