//! Sign-up.

use rocket::http::Status;
use rocket::{get, post, routes, Route, State};

use super::model::SignupForm;
use super::password::Hasher;
use super::register::{address_taken, register, Refused};
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

/// Sign up and sign in. When only the address is taken, the answer is the
/// one a new account gets and its owner is mailed instead
/// ([`address_taken`]): the form tells nobody which addresses have
/// accounts. A taken username is said (usernames are public).
#[post("/signup", data = "<form>", rank = 2)]
async fn signup(
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    layout: Layout,
    form: CsrfForm<SignupForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let welcome = format!(
        "Welcome to Groundwork, {}! We sent you a link to confirm your email address.",
        form.username.trim()
    );
    let errors = match register(&ctx, hasher, &form).await? {
        Ok(id) => {
            ctx.start_session(id, false).await?;
            return Ok(Reply::success("/profile", welcome));
        }
        Err(Refused::Taken(errors)) if errors.get("username").is_none() => {
            address_taken(&ctx, hasher, &form).await?;
            return Ok(Reply::success("/profile", welcome));
        }
        Err(Refused::Taken(mut errors)) => {
            errors.0.remove("email");
            errors
        }
        Err(Refused::Invalid(errors)) => errors,
    };
    let form = SignupForm {
        password: String::new(),
        ..form
    };
    let page = SignupPage {
        layout,
        form,
        errors,
    };
    Reply::page_with(Status::UnprocessableEntity, &page)
}

/// The routes of this feature.
pub fn routes() -> Vec<Route> {
    routes![signup_page, signup]
}
