//! Sign-up, the profile, password change and account deletion.

use rocket::http::{CookieJar, Status};
use rocket::{get, post, put, routes, Route, State};

use super::model::{ConfirmForm, PasswordForm, ProfileForm, SignupForm};
use super::password::{self, Hasher};
use super::register::{register, Refused};
use super::repo;
use super::views::{ProfilePage, SignupPage};
use crate::auth::credentials;
use crate::auth::oauth::Providers;
use crate::auth::session::{self, NewSession};
use crate::auth::CurrentUser;
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::web::{ClientIp, CsrfForm, Layout, Reply, UserAgent};

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

#[allow(clippy::too_many_arguments)]
#[post("/signup", data = "<form>", rank = 2)]
async fn signup(
    db: &Db,
    cfg: &State<AppConfig>,
    hasher: &State<Hasher>,
    wakeup: &State<crate::mail::Wakeup>,
    layout: Layout,
    ip: ClientIp,
    ua: UserAgent,
    cookies: &CookieJar<'_>,
    form: CsrfForm<SignupForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let id = match register(db, cfg, hasher, wakeup, &ip, &form).await? {
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
    let ip = ip.label();
    session::start(
        db,
        cfg,
        cookies,
        NewSession {
            user_id: id,
            remember: false,
            user_agent: &ua.0,
            ip: &ip,
        },
    )
    .await?;
    crate::auth::device::remember(cfg, cookies, id);
    Ok(Reply::success(
        "/profile",
        format!(
            "Welcome to Groundwork, {}! We sent you a link to confirm your email address.",
            form.username.trim()
        ),
    ))
}

#[get("/profile")]
async fn profile(
    db: &Db,
    providers: &State<Providers>,
    layout: Layout,
    me: CurrentUser,
) -> AppResult<Reply> {
    Reply::page(&ProfilePage::load(db, providers, layout, &me).await?)
}

#[put("/update-profile", data = "<form>", rank = 2)]
async fn update_profile(
    db: &Db,
    providers: &State<Providers>,
    layout: Layout,
    me: CurrentUser,
    form: CsrfForm<ProfileForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    match form.validate() {
        Ok(p) => {
            repo::update_profile(db, me.id, &p.display_name, &p.bio, &p.avatar_url).await?;
            Ok(Reply::success("/profile", "Your profile has been saved."))
        }
        Err(errors) => {
            let mut page = ProfilePage::load(db, providers, layout, &me).await?;
            page.profile = form;
            page.errors = errors;
            Reply::page_with(Status::UnprocessableEntity, &page)
        }
    }
}

#[post("/account/password", data = "<form>")]
async fn change_password(
    db: &Db,
    providers: &State<Providers>,
    cfg: &State<AppConfig>,
    hasher: &State<Hasher>,
    layout: Layout,
    me: CurrentUser,
    form: CsrfForm<PasswordForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let user = repo::find_by_id(db, me.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::default();
    if !credentials::confirm_password(db, cfg, hasher, &user, form.current_password).await? {
        errors.add("current_password", "That is not your current password.");
    }
    if let Some(e) = password::policy_error(&form.new_password, &[&user.username, &user.email]) {
        errors.add("new_password", e);
    }
    if !errors.is_empty() {
        let mut page = ProfilePage::load(db, providers, layout, &me).await?;
        page.password_errors = errors;
        return Reply::page_with(Status::UnprocessableEntity, &page);
    }
    let hash = hasher.hash(form.new_password).await?;
    repo::set_password_hash(db, me.id, &hash).await?;
    let ended = session::end_all_for_user(db, me.id, Some(me.session_id)).await?;
    let others = match ended {
        0 => String::new(),
        1 => " Your other session has been signed out.".into(),
        n => format!(" Your {n} other sessions have been signed out."),
    };
    Ok(Reply::success(
        "/profile",
        format!("Your password has been changed.{others}"),
    ))
}

#[allow(clippy::too_many_arguments)]
#[post("/account/delete", data = "<form>")]
async fn delete_account(
    db: &Db,
    providers: &State<Providers>,
    cfg: &State<AppConfig>,
    hasher: &State<Hasher>,
    layout: Layout,
    me: CurrentUser,
    cookies: &CookieJar<'_>,
    form: CsrfForm<ConfirmForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let user = repo::find_by_id(db, me.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let wrong = !credentials::confirm_password(db, cfg, hasher, &user, form.password).await?;
    let problem = if wrong {
        Some("That is not your password. Your account has not been deleted.")
    } else if user.role == "admin" && repo::count_admins(db).await? <= 1 {
        Some("You are the only admin. Make someone else an admin before deleting your account.")
    } else {
        None
    };
    if let Some(problem) = problem {
        let mut page = ProfilePage::load(db, providers, layout, &me).await?;
        page.delete_error = Some(problem.into());
        return Reply::page_with(Status::UnprocessableEntity, &page);
    }
    repo::delete(db, me.id).await?;
    session::end_current(db, cookies).await?;
    crate::web::rotate_csrf(cookies);
    Ok(Reply::success(
        "/",
        "Your account and everything in it have been deleted.",
    ))
}

/// The routes of this feature.
pub fn routes() -> Vec<Route> {
    routes![
        signup_page,
        signup,
        profile,
        update_profile,
        change_password,
        delete_account
    ]
}
