//! The request context: what a handler that changes something usually needs
//! besides its form, gathered by one guard so that handlers take a handful
//! of parameters and read top to bottom.

use rocket::http::CookieJar;
use rocket::request::{FromRequest, Outcome, Request};

use super::{ClientIp, UserAgent};
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{AppError, AppResult, GuardError};
use crate::mail::Wakeup;
use crate::session::{self, NewSession, SignInHooks};

/// The database, the settings, the cookies, who is calling from where, and
/// the mail worker's doorbell.
pub struct Ctx<'r> {
    pub db: &'r Db,
    pub cfg: &'r AppConfig,
    pub cookies: &'r CookieJar<'r>,
    pub ip: ClientIp,
    pub ua: UserAgent,
    pub wakeup: &'r Wakeup,
    /// What features want done at sign-in (the shop's cart merge).
    pub hooks: &'r SignInHooks,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Ctx<'r> {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let rocket = req.rocket();
        let (Some(db), Some(cfg), Some(wakeup), Some(hooks)) = (
            rocket.state::<Db>(),
            rocket.state::<AppConfig>(),
            rocket.state::<Wakeup>(),
            rocket.state::<SignInHooks>(),
        ) else {
            let error = AppError::Internal("the application state is incomplete".into());
            return Outcome::Error((GuardError::stash(req, error), ()));
        };
        // Both guards are infallible.
        let ip = req.guard::<ClientIp>().await.succeeded();
        let ua = req.guard::<UserAgent>().await.succeeded();
        Outcome::Success(Ctx {
            db,
            cfg,
            cookies: req.cookies(),
            ip: ip.unwrap_or(ClientIp(None)),
            ua: ua.unwrap_or(UserAgent(String::new())),
            wakeup,
            hooks,
        })
    }
}

impl Ctx<'_> {
    /// Sign this browser in as `user_id`: a new session (any old one is
    /// ended first) recorded with this request's device and address.
    pub async fn start_session(&self, user_id: i64, remember: bool) -> AppResult<()> {
        let ip = self.ip.label();
        let new = NewSession {
            user_id,
            remember,
            user_agent: &self.ua.0,
            ip: &ip,
        };
        session::start(self.db, self.cfg, self.cookies, new).await?;
        self.hooks.run(self.db, self.cookies, user_id).await;
        Ok(())
    }
}
