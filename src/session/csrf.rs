//! CSRF protection for every state-changing form: a secret token sent back
//! in a hidden field, plus a same-origin check on `Origin` and
//! `Sec-Fetch-Site`. Rocket has none of its own.
//!
//! Where the token lives, as in Rails (which keeps it in the session):
//! - **Signed in:** derived from the session ([`for_session`]), so it is
//!   new with every session (sign-in and sign-out both start or end one)
//!   and a signed-in page needs no cookie of its own: no encryption, no
//!   `Set-Cookie`, and no cookie to decrypt when the form comes back.
//! - **Anonymous** (the sign-in, sign-up and contact forms): a random
//!   token bound to the browser by an encrypted cookie, dropped at sign-in
//!   and sign-out ([`rotate`]).
//!
//! A form checked against the session's token must be rendered and posted
//! in the same session: a form from before a sign-in or sign-out, or from
//! a session that has since ended, is refused (and the handler's own
//! sign-in guard runs first where there is one).

use std::sync::OnceLock;

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::form::{Form, FromForm};
use rocket::http::{Cookie, CookieJar, RawStr, SameSite};
use rocket::request::Request;
use subtle::ConstantTimeEq;

use crate::config::AppConfig;
use crate::error::{AppError, GuardError};

const CSRF_COOKIE: &str = "gw_csrf";
/// The hidden form field that carries the token.
pub const CSRF_FIELD: &str = "csrf_token";

struct Slot(OnceLock<String>);

/// The CSRF token of the session whose (secret) token is `session_token`:
/// SHA-256 over a context and the token, URL-safe base64. The page may
/// show it (it is in every form) without showing the session token, which
/// it does not reveal; and it cannot be computed from what the database
/// keeps (the session token's hash), so reading the database does not
/// give a way to forge a member's forms.
pub fn for_session(session_token: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"groundwork csrf v1\0")
        .chain_update(session_token.as_bytes())
        .finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// The token for this request's forms, if there is one: the session's
/// when the request's session was looked up (see the module's
/// documentation), else the one the cookie binds. Creates nothing.
pub fn existing(req: &Request<'_>) -> Option<String> {
    if let Some(t) = super::guards::session_csrf(req) {
        return Some(t.to_string());
    }
    if let Some(t) = req.local_cache(|| Slot(OnceLock::new())).0.get() {
        return Some(t.clone());
    }
    req.cookies()
        .get_private(CSRF_COOKIE)
        .map(|c| c.value().to_string())
}

/// A new token: 256 bits from this thread's CSPRNG (ChaCha, seeded and
/// reseeded from the OS), URL-safe base64. Not `OsRng` as for sessions:
/// a token is bound on every page a browser without one opens (a first
/// visit, a client that keeps no cookies), and there a system call per
/// page is measurable (bench/RESULTS.md, run F).
fn fresh_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The token for forms on this page, creating and binding one if needed
/// (for an anonymous visitor only: a session has its own).
pub fn ensure(req: &Request<'_>) -> String {
    if let Some(t) = super::guards::session_csrf(req) {
        return t.to_string();
    }
    req.local_cache(|| Slot(OnceLock::new()))
        .0
        .get_or_init(|| match req.cookies().get_private(CSRF_COOKIE) {
            Some(c) => c.value().to_string(),
            None => {
                let token = fresh_token();
                let secure = req
                    .rocket()
                    .state::<AppConfig>()
                    .is_some_and(AppConfig::cookies_secure);
                let cookie = Cookie::build((CSRF_COOKIE, token.clone()))
                    .http_only(true)
                    .same_site(SameSite::Lax)
                    .path("/")
                    .secure(secure)
                    .expires(None::<rocket::time::OffsetDateTime>);
                req.cookies().add_private(cookie);
                token
            }
        })
        .clone()
}

