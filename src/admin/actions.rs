//! What admins do to accounts. The HTML admin pages and the JSON API both
//! call these, so the rules (never lose the last admin; everything audited;
//! a disabled user is signed out at once) hold whichever way a request came.

use crate::accounts::admins::{self, AdminChange, Audited, LastAdmin, LAST_ADMIN};
use crate::accounts::repo::{self, User};
use crate::accounts::twostep;
use crate::audit::{self, Actor};
use crate::db::{now, DbPool};
use crate::error::{AppError, AppResult};
use crate::session;
use crate::session::Role;

async fn target(db: &DbPool, id: i64) -> AppResult<User> {
    repo::find_by_id(db, id).await?.ok_or(AppError::NotFound)
}

/// Apply a change that may take an admin away (the rule and its lock live
/// in [`admins`]), with its audit entry; 409 when it would leave none.
async fn change(
    db: &DbPool,
    user: &User,
    change: AdminChange,
    audited: Audited<'_>,
) -> AppResult<()> {
    admins::apply(db, user, change, Some(audited))
        .await?
        .map_err(|LastAdmin| AppError::Conflict(LAST_ADMIN.into()))
}

/// Give `id` the role `role`.
pub async fn set_role(db: &DbPool, actor: &Actor, id: i64, role: Role) -> AppResult<()> {
    let user = target(db, id).await?;
    if user.role == role.as_str() {
        return Ok(());
    }
    let detail = format!("{} → {}", user.role, role.as_str());
    let audited = Audited {
        actor,
        action: "user.role",
        detail: &detail,
    };
    change(db, &user, AdminChange::SetRole(role), audited).await
}

/// Disable (signing the user out everywhere at once) or enable `id`.
pub async fn set_disabled(db: &DbPool, actor: &Actor, id: i64, disabled: bool) -> AppResult<()> {
    let user = target(db, id).await?;
    if disabled {
        let audited = Audited {
            actor,
            action: "user.disable",
            detail: "",
        };
        change(db, &user, AdminChange::Disable, audited).await?;
        session::end_all_for_user(db, id, None).await?;
        return Ok(());
    }
    sqlx::query("UPDATE users SET disabled = 0, updated_at = $1 WHERE id = $2")
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    session::user_changed(db, id).await?;
    audit::record(db, actor, "user.enable", Some((id, &user.username)), "").await
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

/// Turn two-step sign-in off for `id` (a member who lost their phone and
/// their recovery codes, once the admin is sure who is asking) and remove
/// their passkeys: audited, and mailed to the member. False when there was
/// neither.
pub async fn reset_two_step(
    db: &DbPool,
    actor: &Actor,
    id: i64,
    base_url: &str,
    wakeup: &crate::mail::Wakeup,
) -> AppResult<bool> {
    let user = target(db, id).await?;
    let was_on = twostep::repo::remove(db, id).await?;
    let passkeys = twostep::passkeys::store::remove_all(db, id).await?;
    if !was_on && passkeys == 0 {
        return Ok(false);
    }
    let detail = format!("passkeys removed: {passkeys}");
    audit::record(
        db,
        actor,
        "user.twostep_reset",
        Some((id, &user.username)),
        &detail,
    )
    .await?;
    let change = match (was_on, passkeys) {
        (true, 0) => "An administrator turned two-step sign-in off for your account.".to_string(),
        (false, n) => format!("An administrator removed the passkeys of your account ({n})."),
        (true, n) => format!(
            "An administrator turned two-step sign-in off for your account and removed its passkeys ({n})."
        ),
    };
    twostep::tell(
        db,
        base_url,
        wakeup,
        (id, &user.username, &user.email),
        &change,
    )
    .await?;
    Ok(true)
}

/// Delete `id` and everything it owns. The last admin cannot be deleted.
pub async fn delete_user(db: &DbPool, actor: &Actor, id: i64) -> AppResult<()> {
    let user = target(db, id).await?;
    let detail = format!("{} <{}>", user.username, user.email);
    let audited = Audited {
        actor,
        action: "user.delete",
        detail: &detail,
    };
    change(db, &user, AdminChange::Delete, audited).await
}
