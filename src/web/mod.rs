//! What every page shares: the layout, CSRF, security headers, client
//! address, rate limits, static files, the home page and the health check.

mod ctx;
mod errors;
mod headers;
mod layout;
pub mod markdown;
mod net;
mod nul;
pub mod paging;
pub mod ratelimit;
pub mod text;

pub use ctx::Ctx;
pub use errors::catchers;
pub use layout::{layout_for_error, Layout, NavUser};
pub use net::{ClientIp, UserAgent};

use askama::Template;
use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Flash, Redirect, Responder, Response};
use rocket::serde::json::Json;
use rocket::{get, routes};
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
fn home(layout: Layout) -> AppResult<Reply> {
    Reply::page(&HomePage { layout })
}

/// Liveness and database reachability, for load balancers.
#[get("/healthz")]
async fn healthz(db: &Db) -> (Status, Json<Value>) {
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

/// A file compiled into the binary, so a deployment is one file.
pub struct Asset(ContentType, &'static str);

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
            .attach(headers::SecurityHeaders)
            .attach(nul::RefuseNul)
            .mount("/", routes![home, healthz, ping, stylesheet, favicon])
            .mount("/", nul::routes())
            .mount("/api", nul::routes())
    })
}

/// `next` if it is a path on this site, never another host: no scheme, no
/// `//host`, no backslashes browsers would read as slashes.
pub fn local_path(next: &str) -> Option<String> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && next.len() <= 2000;
    ok.then(|| next.to_string())
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
            " /x",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }
}