/// Drop the cookie's token so that the next anonymous page binds a fresh
/// one (at sign-in and sign-out, so a token seen before cannot be reused
/// after).
pub fn rotate(cookies: &CookieJar<'_>) {
    cookies.remove_private(Cookie::build(CSRF_COOKIE).path("/"));
}

/// A form that passed the CSRF checks, parsed leniently as `T`.
pub struct CsrfForm<T>(pub T);

#[derive(FromForm)]
struct TokenField {
    csrf_token: Option<String>,
}

fn same_origin(req: &Request<'_>) -> bool {
    if req.headers().get_one("Sec-Fetch-Site") == Some("cross-site") {
        return false;
    }
    let Some(origin) = req.headers().get_one("Origin") else {
        return true;
    };
    let configured = req
        .rocket()
        .state::<AppConfig>()
        .map(|c| c.origin().to_string());
    if configured.as_deref() == Some(origin) {
        return true;
    }
    // The site may also be reached at another name (a LAN address, a
    // health-check name): accept the Host the browser itself addressed.
    match (req.headers().get_one("Host"), origin.split_once("://")) {
        (Some(host), Some((_, origin_host))) => host.eq_ignore_ascii_case(origin_host),
        _ => false,
    }
}

fn fail(req: &Request<'_>, error: AppError) -> (rocket::http::Status, ()) {
    (GuardError::stash(req, error), ())
}

/// True when `sent` is this request's token (compared in constant time).
fn is_expected(req: &Request<'_>, sent: Option<&str>) -> bool {
    match (sent, existing(req)) {
        (Some(s), Some(e)) => !e.is_empty() && bool::from(s.as_bytes().ct_eq(e.as_bytes())),
        _ => false,
    }
}

/// Check a token sent some other way than a urlencoded form (a multipart
/// upload reads its own fields, a script sends `X-CSRF-Token`): same
/// origin, and this request's token (the session's, looked up first if
/// no guard did).
pub async fn check(req: &Request<'_>, sent: Option<&str>) -> Result<(), AppError> {
    super::guards::resolve_for_csrf(req).await?;
    if same_origin(req) && is_expected(req, sent) {
        Ok(())
    } else {
        Err(AppError::Csrf)
    }
}

/// A form with no fields but the CSRF token (sign-out, "end session").
#[derive(Debug, FromForm)]
pub struct NoFields {
    #[field(name = "csrf_token")]
    _token: Option<String>,
}

#[rocket::async_trait]
impl<'r, T> FromData<'r> for CsrfForm<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        if let Err(e) = super::guards::resolve_for_csrf(req).await {
            return data::Outcome::Error(fail(req, e));
        }
        if !same_origin(req) {
            return data::Outcome::Error(fail(req, AppError::Csrf));
        }
        if !req.content_type().is_some_and(|ct| ct.is_form()) {
            return data::Outcome::Error(fail(req, AppError::UnsupportedMediaType));
        }
        let limit = req.limits().get("form").unwrap_or(64.kibibytes());
        let body = match data.open(limit).into_string().await {
            Ok(s) if s.is_complete() => s.into_inner(),
            Ok(_) => return data::Outcome::Error(fail(req, AppError::PayloadTooLarge)),
            Err(_) => {
                return data::Outcome::Error(fail(
                    req,
                    AppError::BadRequest("The form could not be read.".into()),
                ))
            }
        };
        let sent = Form::<TokenField>::parse_encoded(RawStr::new(&body))
            .ok()
            .and_then(|t| t.csrf_token);
        if !is_expected(req, sent.as_deref()) {
            return data::Outcome::Error(fail(req, AppError::Csrf));
        }
        match Form::<T>::parse_encoded(RawStr::new(&body)) {
            Ok(value) => data::Outcome::Success(CsrfForm(value)),
            Err(errors) => {
                log::info!("form rejected: {errors}");
                data::Outcome::Error(fail(
                    req,
                    AppError::BadRequest("The form was incomplete or malformed.".into()),
                ))
            }
        }
    }
}
