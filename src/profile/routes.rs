//! The profile page: the public profile, password change, account deletion.

use rocket::http::Status;
use rocket::{get, post, put, routes, Route, State};

use super::cache::ProfileCache;
use super::views::{ProfilePage, TimeZonePage};
use crate::accounts::admins::{self, AdminChange, LastAdmin};
use crate::accounts::credentials::{self, Confirmation};
use crate::accounts::model::{ConfirmForm, PasswordForm, ProfileForm};
use crate::accounts::password::{self, Hasher};
use crate::accounts::repo;
use crate::accounts::timezone;
use crate::auth::oauth::Providers;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::{self, CsrfForm, CurrentUser};
use crate::web::{Ctx, Layout, Reply};

#[get("/profile")]
async fn profile(
    db: &Db,
    cache: &State<ProfileCache>,
    providers: &State<Providers>,
    layout: Layout,
    me: CurrentUser,
) -> AppResult<Reply> {
    Reply::page(&ProfilePage::load(db, cache, providers, layout, &me).await?)
}

#[put("/update-profile", data = "<form>", rank = 2)]
async fn update_profile(
    db: &Db,
    cache: &State<ProfileCache>,
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
            let mut page = ProfilePage::load(db, cache, providers, layout, &me).await?;
            page.profile = form;
            page.errors = errors;
            Reply::page_with(Status::UnprocessableEntity, &page)
        }
    }
}

/// Change the password: confirmed with the current one (or, for an account
/// without one, a fresh sign-in), checked against the policy, then
/// [`credentials::change_password`]. Every refusal is shown at once, on the
/// profile page.
#[post("/account/password", data = "<form>")]
async fn change_password(
    ctx: Ctx<'_>,
    cache: &State<ProfileCache>,
    providers: &State<Providers>,
    hasher: &State<Hasher>,
    layout: Layout,
    me: CurrentUser,
    form: CsrfForm<PasswordForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let user = repo::find_by_id(ctx.db, me.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::default();
    let confirmed = credentials::confirm(
        ctx.db,
        ctx.cfg,
        hasher,
        &user,
        me.session_id,
        form.current_password,
    );
    match confirmed.await? {
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
    if errors.is_empty() {
        match credentials::change_password(ctx.db, hasher, &user, form.new_password, me.session_id)
            .await?
        {
            Ok(ended) => return Ok(Reply::success("/profile", password_changed(ended))),
            Err(problem) => errors.add("new_password", problem),
        }
    }
    let mut page = ProfilePage::load(ctx.db, cache, providers, layout, &me).await?;
    page.password_errors = errors;
    Reply::page_with(Status::UnprocessableEntity, &page)
}

/// What the profile says after a password change that ended `ended` other sessions.
fn password_changed(ended: u64) -> String {
    let others = match ended {
        0 => String::new(),
        1 => " Your other session has been signed out.".into(),
        n => format!(" Your {n} other sessions have been signed out."),
    };
    format!("Your password has been changed.{others}")
}

/// Delete one's own account, confirmed like a password change; the last
/// enabled admin cannot ([`admins`]).
#[post("/account/delete", data = "<form>")]
async fn delete_account(
    ctx: Ctx<'_>,
    cache: &State<ProfileCache>,
    providers: &State<Providers>,
    hasher: &State<Hasher>,
    layout: Layout,
    me: CurrentUser,
    form: CsrfForm<ConfirmForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let db = ctx.db;
    let user = repo::find_by_id(db, me.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let confirmed = credentials::confirm(db, ctx.cfg, hasher, &user, me.session_id, form.password);
    let problem = match confirmed.await? {
        Confirmation::WrongPassword => {
            "That is not your password. Your account has not been deleted.".into()
        }
        Confirmation::NotRecent => format!(
            "{} Your account has not been deleted.",
            credentials::fresh_sign_in_needed("delete your account")
        ),
        Confirmation::Confirmed => match admins::apply(db, &user, AdminChange::Delete, None).await?
        {
            Ok(()) => {
                session::end_current(db, ctx.cookies).await?;
                session::rotate_csrf(ctx.cookies);
                return Ok(Reply::success(
                    "/",
                    "Your account and everything in it have been deleted.",
                ));
            }
            Err(LastAdmin) => {
                "You are the only admin. Make someone else an admin before deleting your account."
                    .into()
            }
        },
    };
    let mut page = ProfilePage::load(db, cache, providers, layout, &me).await?;
    page.delete_error = Some(problem);
    Reply::page_with(Status::UnprocessableEntity, &page)
}

/// The time-zone form.
#[derive(Debug, Default, rocket::FromForm)]
struct TimeZoneForm {
    #[field(default = String::new())]
    time_zone: String,
}

/// The time-zone page, the member's zone selected.
#[get("/account/time-zone")]
async fn time_zone(db: &Db, layout: Layout, me: CurrentUser) -> AppResult<Reply> {
    Reply::page(&TimeZonePage {
        layout,
        time_zone: timezone::name_of(db, me.id).await?,
        error: None,
    })
}

/// Choose the time zone dates and times are typed and shown in.
#[post("/account/time-zone", data = "<form>")]
async fn set_time_zone(
    db: &Db,
    layout: Layout,
    me: CurrentUser,
    form: CsrfForm<TimeZoneForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let name = form.time_zone.trim();
    if timezone::parse(name).is_some() {
        timezone::set(db, me.id, name).await?;
        return Ok(Reply::success(
            "/profile",
            format!("Your time zone is now {name}."),
        ));
    }
    let page = TimeZonePage {
        layout,
        time_zone: name.chars().take(100).collect(),
        error: Some("Choose a time zone from the list, such as Europe/Berlin.".into()),
    };
    Reply::page_with(Status::UnprocessableEntity, &page)
}

/// The routes of this feature.
pub fn routes() -> Vec<Route> {
    routes![
        profile,
        update_profile,
        change_password,
        delete_account,
        time_zone,
        set_time_zone
    ]
}
