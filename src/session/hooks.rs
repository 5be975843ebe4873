//! What other layers want done when a browser signs in, without this layer
//! (or accounts, or auth) knowing them: a feature registers a callback at
//! start-up (the shop merges a visitor's cart into the member's), and the
//! one place that starts sessions (`web::Ctx::start_session`) runs them.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use rocket::http::CookieJar;

use crate::db::DbPool;
use crate::error::AppResult;

/// What a hook returns.
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = AppResult<()>> + Send + 'a>>;

/// A sign-in hook: the database, the browser's cookies (after the new
/// session cookie is set) and the id of the user who signed in.
pub type SignInHook =
    Arc<dyn for<'a> Fn(&'a DbPool, &'a CookieJar<'a>, i64) -> HookFuture<'a> + Send + Sync>;

/// Every sign-in hook of this process, managed as Rocket state by the
/// session stage; features add theirs in their own ignite fairing.
#[derive(Default)]
pub struct SignInHooks {
    hooks: Mutex<Vec<(&'static str, SignInHook)>>,
}

impl SignInHooks {
    /// Run `hook` (named for the logs) after every sign-in.
    pub fn register<F>(&self, name: &'static str, hook: F)
    where
        F: for<'a> Fn(&'a DbPool, &'a CookieJar<'a>, i64) -> HookFuture<'a> + Send + Sync + 'static,
    {
        self.hooks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((name, Arc::new(hook)));
    }

    /// Run every hook for `user_id`. A failing hook is logged and never
    /// undoes the sign-in: the person is signed in either way.
    pub async fn run(&self, db: &DbPool, cookies: &CookieJar<'_>, user_id: i64) {
        let hooks: Vec<(&'static str, SignInHook)> = self
            .hooks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for (name, hook) in hooks {
            if let Err(e) = hook(db, shorten(cookies), user_id).await {
                log::warn!("sign-in hook {name} failed for user {user_id}: {e}");
            }
        }
    }
}

/// `&'a CookieJar<'b>` as `&'a CookieJar<'a>` (CookieJar is covariant).
fn shorten<'a, 'b: 'a>(jar: &'a CookieJar<'b>) -> &'a CookieJar<'a> {
    jar
}
