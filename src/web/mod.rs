//! What every page shares: the layout, CSRF, security headers, client
//! address, rate limits, static files, the home page and the health check.

mod ctx;
pub mod drain;
mod errors;
mod headers;
mod layout;
pub mod markdown;
pub mod member_cache;
pub mod mentions;
pub mod metrics;
mod net;
mod nul;
pub mod paging;
pub mod ratelimit;
pub mod request_id;
pub mod text;
mod write;

pub use ctx::Ctx;
pub use errors::catchers;
pub use layout::{
    layout_for_error, unread_label, Layout, NavBadge, NavBadgeHook, NavBadgeSource, NavUser,
    NotificationsBadgeHook,
};
pub use net::{ClientIp, UserAgent};

use askama::Template;
use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Flash, Redirect, Responder, Response};
use rocket::serde::json::Json;
use rocket::{get, routes, State};
use serde_json::{json, Value};

use crate::db::Db;
use crate::error::AppResult;

/// A value percent-encoded for a URL path segment or query string.
pub fn enc(s: &str) -> String {
    rocket::http::RawStr::new(s).percent_encode().to_string()
}

/// Marks a request as an API request, whose errors are JSON whatever it
/// accepts (set by the API's guards).
struct JsonMarker(std::sync::OnceLock<()>);

/// Answer this request's errors as JSON (see [`wants_json`]).
pub fn mark_json(req: &Request<'_>) {
    let _ = req
        .local_cache(|| JsonMarker(std::sync::OnceLock::new()))
        .0
        .set(());
}

/// True when the client asked for JSON (by `Accept` or by sending JSON), or
/// an API route took the request.
pub fn wants_json(req: &Request<'_>) -> bool {
    if req.content_type().is_some_and(|ct| ct.is_json()) {
        return true;
    }
    if req
        .local_cache(|| JsonMarker(std::sync::OnceLock::new()))
        .0
        .get()
        .is_some()
    {
        return true;
    }
    req.accept()
        .is_some_and(|a| a.preferred().media_type().is_json())
}

/// What an HTML handler answers: a rendered page or a redirect.
pub enum Reply {
    Page(Status, String),
    Redirect(Redirect),
    Flash(Flash<Redirect>),
}

impl Reply {
    /// Render `page` with 200 OK.
    pub fn page<T: Template>(page: &T) -> AppResult<Reply> {
        Ok(Reply::Page(Status::Ok, page.render()?))
    }
    /// Render `page` with another status (a form with errors: 422).
    pub fn page_with<T: Template>(status: Status, page: &T) -> AppResult<Reply> {
        Ok(Reply::Page(status, page.render()?))
    }
    /// See Other to `uri` (Post/Redirect/Get).
    pub fn to(uri: impl Into<String>) -> Reply {
        Reply::Redirect(Redirect::to(uri.into()))
    }
    /// Redirect with a success message shown on the next page.
    pub fn success(uri: impl Into<String>, message: impl Into<String>) -> Reply {
        Reply::Flash(Flash::success(Redirect::to(uri.into()), message.into()))
    }
    /// Redirect with an error message shown on the next page.
    pub fn failure(uri: impl Into<String>, message: impl Into<String>) -> Reply {
        Reply::Flash(Flash::error(Redirect::to(uri.into()), message.into()))
    }
}

impl<'r> Responder<'r, 'static> for Reply {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Reply::Page(status, html) => Response::build()
                .status(status)
                .header(ContentType::HTML)
                .sized_body(html.len(), std::io::Cursor::new(html))
                .ok(),
            Reply::Redirect(r) => r.respond_to(req),
            Reply::Flash(f) => f.respond_to(req),
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
}

#[get("/")]
fn home(layout: layout::PlainLayout) -> AppResult<Reply> {
    Reply::page(&HomePage { layout: layout.0 })
}

/// Liveness and database reachability, for load balancers; 503 while the
/// process drains before it stops (see [`drain`]).
#[get("/healthz")]
async fn healthz(db: &Db, draining: &State<drain::Draining>) -> (Status, Json<Value>) {
    if draining.is_draining() {
        return (
            Status::ServiceUnavailable,
            Json(json!({"status": "draining"})),
        );
    }
    match sqlx::query("SELECT 1").execute(&db.pool).await {
        Ok(_) => (Status::Ok, Json(json!({"status": "ok", "database": "ok"}))),
        Err(e) => {
            log::warn!("health check: database unreachable: {e}");
            (
                Status::ServiceUnavailable,
                Json(json!({"status": "unavailable", "database": "unreachable"})),
            )
        }
    }
}

