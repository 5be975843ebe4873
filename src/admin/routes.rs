//! The admin pages: dashboard, users (`GET /users`), a user's page with its
//! actions, deletion after a confirmation step (`DELETE /user/<id>`), and
//! the audit log.

use rocket::form::FromForm;
use rocket::{delete, get, post, routes, Route, State};

use super::actions;
use super::cache::{AuditCache, StatsCache, UsersCache};
use super::repo::Sort;
use super::views::{AuditPage, ConfirmDeletePage, DashboardPage, UserPage, UsersPage};
use crate::accounts::repo as accounts;
use crate::audit::{self, Actor};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::profile::cache::ProfileCache;
use crate::session::AdminUser;
use crate::session::Role;
use crate::session::{CsrfForm, NoFields};
use crate::web::paging::{Pager, Paging};
use crate::web::{ClientIp, Ctx, Layout, Reply};

const PAGE_SIZE: i64 = 25;

fn actor(admin: &AdminUser, ip: &ClientIp) -> Actor {
    Actor {
        id: admin.0.id,
        name: admin.0.username.clone(),
        ip: ip.label(),
    }
}

/// An action's outcome as a redirect: a refusal (409, e.g. the last admin)
/// comes back as a message on the page the admin was on.
fn done(result: AppResult<()>, back: String, success: &str) -> AppResult<Reply> {
    match result {
        Ok(()) => Ok(Reply::success(back, success)),
        Err(AppError::Conflict(message)) => Ok(Reply::failure(back, message)),
        Err(e) => Err(e),
    }
}

#[get("/admin")]
async fn dashboard(
    db: &Db,
    cache: &State<StatsCache>,
    _admin: AdminUser,
    layout: Layout,
) -> AppResult<Reply> {
    let stats = cache.get(db).await?;
    Reply::page(&DashboardPage { layout, stats })
}

#[get("/users?<q>&<sort>&<page>", rank = 2)]
async fn users(
    db: &Db,
    cache: &State<UsersCache>,
    _admin: AdminUser,
    layout: Layout,
    q: Option<String>,
    sort: Option<String>,
    page: Option<i64>,
) -> AppResult<Reply> {
    let q: String = q.unwrap_or_default().chars().take(200).collect();
    let sort = Sort::parse(sort.as_deref());
    let paging = Paging::page(page, PAGE_SIZE);
    let listed = cache
        .list(db, &q, sort, (paging.limit, paging.offset))
        .await?;
    let (rows, total) = &*listed;
    let pager = Pager::new(UsersPage::base(&q, sort), paging, *total);
    Reply::page(&UsersPage {
        layout,
        rows: rows.clone(),
        q,
        sort,
        pager,
    })
}

/// A member's account as their own profile page shows it (kept per member,
/// and dropped at every change to it: `profile::cache`), with what the
/// audit log says about it.
#[get("/admin/users/<id>")]
async fn user(
    db: &Db,
    profiles: &State<ProfileCache>,
    _admin: AdminUser,
    layout: Layout,
    id: i64,
) -> AppResult<Reply> {
    let profile = profiles.load(db, id).await?;
    let audit = audit::about_user(db, id, 20).await?;
    Reply::page(&UserPage::new(layout, profile, audit))
}

#[derive(FromForm)]
struct RoleForm {
    #[field(default = String::new())]
    role: String,
}

#[post("/admin/users/<id>/role", data = "<form>")]
async fn set_role(
    db: &Db,
    admin: AdminUser,
    ip: ClientIp,
    id: i64,
    form: CsrfForm<RoleForm>,
) -> AppResult<Reply> {
    let role = Role::parse(&form.0.role)
        .ok_or_else(|| AppError::BadRequest("There is no such role.".into()))?;
    let result = actions::set_role(db, &actor(&admin, &ip), id, role).await;
    done(
        result,
        format!("/admin/users/{id}"),
        &format!("The role is now {}.", role.as_str()),
    )
}

