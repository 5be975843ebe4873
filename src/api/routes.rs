//! The API's handlers. Each one shares its path with an HTML route (rank 2)
//! or has none, and calls the same validation, queries and admin actions
//! as the pages do.

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route, State};

use super::guards::{ApiAdmin, ApiRequest, ApiUser};
use super::json::{JsonBody, OptionalJsonBody};
use super::model::{
    DeleteRequest, ErrorBody, LoginRequest, ProfileRequest, SignupRequest, TokenReply, UserJson,
    UserPage,
};
use super::token::{self, NoStore, TokenKeys};
use super::twostep::{token_or_challenge, LoginReply};
use crate::accounts::admins::{self, AdminChange, LastAdmin};
use crate::accounts::credentials::{self, Outcome};
use crate::accounts::model::{ProfileForm, SignupForm};
use crate::accounts::register::{register, Refused};
use crate::accounts::{repo, Hasher};
use crate::admin::actions;
use crate::admin::repo::{list_users, Sort};
use crate::audit::Actor;
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::web::paging::PageQuery;
use crate::web::Ctx;

/// Longest search text `GET /users` accepts.
const QUERY_MAX: usize = 200;
/// Most users one page of `GET /users` holds.
const PER_PAGE_MAX: i64 = 100;

async fn user_json(db: &Db, id: i64) -> AppResult<UserJson> {
    Ok(repo::find_by_id(db, id)
        .await?
        .ok_or(AppError::NotFound)?
        .into())
}

pub(super) fn refused(
    status: Status,
    error: &'static str,
    message: &str,
) -> Custom<Json<ErrorBody>> {
    Custom(
        status,
        Json(ErrorBody {
            error,
            message: message.into(),
        }),
    )
}

/// Sign in: the same checks and the same rate limits (same buckets) as the
/// form; an account with two-step sign-in gets a challenge (202) for
/// `POST /login/two-step` instead of a token ([`super::twostep`]).
#[post("/login", data = "<body>", rank = 1)]
async fn login(
    _api: ApiRequest,
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    keys: &State<TokenKeys>,
    body: JsonBody<LoginRequest>,
) -> AppResult<LoginReply> {
    let JsonBody(body) = body;
    let checked = credentials::check(&ctx, hasher, None, &body.email, body.password);
    let user = match checked.await? {
        Outcome::Valid(user) => user,
        Outcome::Invalid => {
            return Ok(LoginReply::Refused(refused(
                Status::Unauthorized,
                "invalid_credentials",
                "Incorrect email or password.",
            )))
        }
        Outcome::Disabled => {
            return Ok(LoginReply::Refused(refused(
                Status::Forbidden,
                "account_disabled",
                "This account has been disabled.",
            )))
        }
    };
    token_or_challenge(&ctx, keys, user).await
}

/// Create an account, queue its verification mail (in the same
/// transaction) and answer with a token, as the form signs the new user in.
#[post("/signup", data = "<body>", rank = 1)]
async fn signup(
    _api: ApiRequest,
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    keys: &State<TokenKeys>,
    body: JsonBody<SignupRequest>,
) -> AppResult<NoStore<(Status, Json<TokenReply>)>> {
    let JsonBody(body) = body;
    let form = SignupForm {
        username: body.username,
        email: body.email,
        password: body.password,
    };
    let id = match register(&ctx, hasher, &form).await? {
        Ok(id) => id,
        Err(Refused::Invalid(errors)) => return Err(AppError::Validation(errors)),
        Err(Refused::Taken(errors)) => {
            let message = errors.0.values().next().cloned().unwrap_or_default();
            return Err(AppError::Conflict(message));
        }
    };
    let issued = token::issue(ctx.db, keys, ctx.cfg, id, &ctx.ua.0, &ctx.ip.label()).await?;
    Ok(NoStore((
        Status::Created,
        Json(TokenReply {
            token: issued.token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            user: user_json(ctx.db, id).await?,
        }),
    )))
}

/// End the token's session: the token stops working at once.
#[post("/logout", rank = 1)]
async fn logout(_api: ApiRequest, db: &Db, me: ApiUser) -> AppResult<Status> {
    sqlx::query("DELETE FROM sessions WHERE id = $1 AND kind = 'api'")
        .bind(me.0.session_id)
        .execute(&db.pool)
        .await?;
    crate::session::user_changed(db, me.0.id).await?;
    Ok(Status::NoContent)
}

/// The token's own account.
#[get("/me", format = "json", rank = 1)]
async fn me(db: &Db, me: ApiUser) -> AppResult<Json<UserJson>> {
    Ok(Json(user_json(db, me.0.id).await?))
}

