//! Request guards: who is signed in. The lookup runs once per request and is
//! cached, so the layout, the handler and the headers fairing share it.

use std::sync::Arc;

use rocket::http::Cookie;
use rocket::request::{FromRequest, Outcome, Request};

use super::cache::{Session, SessionCache};
use super::gate::AdminGate;
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

/// Activity is noted when the stored "last seen" is this many seconds old.
const SEEN_EVERY: i64 = 60;

/// The per-request result of looking the session up.
enum Lookup {
    Anonymous,
    /// The user, and the session's CSRF token.
    User(CurrentUser, Arc<str>),
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
    // The cookie as the browser sent it, still sealed, is the cache's key:
    // a cached session then costs neither the decryption nor a hash. Only
    // a cookie that opened (below) and named a live session is ever
    // stored, so a key in the cache is as secret as the session token.
    let Some(sent) = req.cookies().get(SESSION_COOKIE) else {
        return Lookup::Anonymous;
    };
    let key = sent.value();
    let (Some(db), Some(cfg), Some(cache)) = (
        req.rocket().state::<Db>(),
        req.rocket().state::<AppConfig>(),
        req.rocket().state::<SessionCache>(),
    ) else {
        return Lookup::Unavailable;
    };
    let t = now();
    let idle_limit = |remember: bool| {
        if remember {
            cfg.session_remember_timeout
        } else {
            cfg.session_idle_timeout
        }
    };
    if let Some(e) = cache.get(key) {
        // An entry that looks expired is decided by the database (another
        // process may have seen the session more recently).
        if t < e.expires_at && t - e.last_seen_at < idle_limit(e.remember) {
            if t - e.last_seen_at >= SEEN_EVERY {
                cache.seen(key, e.user.session_id, t);
            }
            return Lookup::User(e.user, e.csrf);
        }
    }
    let Some(cookie) = req.cookies().get_private(SESSION_COOKIE) else {
        return Lookup::Anonymous;
    };
    let hash = hash_token(cookie.value());
    let ticket = cache.ticket();
    let row: Option<Row> = match sqlx::query_as(
        "SELECT s.id AS session_id, s.remember, s.last_seen_at, s.expires_at, u.id AS user_id, \
                u.username, u.email, u.role, u.email_verified \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.kind = 'web' AND u.disabled = 0",
    )
    .bind(&hash)
    .fetch_optional(&db.pool)
    .await
    {
        Ok(row) => row,
        Err(e) => {
            log::warn!("session lookup failed: {e}");
            return Lookup::Unavailable;
        }
    };
    let Some(row) = row else {
        req.cookies()
            .remove_private(Cookie::build(SESSION_COOKIE).path("/"));
        return Lookup::Anonymous;
    };
    if t >= row.expires_at || t - row.last_seen_at >= idle_limit(row.remember != 0) {
        cache.forget(key);
        let deleted = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(row.session_id)
            .execute(&db.pool)
            .await;
        // The profile page lists the user's sessions.
        if deleted.is_ok() {
            let _ = super::cache::publish_user(db, row.user_id).await;
        }
        req.cookies()
            .remove_private(Cookie::build(SESSION_COOKIE).path("/"));
        return Lookup::Anonymous;
    }
    let user = CurrentUser {
        id: row.user_id,
        username: row.username,
        email: row.email,
        role: row.role,
        email_verified: row.email_verified != 0,
        session_id: row.session_id,
    };
    let csrf: Arc<str> = super::csrf::for_session(cookie.value()).into();
    cache.put(
        ticket,
        key.to_string(),
        Session {
            user: user.clone(),
            csrf: csrf.clone(),
            remember: row.remember != 0,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
        },
    );
    // Activity is recorded at most once a minute, and written in batches:
    // a write per page view would cost more than the page.
    if t - row.last_seen_at >= SEEN_EVERY {
        cache.seen(key, row.session_id, t);
    }
    Lookup::User(user, csrf)
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
        Lookup::User(u, _) => Some(u.clone()),
        _ => None,
    }
}

/// Look this request's session up (once) before its CSRF token is
/// checked: which token is expected depends on it. Err when the database
/// could not say, so that a member's form answers 503, not a 403 for a
/// token that was right.
pub(crate) async fn resolve_for_csrf(req: &Request<'_>) -> Result<(), AppError> {
    match resolve(req).await {
        Lookup::Unavailable => Err(AppError::Unavailable("session lookup".into())),
        _ => Ok(()),
    }
}

/// The CSRF token of the session this request already looked up (see
/// `csrf::for_session`); None when anonymous or not looked up yet.
pub(crate) fn session_csrf(req: &Request<'_>) -> Option<Arc<str>> {
    match req.local_cache(|| Cached(None)).0.as_ref() {
        Some(Lookup::User(_, csrf)) => Some(csrf.clone()),
        _ => None,
    }
}

/// The user this request already looked up, without querying anything.
pub fn cached_user(req: &Request<'_>) -> Option<CurrentUser> {
    match req.local_cache(|| Cached(None)).0.as_ref() {
        Some(Lookup::User(u, _)) => Some(u.clone()),
        _ => None,
    }
}

/// True when this request was made by a signed-in user (no query).
pub fn signed_in(req: &Request<'_>) -> bool {
    matches!(req.local_cache(|| Cached(None)).0, Some(Lookup::User(..)))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match resolve(req).await {
            Lookup::User(u, _) => Outcome::Success(u.clone()),
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
/// to sign in, signed-in non-admins get 403. A role change invalidates the
/// session cache everywhere (`cache::user_changed`), so it takes effect on
/// the next request.
#[derive(Debug, Clone)]
pub struct AdminUser(pub CurrentUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminUser {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let user = rocket::outcome::try_outcome!(req.guard::<CurrentUser>().await);
        if !user.is_admin() {
            return Outcome::Error((GuardError::stash(req, AppError::Forbidden), ()));
        }
        let rocket = req.rocket();
        if let (Some(gate), Some(db)) = (rocket.state::<AdminGate>(), rocket.state::<Db>()) {
            match (gate.check)(db, user.id).await {
                Ok(true) => {}
                Ok(false) => {
                    super::gate::refuse(req, gate);
                    return Outcome::Error((GuardError::stash(req, AppError::Forbidden), ()));
                }
                Err(e) => return Outcome::Error((GuardError::stash(req, e), ())),
            }
        }
        Outcome::Success(AdminUser(user))
    }
}
