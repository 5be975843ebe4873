//! The profile page: the public profile, password change, account deletion.

use rocket::http::{CookieJar, Status};
use rocket::{get, post, put, routes, Route, State};

use super::views::ProfilePage;
use crate::accounts::credentials::{self, Confirmation};
use crate::accounts::model::{ConfirmForm, PasswordForm, ProfileForm};
use crate::accounts::password::{self, Hasher};
use crate::accounts::repo;
use crate::auth::oauth::Providers;
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::{self, CsrfForm, CurrentUser};
use crate::web::{Layout, Reply};

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
    match credentials::confirm(db, cfg, hasher, &user, me.session_id, form.current_password).await?
    {
        Confirmation::Confirmed => {}
        Confirmation::WrongPassword => {
            errors.add("current_password", "That is not your current password.");
        }
        Confirmation::NotRecent => errors.add(
            "reauth",
            credentials::fresh_sign_in_needed("set a password"),
        ),
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
    let problem = match credentials::confirm(db, cfg, hasher, &user, me.session_id, form.password)
        .await?
    {
        Confirmation::WrongPassword => {
            Some("That is not your password. Your account has not been deleted.".into())
        }
        Confirmation::NotRecent => Some(format!(
            "{} Your account has not been deleted.",
            credentials::fresh_sign_in_needed("delete your account")
        )),
        Confirmation::Confirmed if user.role == "admin" && repo::count_admins(db).await? <= 1 => {
            Some(
                "You are the only admin. Make someone else an admin before deleting your account."
                    .into(),
            )
        }
        Confirmation::Confirmed => None,
    };
    if let Some(problem) = problem {
        let mut page = ProfilePage::load(db, providers, layout, &me).await?;
        page.delete_error = Some(problem);
        return Reply::page_with(Status::UnprocessableEntity, &page);
    }
    repo::delete(db, me.id).await?;
    session::end_current(db, cookies).await?;
    crate::session::rotate_csrf(cookies);
    Ok(Reply::success(
        "/",
        "Your account and everything in it have been deleted.",
    ))
}

/// The routes of this feature.
pub fn routes() -> Vec<Route> {
    routes![profile, update_profile, change_password, delete_account]
}
