//! "The last admin": the one rule every path that can take an admin away
//! follows — an admin demoting, disabling or deleting an account, and a
//! member deleting their own account on the profile page or through the
//! JSON API. Only enabled admins count: a disabled admin cannot administer,
//! so it cannot stand in for the last one.
//!
//! The check and the change happen in one write transaction that first
//! takes the `admins` lock row (see the `locks` migration), so two admins
//! demoting each other at the same instant cannot leave none: the second
//! waits for the first to commit, then counts again.

use sqlx::AnyConnection;

use crate::accounts::repo::User;
use crate::audit::{self, Actor};
use crate::db::{begin_write, now, DbPool};
use crate::error::{AppError, AppResult};
use crate::session::Role;

/// What the site says when a change would leave no enabled admin.
pub const LAST_ADMIN: &str = "This is the last admin account: make another admin first.";

/// A change that may take an enabled admin away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminChange {
    SetRole(Role),
    Disable,
    Delete,
}

/// The change was refused: it would have left no enabled admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastAdmin;

/// The audit entry to write with the change, in the same transaction
/// (written before a deletion, so that people deleting themselves still
/// exist as the entry's actor; the foreign key then turns it to NULL).
pub struct Audited<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub detail: &'a str,
}

/// Apply `change` to `user` unless it would leave no enabled admin.
/// Not found (404) when the account is gone.
pub async fn apply(
    db: &DbPool,
    user: &User,
    change: AdminChange,
    audited: Option<Audited<'_>>,
) -> AppResult<Result<(), LastAdmin>> {
    let mut tx = begin_write(db).await?;
    sqlx::query("UPDATE locks SET taken = taken + 1 WHERE name = 'admins'")
        .execute(&mut *tx)
        .await?;
    if takes_last_admin(&mut tx, user.id, change).await? {
        return Ok(Err(LastAdmin));
    }
    if let Some(a) = audited {
        let target = Some((user.id, user.username.as_str()));
        audit::record_in(&mut tx, a.actor, a.action, target, a.detail).await?;
    }
    let query = match change {
        AdminChange::SetRole(role) => {
            sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
                .bind(role.as_str())
                .bind(now())
        }
        AdminChange::Disable => {
            sqlx::query("UPDATE users SET disabled = 1, updated_at = $1 WHERE id = $2").bind(now())
        }
        AdminChange::Delete => sqlx::query("DELETE FROM users WHERE id = $1"),
    };
    query.bind(user.id).execute(&mut *tx).await?;
    tx.commit().await?;
    // Cached sessions of this user must see the change on their next request.
    crate::session::user_changed(db, user.id).await?;
    Ok(Ok(()))
}

/// Whether `change` would take away the last enabled admin, read under
/// the lock (so from the committed state, not from what the caller saw).
async fn takes_last_admin(
    conn: &mut AnyConnection,
    id: i64,
    change: AdminChange,
) -> AppResult<bool> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT role, disabled FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let (role, disabled) = row.ok_or(AppError::NotFound)?;
    let enabled_admin = role == Role::Admin.as_str() && disabled == 0;
    let loses = match change {
        AdminChange::SetRole(to) => !to.can_administer(),
        AdminChange::Disable | AdminChange::Delete => true,
    };
    if !(enabled_admin && loses) {
        return Ok(false);
    }
    let others: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id <> $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(others == 0)
}

/// How many enabled admins there are (the start-up warning when none).
pub async fn count_enabled(db: &crate::db::DbPool) -> AppResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
            .fetch_one(&db.pool)
            .await?,
    )
}
