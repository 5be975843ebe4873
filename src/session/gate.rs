//! A further condition on the admin pages, set by a layer above without
//! this one knowing it: two-step sign-in (accounts) installs "an admin
//! must have a second factor" when `twostep.require_for_admins` is on. The
//! [`AdminUser`](super::AdminUser) guard asks it after the role; an admin
//! it refuses gets 403, and the error catcher (web) sends a browser to
//! [`AdminGate::redirect`] with [`AdminGate::message`] instead.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use rocket::request::Request;

use crate::db::DbPool;
use crate::error::AppResult;

/// What a gate's check returns: whether this admin may pass.
pub type GateFuture<'a> = Pin<Box<dyn Future<Output = AppResult<bool>> + Send + 'a>>;

/// The check: the database and the admin's user id.
pub type GateCheck = Arc<dyn for<'a> Fn(&'a DbPool, i64) -> GateFuture<'a> + Send + Sync>;

/// The admin pages' extra condition, managed as Rocket state by whoever
/// sets it (absent: admins only need their role).
pub struct AdminGate {
    pub check: GateCheck,
    /// Where a refused admin's browser is sent (a local path).
    pub redirect: &'static str,
    /// What the page there tells them.
    pub message: &'static str,
}

/// Marks a request whose admin the gate refused.
struct Refused(OnceLock<(&'static str, &'static str)>);

/// Note that the gate refused this request's admin.
pub(super) fn refuse(req: &Request<'_>, gate: &AdminGate) {
    let _ = req
        .local_cache(|| Refused(OnceLock::new()))
        .0
        .set((gate.redirect, gate.message));
}

/// Where to send this request's browser and what to tell it, when the
/// admin gate refused it.
pub fn refused(req: &Request<'_>) -> Option<(&'static str, &'static str)> {
    req.local_cache(|| Refused(OnceLock::new()))
        .0
        .get()
        .copied()
}
