//! Request guards: who is signed in. The lookup runs once per request and is
//! cached, so the layout, the handler and the headers fairing share it.

use rocket::http::Cookie;
use rocket::request::{FromRequest, Outcome, Request};

use super::store::{hash_token, SESSION_COOKIE};
use crate::config::AppConfig;
use crate::db::{now, Db};
use crate::error::{AppError, GuardError};

/// The person behind this request's session.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub role: String,
    pub email_verified: bool,
    /// The id of the session row this request came in on.
    pub session_id: i64,
}

impl CurrentUser {
    /// The user's role (an unknown stored name counts as a plain user).
    pub fn role(&self) -> super::role::Role {
        super::role::Role::parse(&self.role).unwrap_or(super::role::Role::User)
    }

    /// True when the role may use the admin area.
    pub fn is_admin(&self) -> bool {
        self.role().can_administer()
    }
}

/// The per-request result of looking the session up.
enum Lookup {
    Anonymous,
    User(CurrentUser),
    Unavailable,
}

struct Cached(Option<Lookup>);

#[derive(sqlx::FromRow)]
struct Row {
    session_id: i64,
    remember: i64,
    last_seen_at: i64,
    expires_at: i64,
    user_id: i64,
    username: String,
    email: String,
    role: String,
    email_verified: i64,
}

async fn lookup(req: &Request<'_>) -> Lookup {
    let Some(cookie) = req.cookies().get_private(SESSION_COOKIE) else {
        return Lookup::Anonymous;
    };
    let (Some(db), Some(cfg)) = (
        req.rocket().state::<Db>(),
        req.rocket().state::<AppConfig>(),
    ) else {
        return Lookup::Unavailable;
    };
    let row: Option<Row> = match sqlx::query_as(
        "SELECT s.id AS session_id, s.remember, s.last_seen_at, s.expires_at, u.id AS user_id, \
                u.username, u.email, u.role, u.email_verified \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.kind = 'web' AND u.disabled = 0",
    )
    .bind(hash_token(cookie.value()))
    .fetch_optional(&db.pool)
    .await
    {
        Ok(row) => row,
        Err(e) => {
            log::warn!("session lookup failed: {e}");
            return Lookup::Unavailable;
        }
    };
    let t = now();
    let Some(row) = row else {
        req.cookies()
            .remove_private(Cookie::build(SESSION_COOKIE).path("/"));
        return Lookup::Anonymous;
    };
    let idle_limit = if row.remember != 0 {
        cfg.session_remember_timeout
    } else {
        cfg.session_idle_timeout
    };
    if t >= row.expires_at || t - row.last_seen_at >= idle_limit {
        let _ = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(row.session_id)
            .execute(&db.pool)
            .await;
        req.cookies()
            .remove_private(Cookie::build(SESSION_COOKIE).path("/"));
        return Lookup::Anonymous;
    }
    // Record activity at most once a minute: a write per page view would
    // cost more than the page.
    if t - row.last_seen_at >= 60 {
        let _ = sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(t)
            .bind(row.session_id)
            .execute(&db.pool)
            .await;
    }
    Lookup::User(CurrentUser {
        id: row.user_id,
        username: row.username,
        email: row.email,
        role: row.role,
        email_verified: row.email_verified != 0,
        session_id: row.session_id,
    })
}

async fn resolve<'r>(req: &'r Request<'_>) -> &'r Lookup {
    let cached = req
        .local_cache_async(async { Cached(Some(lookup(req).await)) })
        .await;
    cached.0.as_ref().unwrap_or(&Lookup::Anonymous)
}

/// The signed-in user, if any (anonymous when the database is unreachable).
pub async fn current_user(req: &Request<'_>) -> Option<CurrentUser> {
    match resolve(req).await {
        Lookup::User(u) => Some(u.clone()),
        _ => None,
    }
}

/// The user this request already looked up, without querying anything.
pub fn cached_user(req: &Request<'_>) -> Option<CurrentUser> {
    match req.local_cache(|| Cached(None)).0.as_ref() {
        Some(Lookup::User(u)) => Some(u.clone()),
        _ => None,
    }
}

/// True when this request was made by a signed-in user (no query).
pub fn signed_in(req: &Request<'_>) -> bool {
    matches!(req.local_cache(|| Cached(None)).0, Some(Lookup::User(_)))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match resolve(req).await {
            Lookup::User(u) => Outcome::Success(u.clone()),
            Lookup::Anonymous => {
                Outcome::Error((GuardError::stash(req, AppError::Unauthorized), ()))
            }
            Lookup::Unavailable => Outcome::Error((
                GuardError::stash(req, AppError::Unavailable("session lookup".into())),
                (),
            )),
        }
    }
}

/// A signed-in admin. Built on [`CurrentUser`]: anonymous visitors are sent
/// to sign in, signed-in non-admins get 403. The role is read on every
/// request, so a change takes effect at once.
#[derive(Debug, Clone)]
pub struct AdminUser(pub CurrentUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminUser {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let user = rocket::outcome::try_outcome!(req.guard::<CurrentUser>().await);
        if user.is_admin() {
            Outcome::Success(AdminUser(user))
        } else {
            Outcome::Error((GuardError::stash(req, AppError::Forbidden), ()))
        }
    }
}
