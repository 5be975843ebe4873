//! Who is calling the API: [`ApiRequest`] decides whether a request is for
//! the API at all, [`ApiUser`] checks its bearer token (never a cookie) and
//! [`ApiAdmin`] its role.

use rocket::http::{MediaType, Status};
use rocket::request::{FromRequest, Outcome, Request};

use super::token::TokenKeys;
use crate::db::{now, Db};
use crate::error::{AppError, GuardError};
use crate::session::hash_token;
use crate::session::CurrentUser;
use crate::web::mark_json;

/// The token of the `Authorization` header, if it has one: `Bearer <jwt>`,
/// or `Token <jwt>` as RealWorld clients send it (the same tokens).
fn bearer<'a>(req: &'a Request<'_>) -> Option<&'a str> {
    let value = req.headers().get_one("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then(|| token.trim())
}

/// True when the request carries a bearer token (good or bad).
pub fn sent_token(req: &Request<'_>) -> bool {
    bearer(req).is_some_and(|t| !t.is_empty())
}

/// True when a request is for the API rather than a page: it sends JSON,
/// prefers JSON, or carries a bearer token without asking for HTML. A form
/// body always means a page, so a bearer token never reaches a form handler.
pub fn is_api_request(req: &Request<'_>) -> bool {
    if let Some(ct) = req.content_type() {
        if ct.is_form() || ct.is_form_data() {
            return false;
        }
        if ct.is_json() {
            return true;
        }
    }
    let preferred = req.accept().map(|a| a.preferred().media_type().clone());
    match preferred {
        Some(m) if m.is_json() => true,
        Some(m) if m == MediaType::HTML => false,
        _ => req.headers().get_one("Authorization").is_some(),
    }
}

/// Present when the request is for the API; otherwise the route forwards to
/// the HTML route on the same path. Errors of API requests are JSON.
pub struct ApiRequest;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiRequest {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        if is_api_request(req) {
            mark_json(req);
            Outcome::Success(ApiRequest)
        } else {
            Outcome::Forward(Status::NotFound)
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    session_id: i64,
    last_seen_at: i64,
    user_id: i64,
    username: String,
    email: String,
    role: String,
    email_verified: i64,
}

/// The user behind a valid bearer token whose session is still live and
/// whose account is enabled. Anything else is 401 (JSON), cookies included.
#[derive(Debug, Clone)]
pub struct ApiUser(pub CurrentUser);

struct Cached(Result<CurrentUser, AppError>);

fn unauthorized() -> AppError {
    AppError::Unauthorized
}

async fn lookup(req: &Request<'_>) -> Result<CurrentUser, AppError> {
    let token = bearer(req).ok_or_else(unauthorized)?;
    let (Some(keys), Some(db)) = (
        req.rocket().state::<TokenKeys>(),
        req.rocket().state::<Db>(),
    ) else {
        return Err(AppError::Internal("API state missing".into()));
    };
    let claims = keys.verify(token).ok_or_else(unauthorized)?;
    let user_id: i64 = claims.sub.parse().map_err(|_| unauthorized())?;
    let t = now();
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.id AS session_id, s.last_seen_at, u.id AS user_id, u.username, u.email, u.role, \
                u.email_verified \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.token_hash = $2 AND s.user_id = $3 AND s.kind = 'api' \
           AND s.expires_at > $4 AND u.disabled = 0",
    )
    .bind(claims.sid)
    .bind(hash_token(&claims.jti))
    .bind(user_id)
    .bind(t)
    .fetch_optional(&db.pool)
    .await?;
    let row = row.ok_or_else(unauthorized)?;
    if t - row.last_seen_at >= 60 {
        let _ = sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(t)
            .bind(row.session_id)
            .execute(&db.pool)
            .await;
    }
    Ok(CurrentUser {
        id: row.user_id,
        username: row.username,
        email: row.email,
        role: row.role,
        email_verified: row.email_verified != 0,
        session_id: row.session_id,
    })
}

fn copy(e: &AppError) -> AppError {
    match e {
        AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
        AppError::Internal(m) => AppError::Internal(m.clone()),
        _ => AppError::Unauthorized,
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiUser {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        mark_json(req);
        let cached = req
            .local_cache_async(async { Cached(lookup(req).await) })
            .await;
        match &cached.0 {
            Ok(user) => Outcome::Success(ApiUser(user.clone())),
            Err(e) => Outcome::Error((GuardError::stash(req, copy(e)), ())),
        }
    }
}

/// An API caller whose role may administer; 403 (JSON) for other users.
/// The role is read with the session on every request.
#[derive(Debug, Clone)]
pub struct ApiAdmin(pub CurrentUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiAdmin {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let ApiUser(user) = rocket::outcome::try_outcome!(req.guard::<ApiUser>().await);
        if user.is_admin() {
            Outcome::Success(ApiAdmin(user))
        } else {
            Outcome::Error((GuardError::stash(req, AppError::Forbidden), ()))
        }
    }
}
