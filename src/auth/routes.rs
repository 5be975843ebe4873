//! Sign-in, sign-out and ending sessions.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::{get, post, routes, Route, State};

use super::oauth::{ProviderLink, Providers};
use crate::accounts::credentials::{self, Outcome};
use crate::accounts::twostep;
use crate::accounts::Hasher;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::session;
use crate::session::CurrentUser;
use crate::session::Device;
use crate::session::{CsrfForm, NoFields};
use crate::web::{local_path, Ctx, Layout, Reply};

/// `GET /login`, and the form again after a failed attempt.
#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub email: String,
    pub remember: bool,
    pub next: String,
    pub error: Option<String>,
    /// "Sign in with ..." links of the enabled providers.
    pub providers: Vec<ProviderLink>,
}

/// The sign-in form as sent.
#[derive(Debug, FromForm)]
pub struct LoginForm {
    #[field(default = String::new())]
    pub email: String,
    #[field(default = String::new())]
    pub password: String,
    #[field(default = false)]
    pub remember: bool,
    #[field(default = String::new())]
    pub next: String,
}

#[get("/login?<next>")]
fn login_page(
    layout: Layout,
    user: Option<CurrentUser>,
    providers: &State<Providers>,
    next: Option<String>,
) -> AppResult<Reply> {
    let next = next.as_deref().and_then(local_path).unwrap_or_default();
    if user.is_some() {
        return Ok(Reply::to(if next.is_empty() {
            "/profile".to_string()
        } else {
            next
        }));
    }
    Reply::page(&LoginPage {
        layout,
        email: String::new(),
        remember: false,
        providers: providers.buttons(&next),
        next,
        error: None,
    })
}

#[post("/login", data = "<form>", rank = 2)]
async fn login(
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    providers: &State<Providers>,
    layout: Layout,
    form: CsrfForm<LoginForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let next = local_path(&form.next).unwrap_or_default();
    let device = Device::from_cookies(ctx.cookies);
    let checked =
        credentials::check(&ctx, hasher, device.as_ref(), &form.email, form.password).await;
    let refused = |status, error: &str| {
        let page = LoginPage {
            layout,
            email: form.email.clone(),
            remember: form.remember,
            providers: providers.buttons(&next),
            next: next.clone(),
            error: Some(error.into()),
        };
        Reply::page_with(status, &page)
    };
    let user = match checked {
        Err(AppError::Validation(errors)) => {
            let error = errors.get("email").unwrap_or(credentials::EMAIL_TOO_LONG);
            return refused(Status::UnprocessableEntity, error);
        }
        Ok(Outcome::Valid(user)) => user,
        Ok(Outcome::Invalid) => {
            return refused(Status::Unauthorized, "Incorrect email or password.");
        }
        Ok(Outcome::Disabled) => {
            return Err(AppError::BadRequest(
                "This account has been disabled. Contact the site's administrators if you think this is a mistake.".into(),
            ))
        }
        Err(e) => return Err(e),
    };
    // With two-step sign-in on, the session waits for the second step.
    twostep::sign_in_or_ask(&ctx, &user, form.remember, next, None).await
}

#[post("/logout", data = "<_form>", rank = 2)]
async fn logout(db: &Db, cookies: &CookieJar<'_>, _form: CsrfForm<NoFields>) -> AppResult<Reply> {
    session::end_current(db, cookies).await?;
    crate::session::rotate_csrf(cookies);
    Ok(Reply::success("/", "You have been signed out."))
}

#[post("/sessions/<id>/end", data = "<_form>")]
async fn end_session(
    db: &Db,
    me: CurrentUser,
    cookies: &CookieJar<'_>,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    if id == me.session_id {
        session::end_current(db, cookies).await?;
        crate::session::rotate_csrf(cookies);
        return Ok(Reply::success("/", "You have been signed out."));
    }
    if !session::end_one(db, me.id, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(Reply::success(
        "/profile",
        "That session has been signed out.",
    ))
}

#[post("/sessions/end-others", data = "<_form>")]
async fn end_other_sessions(
    db: &Db,
    me: CurrentUser,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let n = session::end_all_for_user(db, me.id, Some(me.session_id)).await?;
    let message = match n {
        0 => "There were no other sessions.".to_string(),
        1 => "Your other session has been signed out.".to_string(),
        n => format!("Your {n} other sessions have been signed out."),
    };
    Ok(Reply::success("/profile", message))
}

/// The routes of this feature.
pub fn routes() -> Vec<Route> {
    routes![login_page, login, logout, end_session, end_other_sessions]
}
