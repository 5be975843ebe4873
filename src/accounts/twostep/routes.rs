//! The second step of a browser's sign-in: `/login/two-step`.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{get, post, routes, Route, State};

use super::flow::finish;
use super::pending::{self, Checked, Pending};
use super::views::SecondStepPage;
use super::{passkeys, trust, SealKey};
use crate::accounts::repo as users;
use crate::error::{AppError, AppResult};
use crate::session::CsrfForm;
use crate::web::{Ctx, Layout, Reply};

/// What a browser without a live pending sign-in is told.
pub(super) const START_AGAIN: &str =
    "Your sign-in was not finished in time. Please sign in again with your password.";

/// The second-step form as sent.
#[derive(Debug, FromForm)]
pub struct CodeForm {
    #[field(default = String::new())]
    pub code: String,
    /// "Trust this browser for 30 days".
    #[field(default = false)]
    pub trust: bool,
}

/// This browser's live pending sign-in, if it has one.
pub(super) async fn this_browsers(ctx: &Ctx<'_>) -> AppResult<Option<Pending>> {
    let Some(token) = pending::cookie_token(ctx.cookies) else {
        return Ok(None);
    };
    let found = pending::find(ctx.db, &token, "web").await?;
    if found.is_none() {
        pending::remove_cookie(ctx.cookies);
    }
    Ok(found)
}

#[get("/login/two-step")]
async fn second_step_page(ctx: Ctx<'_>, layout: Layout) -> AppResult<Reply> {
    let Some(p) = this_browsers(&ctx).await? else {
        return Ok(Reply::failure("/login", START_AGAIN));
    };
    Reply::page(&SecondStepPage {
        layout,
        error: None,
        passkeys: passkeys::count(ctx.db, p.user_id).await? > 0,
    })
}

/// Check the code; a right one signs the browser in as the password form
/// would have, a wrong one shows the form again, too many send the browser
/// back to the password.
#[post("/login/two-step", data = "<form>", rank = 2)]
async fn second_step(
    ctx: Ctx<'_>,
    key: &State<SealKey>,
    layout: Layout,
    form: CsrfForm<CodeForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let Some(p) = this_browsers(&ctx).await? else {
        return Ok(Reply::failure("/login", START_AGAIN));
    };
    match pending::check_code(ctx.db, ctx.cfg, key, &p, &form.code).await? {
        Checked::Valid => {
            pending::delete(ctx.db, p.id).await?;
            pending::remove_cookie(ctx.cookies);
            let user = users::find_by_id(ctx.db, p.user_id)
                .await?
                .ok_or(AppError::NotFound)?;
            if form.trust {
                trust::remember(ctx.db, ctx.cfg, ctx.cookies, user.id).await?;
            }
            finish(&ctx, &user, p.remember != 0, p.next_path, None).await
        }
        Checked::Wrong => Reply::page_with(
            Status::Unauthorized,
            &SecondStepPage {
                layout,
                passkeys: passkeys::count(ctx.db, p.user_id).await? > 0,
                error: Some(
                    "That code is not right. Check that it is the current code of this site in your app, or use one of your recovery codes.".into(),
                ),
            },
        ),
        Checked::TooMany => {
            pending::remove_cookie(ctx.cookies);
            Ok(Reply::failure(
                "/login",
                "Too many wrong codes. Please sign in again with your password.",
            ))
        }
    }
}

/// The routes of the second step.
pub fn routes() -> Vec<Route> {
    routes![second_step_page, second_step]
}
