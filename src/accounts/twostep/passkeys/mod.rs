//! Passkeys (WebAuthn, docs/twostep.md): a member adds named passkeys on
//! `/account/passkeys` ([`manage`]); a passkey then signs in on its own
//! ("Sign in with a passkey", a discoverable credential) or serves as the
//! second step after a password ([`signin`]). The ceremonies themselves
//! (challenges, CBOR, signatures, counters) are webauthn-rs's; what is
//! ours is where their state lives ([`ceremony`]: a database row, single
//! use, bound to the browser by a cookie) and the stored keys ([`store`]).
//!
//! The browser's side is `static/js/passkeys.js`: it fetches the options,
//! calls `navigator.credentials`, and posts the answer back as JSON with
//! the CSRF token in `X-CSRF-Token`.

pub mod ceremony;
mod manage;
mod signin;
pub mod store;

use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Flash, Responder};
use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use serde_json::json;
use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

use crate::config::AppConfig;
use crate::error::{AppError, GuardError};

pub use store::count;

/// The relying party: this site as WebAuthn knows it, from `base_url`
/// (its host is the relying party id, its origin the only one accepted).
/// None when `base_url` names no domain (an IP address cannot be a
/// relying party id): passkeys are then unavailable and say so.
pub struct RelyingParty(pub Option<Webauthn>);

impl RelyingParty {
    /// Built from the site's `base_url`.
    pub fn from_config(cfg: &AppConfig) -> RelyingParty {
        let built = Url::parse(cfg.origin()).ok().and_then(|origin| {
            let host = origin.domain()?.to_string();
            WebauthnBuilder::new(&host, &origin)
                .ok()?
                .rp_name(&host)
                .build()
                .ok()
        });
        if built.is_none() {
            log::warn!(
                "passkeys are unavailable: base_url {:?} names no domain to be the WebAuthn relying party",
                cfg.base_url
            );
        }
        RelyingParty(built)
    }

    /// The relying party, or a refusal (400) whose message the script
    /// shows (a 503 answers only the generic "the site is busy").
    pub fn get(&self) -> Result<&Webauthn, AppError> {
        self.0
            .as_ref()
            .ok_or_else(|| AppError::BadRequest("Passkeys are not available on this site.".into()))
    }
}

/// The CSRF check of the script's JSON requests: the token in the
/// `X-CSRF-Token` header, and the same-origin checks every form passes.
/// Marks the request as JSON, so that errors answer JSON.
pub struct CsrfHeader;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CsrfHeader {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        crate::web::mark_json(req);
        match crate::session::check_csrf(req, req.headers().get_one("X-CSRF-Token")).await {
            Ok(()) => Outcome::Success(CsrfHeader),
            Err(e) => Outcome::Error((GuardError::stash(req, e), ())),
        }
    }
}

/// How a ceremony ended, for the script: where to go now (with the flash
/// message the next page shows), or why not (shown beside the button).
pub enum Finished {
    Done { redirect: String, message: String },
    Refused(Status, String),
}

impl Finished {
    /// Refused with 400 and `message`.
    pub fn refused(message: impl Into<String>) -> Finished {
        Finished::Refused(Status::BadRequest, message.into())
    }
}

impl<'r> Responder<'r, 'static> for Finished {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Finished::Done { redirect, message } => {
                Flash::success(Json(json!({ "redirect": redirect })), message).respond_to(req)
            }
            Finished::Refused(status, message) => (
                status,
                Json(json!({ "error": "passkey_refused", "message": message })),
            )
                .respond_to(req),
        }
    }
}

#[get("/static/js/passkeys.js")]
fn script() -> (ContentType, &'static str) {
    (
        ContentType::JavaScript,
        include_str!("../../../../static/js/passkeys.js"),
    )
}

/// The passkey pages, the ceremonies' JSON endpoints and the script.
pub fn routes() -> Vec<Route> {
    let mut all = routes![script];
    all.extend(manage::routes());
    all.extend(signin::routes());
    all
}
