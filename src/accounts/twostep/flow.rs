//! The step between a first factor and a browser session.

use super::{pending, repo, trust};
use crate::accounts::repo::User;
use crate::error::AppResult;
use crate::web::{Ctx, Reply};

/// Where a browser is asked for its second step.
pub const SECOND_STEP_PATH: &str = "/login/two-step";

/// `user` has just passed a first factor (their password, or a provider):
/// sign this browser in, exactly as every sign-in does, or, when the
/// account has two-step sign-in on (and this browser is not one the member
/// trusts, see [`trust`]), start a pending sign-in bound to this browser
/// and send it to the second step. `next` is a checked local path
/// (or empty); `message` replaces "Signed in as ...".
pub async fn sign_in_or_ask(
    ctx: &Ctx<'_>,
    user: &User,
    remember: bool,
    next: String,
    message: Option<String>,
) -> AppResult<Reply> {
    if repo::is_enabled(ctx.db, user.id).await?
        && !trust::is_trusted(ctx.db, ctx.cookies, user.id).await?
    {
        let token = pending::create(ctx.db, user.id, "web", remember, &next).await?;
        pending::set_cookie(ctx.cfg, ctx.cookies, token);
        return Ok(Reply::to(SECOND_STEP_PATH));
    }
    finish(ctx, user, remember, next, message).await
}

/// Start the session and say so.
pub(super) async fn finish(
    ctx: &Ctx<'_>,
    user: &User,
    remember: bool,
    next: String,
    message: Option<String>,
) -> AppResult<Reply> {
    ctx.start_session(user.id, remember).await?;
    let target = if next.is_empty() {
        "/".to_string()
    } else {
        next
    };
    let message = message.unwrap_or_else(|| format!("Signed in as {}.", user.username));
    Ok(Reply::success(target, message))
}
