//! Sign-in, sign-out and ending sessions.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::{get, post, routes, Route, State};

use super::oauth::{ProviderLink, Providers};
use super::session::{self, NewSession};
use super::CurrentUser;
use crate::accounts::model::parse_email;
use crate::accounts::{repo, Hasher};
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::web::ratelimit::{self, Limit};
use crate::web::{local_path, ClientIp, CsrfForm, Layout, NoFields, Reply, UserAgent};

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

/// The limits on failed sign-ins: per account and per client address.
pub(crate) fn limits(cfg: &AppConfig, email: &str, ip: &ClientIp) -> [(String, Limit); 2] {
    let window = cfg.login_failure_window;
    [
        (
            format!("login:account:{email}"),
            Limit {
                max: cfg.login_max_failures_per_account,
                window,
            },
        ),
        (
            format!("login:ip:{}", ip.label()),
            Limit {
                max: cfg.login_max_failures_per_address,
                window,
            },
        ),
    ]
}

#[allow(clippy::too_many_arguments)]
#[post("/login", data = "<form>", rank = 2)]
async fn login(
    db: &Db,
    cfg: &State<AppConfig>,
    hasher: &State<Hasher>,
    providers: &State<Providers>,
    layout: Layout,
    ip: ClientIp,
    ua: UserAgent,
    cookies: &CookieJar<'_>,
    form: CsrfForm<LoginForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let email = parse_email(&form.email).unwrap_or_else(|_| form.email.trim().to_lowercase());
    let limits = limits(cfg, &email, &ip);
    // Count the attempt before checking the password, or a burst of
    // parallel requests would all pass the limit; a success takes it back.
    let mut counted = Vec::with_capacity(limits.len());
    for (bucket, limit) in &limits {
        match ratelimit::attempt(db, bucket, *limit).await {
            Ok(id) => counted.push(id),
            Err(e) => {
                for id in counted {
                    ratelimit::forgive(db, id).await?;
                }
                return Err(e);
            }
        }
    }
    let user = repo::find_by_email(db, &email).await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let password = form.password.clone();
    let verified = hasher.verify(form.password, stored).await?;
    let next = local_path(&form.next).unwrap_or_default();
    let Some(user) = user.filter(|_| verified.ok) else {
        let page = LoginPage {
            layout,
            email: form.email,
            remember: form.remember,
            providers: providers.buttons(&next),
            next,
            error: Some("Incorrect email or password.".into()),
        };
        return Reply::page_with(Status::Unauthorized, &page);
    };
    for id in counted {
        ratelimit::forgive(db, id).await?;
    }
    if user.disabled != 0 {
        return Err(AppError::BadRequest(
            "This account has been disabled. Contact the site's administrators if you think this is a mistake.".into(),
        ));
    }
    ratelimit::clear(db, &limits[0].0).await?;
    if verified.needs_rehash {
        // The password is known to be right: store it at today's strength.
        if let Ok(hash) = hasher.hash(password).await {
            repo::set_password_hash(db, user.id, &hash).await?;
        }
    }
    let ip = ip.label();
    let new = NewSession {
        user_id: user.id,
        remember: form.remember,
        user_agent: &ua.0,
        ip: &ip,
    };
    session::start(db, cfg, cookies, new).await?;
    let target = if next.is_empty() {
        "/".to_string()
    } else {
        next
    };
    Ok(Reply::success(
        target,
        format!("Signed in as {}.", user.username),
    ))
}

#[post("/logout", data = "<_form>", rank = 2)]
async fn logout(db: &Db, cookies: &CookieJar<'_>, _form: CsrfForm<NoFields>) -> AppResult<Reply> {
    session::end_current(db, cookies).await?;
    crate::web::rotate_csrf(cookies);
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
        crate::web::rotate_csrf(cookies);
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