#[post("/admin/users/<id>/disable", data = "<_form>")]
async fn disable(
    db: &Db,
    admin: AdminUser,
    ip: ClientIp,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let result = actions::set_disabled(db, &actor(&admin, &ip), id, true).await;
    done(
        result,
        format!("/admin/users/{id}"),
        "The account is disabled and signed out everywhere.",
    )
}

#[post("/admin/users/<id>/enable", data = "<_form>")]
async fn enable(
    db: &Db,
    admin: AdminUser,
    ip: ClientIp,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let result = actions::set_disabled(db, &actor(&admin, &ip), id, false).await;
    done(
        result,
        format!("/admin/users/{id}"),
        "The account is enabled again.",
    )
}

#[post("/admin/users/<id>/sessions/end", data = "<_form>")]
async fn end_sessions(
    db: &Db,
    admin: AdminUser,
    ip: ClientIp,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let result = actions::end_sessions(db, &actor(&admin, &ip), id)
        .await
        .map(|_| ());
    done(
        result,
        format!("/admin/users/{id}"),
        "Every session of this account has ended.",
    )
}

/// Turn off a member's two-step sign-in (they lost their phone and codes).
#[post("/admin/users/<id>/two-step/reset", data = "<_form>")]
async fn reset_two_step(
    ctx: Ctx<'_>,
    admin: AdminUser,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let back = format!("/admin/users/{id}");
    let actor = actor(&admin, &ctx.ip);
    if actions::reset_two_step(ctx.db, &actor, id, &ctx.cfg.base_url, ctx.wakeup).await? {
        Ok(Reply::success(
            back,
            "Two-step sign-in is off and the passkeys are removed for this account. The member was told by mail.",
        ))
    } else {
        Ok(Reply::failure(
            back,
            "This account has neither two-step sign-in nor passkeys.",
        ))
    }
}

#[get("/admin/users/<id>/delete")]
async fn confirm_delete(db: &Db, _admin: AdminUser, layout: Layout, id: i64) -> AppResult<Reply> {
    let user = accounts::find_by_id(db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Reply::page(&ConfirmDeletePage { layout, user })
}

#[delete("/user/<id>", data = "<_form>", rank = 2)]
async fn delete_user(
    db: &Db,
    admin: AdminUser,
    ip: ClientIp,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    match actions::delete_user(db, &actor(&admin, &ip), id).await {
        Ok(()) => Ok(Reply::success(
            "/users",
            "The account and everything it owned have been deleted.",
        )),
        Err(AppError::Conflict(message)) => {
            Ok(Reply::failure(format!("/admin/users/{id}"), message))
        }
        Err(e) => Err(e),
    }
}

/// The audit log's query string, as sent.
#[derive(FromForm)]
struct AuditParams {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    page: Option<i64>,
}

#[get("/admin/audit?<params..>")]
async fn audit_log(
    db: &Db,
    cache: &State<AuditCache>,
    _admin: AdminUser,
    layout: Layout,
    params: AuditParams,
) -> AppResult<Reply> {
    let cut = |s: Option<String>| s.unwrap_or_default().chars().take(64).collect();
    let filter = audit::Filter {
        actor: cut(params.actor),
        action: cut(params.action),
        target: cut(params.target),
    };
    let page = params.page;
    let paging = Paging::page(page, PAGE_SIZE);
    let kept = cache
        .page(db, &filter, (paging.limit, paging.offset))
        .await?;
    let (entries, total, actions) = &*kept;
    Reply::page(&AuditPage::new(
        layout,
        entries.clone(),
        filter,
        actions.clone(),
        paging,
        *total,
    ))
}

/// The routes of the admin area.
pub fn routes() -> Vec<Route> {
    routes![
        dashboard,
        users,
        user,
        set_role,
        disable,
        enable,
        end_sessions,
        reset_two_step,
        confirm_delete,
        delete_user,
        audit_log
    ]
}