/// The cheapest route there is: the yardstick the benchmarks compare with.
#[get("/ping")]
fn ping() -> &'static str {
    "pong"
}

/// A live event stream's response, with the headers every stream needs:
/// nginx must not buffer it (`X-Accel-Buffering: no`) and nothing may
/// store it. Chat's and the notifications' streams both answer with it.
pub struct Unbuffered<R>(pub R);

impl<'r, 'o: 'r, R: Responder<'r, 'o>> Responder<'r, 'o> for Unbuffered<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'o> {
        let mut res = self.0.respond_to(req)?;
        res.set_header(Header::new("X-Accel-Buffering", "no"));
        res.set_header(Header::new("Cache-Control", "no-store"));
        Ok(res)
    }
}

/// A file compiled into the binary, so a deployment is one file.
pub struct Asset(pub ContentType, pub &'static str);

impl<'r> Responder<'r, 'static> for Asset {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .header(self.0)
            .header(Header::new("Cache-Control", "public, max-age=3600"))
            .sized_body(self.1.len(), std::io::Cursor::new(self.1))
            .ok()
    }
}

#[get("/static/css/site.css")]
fn stylesheet() -> Asset {
    Asset(ContentType::CSS, include_str!("../../static/css/site.css"))
}

#[get("/favicon.svg")]
fn favicon() -> Asset {
    Asset(ContentType::SVG, include_str!("../../static/favicon.svg"))
}

/// The shared web layer, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Web", |rocket| async {
        rocket
            .manage(drain::Draining::default())
            .manage(crate::metrics::Metrics::new())
            .attach(request_id::RequestIds)
            .attach(metrics::RequestTimer)
            .attach(AdHoc::try_on_ignite("Metrics settings", |rocket| async {
                match metrics::config(rocket.figment()) {
                    Ok(cfg) => Ok(rocket.manage(cfg)),
                    Err(e) => {
                        log::error!("{e}");
                        Err(rocket)
                    }
                }
            }))
            .attach(headers::SecurityHeaders)
            .attach(nul::RefuseNul)
            .attach(write::OneWrite)
            .mount(
                "/",
                routes![home, healthz, ping, stylesheet, favicon, metrics::metrics],
            )
            .mount("/", nul::routes())
            .mount("/api", nul::routes())
    })
}

/// `next` as a redirect target on this site, or `None` when it is not a
/// plain local path: a scheme, a `//host`, a backslash (browsers read it as
/// a slash) or a control character refuse it. What is kept is always a
/// valid URI reference, so a redirect to it can never fail: non-ASCII and
/// unsafe bytes (spaces, quotes, `<`, a stray `%`...) are percent-encoded,
/// and existing `%XX` escapes are kept, so the result maps to itself.
pub fn local_path(next: &str) -> Option<String> {
    let plain = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if !plain {
        return None;
    }
    let bytes = next.as_bytes();
    let mut out = String::with_capacity(next.len());
    let mut in_fragment = false;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        let keep = b.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=:@/?".contains(&b)
            || escape
            || (b == b'#' && !in_fragment);
        in_fragment |= b == b'#';
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    // The parser has the last word: only what it reads as a path (no
    // scheme, no host) is handed to `Redirect`.
    let parsed = rocket::http::uri::Reference::parse(&out).ok()?;
    let local = parsed.scheme().is_none() && parsed.authority().is_none();
    (local && out.len() <= 2000).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(local_path("/profile?tab=1"), Some("/profile?tab=1".into()));
        for bad in [
            "",
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/a\nb",
            "/a\u{7f}b",
            " /x",
            "x/y",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn kept_paths_are_valid_uri_references_and_map_to_themselves() {
        let cases = [
            ("/é", "/%C3%A9"),
            ("/%C3%A9", "/%C3%A9"),
            ("/a b", "/a%20b"),
            ("/\"<script>", "/%22%3Cscript%3E"),
            ("/100%", "/100%25"),
            ("/%zz", "/%25zz"),
            ("/a#b#c", "/a#b%23c"),
            ("/{x}|^`[y]", "/%7Bx%7D%7C%5E%60%5By%5D"),
            ("/notes?q=a&tag=b", "/notes?q=a&tag=b"),
        ];
        for (given, want) in cases {
            let got = local_path(given);
            assert_eq!(got.as_deref(), Some(want), "{given:?}");
            assert_eq!(local_path(want).as_deref(), Some(want), "{want:?}");
            assert!(rocket::http::uri::Reference::parse(want).is_ok());
        }
    }
}