/// Change the token's own profile. Only profile fields are read: the user
/// is the token's, whatever the body says.
#[put("/update-profile", data = "<body>", rank = 1)]
async fn update_profile(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    body: JsonBody<ProfileRequest>,
) -> AppResult<Json<UserJson>> {
    let JsonBody(body) = body;
    let current = repo::find_by_id(db, me.0.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let form = ProfileForm {
        display_name: body.display_name.unwrap_or(current.display_name),
        bio: body.bio.unwrap_or(current.bio),
        avatar_url: body.avatar_url.unwrap_or(current.avatar_url),
    };
    let p = form.validate().map_err(AppError::Validation)?;
    repo::update_profile(db, me.0.id, &p.display_name, &p.bio, &p.avatar_url).await?;
    Ok(Json(user_json(db, me.0.id).await?))
}

/// Admins: a page of users, searched by name or email and sorted.
#[get("/users?<q>&<sort>&<paging..>", format = "json", rank = 1)]
async fn users(
    _api: ApiRequest,
    db: &Db,
    _admin: ApiAdmin,
    q: Option<&str>,
    sort: Option<&str>,
    paging: PageQuery<'_>,
) -> AppResult<Json<UserPage>> {
    let mut errors = FieldErrors::default();
    let paging = paging.paging(20, PER_PAGE_MAX, &mut errors);
    let q = q.unwrap_or("");
    if q.chars().count() > QUERY_MAX {
        errors.add("q", format!("Use at most {QUERY_MAX} characters."));
    }
    let order = Sort::parse(sort);
    if sort.is_some_and(|s| s != order.as_str()) {
        let names: Vec<&str> = Sort::ALL.iter().map(|s| s.as_str()).collect();
        errors.add("sort", format!("Use one of: {}.", names.join(", ")));
    }
    errors.into_result()?;
    let (rows, total) = list_users(db, q, order, paging.limit, paging.offset).await?;
    Ok(Json(UserPage {
        users: rows.into_iter().map(Into::into).collect(),
        page: paging.page,
        per_page: paging.limit,
        total,
    }))
}

/// Delete an account: admins any but the last admin (409), everyone else
/// only their own (403 for any other id, existing or not, so ids cannot be
/// probed). Deleting one's own account needs the password in the body, as
/// on the profile page (422 without it, 403 when wrong). Deleting ends the
/// account's sessions and so its tokens.
#[delete("/user/<id>", data = "<body>", rank = 1)]
async fn delete_user(
    _api: ApiRequest,
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    me: ApiUser,
    id: &str,
    body: OptionalJsonBody<DeleteRequest>,
) -> AppResult<Result<Status, Custom<Json<ErrorBody>>>> {
    let ApiUser(me) = me;
    let id: i64 = match id.parse() {
        Ok(id) => id,
        Err(_) if me.is_admin() => return Err(AppError::NotFound),
        Err(_) => return Err(AppError::Forbidden),
    };
    if id == me.id {
        let password = body.0.and_then(|b| b.password).unwrap_or_default();
        return delete_self(ctx.db, ctx.cfg, hasher, id, password).await;
    }
    if !me.is_admin() {
        return Err(AppError::Forbidden);
    }
    let actor = Actor {
        id: me.id,
        name: me.username.clone(),
        ip: ctx.ip.label(),
    };
    actions::delete_user(ctx.db, &actor, id).await?;
    Ok(Ok(Status::NoContent))
}

/// The profile's "delete my account" (which the audit log does not record:
/// its actor would be the deleted row), confirmed with the password.
async fn delete_self(
    db: &Db,
    cfg: &AppConfig,
    hasher: &Hasher,
    id: i64,
    password: String,
) -> AppResult<Result<Status, Custom<Json<ErrorBody>>>> {
    let user = repo::find_by_id(db, id).await?.ok_or(AppError::NotFound)?;
    if user.password_hash.is_none() {
        return Ok(Err(refused(
            Status::Forbidden,
            "password_required",
            "This account has no password: delete it from the profile page, after confirming with your sign-in provider.",
        )));
    }
    if password.is_empty() {
        let mut errors = FieldErrors::default();
        errors.add("password", "Give your password to delete your account.");
        return Err(AppError::Validation(errors));
    }
    if !credentials::confirm_password(db, cfg, hasher, &user, password).await? {
        return Ok(Err(refused(
            Status::Forbidden,
            "wrong_password",
            "That is not your password. Your account has not been deleted.",
        )));
    }
    match admins::apply(db, &user, AdminChange::Delete, None).await? {
        Ok(()) => Ok(Ok(Status::NoContent)),
        Err(LastAdmin) => Err(AppError::Conflict(
            "You are the only admin. Make someone else an admin first.".into(),
        )),
    }
}

/// The API's handlers.
pub fn routes() -> Vec<Route> {
    routes![
        login,
        super::twostep::second_step,
        signup,
        logout,
        me,
        update_profile,
        users,
        delete_user
    ]
}
