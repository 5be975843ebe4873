//! Sign-up.

use rocket::http::Status;
use rocket::{get, post, routes, Route, State};

use super::model::SignupForm;
use super::password::Hasher;
use super::register::{register, Refused};
use super::views::SignupPage;
use crate::error::{AppResult, FieldErrors};
use crate::session::{CsrfForm, CurrentUser};
use crate::web::{Ctx, Layout, Reply};

#[get("/signup")]
fn signup_page(layout: Layout, user: Option<CurrentUser>) -> AppResult<Reply> {
    if user.is_some() {
        return Ok(Reply::to("/profile"));
    }
    Reply::page(&SignupPage {
        layout,
        form: SignupForm::default(),
        errors: FieldErrors::default(),
    })
}

#[post("/signup", data = "<form>", rank = 2)]
async fn signup(
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    layout: Layout,
    form: CsrfForm<SignupForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let id = match register(ctx.db, ctx.cfg, hasher, ctx.wakeup, &ctx.ip, &form).await? {
        Ok(id) => id,
        Err(Refused::Invalid(errors) | Refused::Taken(errors)) => {
            let form = SignupForm {
                password: String::new(),
                ..form
            };
            let page = SignupPage {
                layout,
                form,
                errors,
            };
            return Reply::page_with(Status::UnprocessableEntity, &page);
        }
    };
    ctx.start_session(id, false).await?;
    Ok(Reply::success(
        "/profile",
        format!(
            "Welcome to Groundwork, {}! We sent you a link to confirm your email address.",
            form.username.trim()
        ),
    ))
}

/// The routes of this feature.
pub fn routes() -> Vec<Route> {
    routes![signup_page, signup]
}
