//! How an [`AppError`] reaches a person: a page in the site layout, or
//! `{"error", "message", "fields"}` for JSON clients; and the catchers that
//! answer every bare status the same way.

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Flash, Redirect, Responder, Response};
use rocket::serde::json::Json;
use rocket::{catch, catchers, Catcher};
use serde::Serialize;

use super::{layout_for_error, wants_json};
use crate::error::{AppError, FieldErrors, GuardError};

#[derive(Serialize)]
struct JsonError<'a> {
    error: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a FieldErrors>,
}

#[derive(askama::Template)]
#[template(path = "errors/error.html")]
struct ErrorPage {
    layout: super::Layout,
    status: u16,
    title: &'static str,
    message: String,
    request_id: String,
}

impl<'r> Responder<'r, 'static> for AppError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        let request_id = super::request_id::of(req);
        if status.code >= 500 {
            log::error!(
                "request {request_id}: {} {} failed: {self}",
                req.method(),
                req.uri().path()
            );
        }
        let mut res = if wants_json(req) {
            let fields = match &self {
                AppError::Validation(f) if !f.is_empty() => Some(f),
                _ => None,
            };
            let body = JsonError {
                error: self.code(),
                message: self.public_message(),
                fields,
            };
            Json(body).respond_to(req)?
        } else {
            let page = ErrorPage {
                layout: layout_for_error(req),
                status: status.code,
                title: self.title(),
                message: self.public_message(),
                request_id: request_id.to_string(),
            };
            let html = askama::Template::render(&page).unwrap_or_else(|_| self.public_message());
            Response::build()
                .header(ContentType::HTML)
                .sized_body(html.len(), std::io::Cursor::new(html))
                .finalize()
        };
        res.set_status(status);
        if let Some(secs) = self.retry_after() {
            res.set_header(Header::new("Retry-After", secs.to_string()));
        }
        Ok(res)
    }
}

/// Either an error page, or (for a page that needs sign-in) a redirect,
/// or (for an admin page the admin gate refused) a redirect with a message.
pub enum Caught {
    Error(AppError),
    SignIn(Box<Redirect>),
    Gate(Box<Flash<Redirect>>),
}

impl<'r> Responder<'r, 'static> for Caught {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Caught::Error(e) => e.respond_to(req),
            Caught::SignIn(r) => r.respond_to(req),
            Caught::Gate(f) => f.respond_to(req),
        }
    }
}

#[catch(default)]
fn default_catcher(status: Status, req: &Request<'_>) -> Caught {
    // A page that needs a signed-in user sends browsers to sign in; after
    // that a GET comes back to where it was (a form post cannot be replayed).
    if status == Status::Unauthorized && !wants_json(req) {
        let target = if req.method() == rocket::http::Method::Get {
            let next = req.uri().to_string();
            format!(
                "/login?next={}",
                rocket::http::RawStr::new(&next).percent_encode()
            )
        } else {
            "/login".to_string()
        };
        return Caught::SignIn(Box::new(Redirect::to(target)));
    }
    // An admin page the admin gate refused (session::gate): sent where
    // the condition can be met, told why.
    if status == Status::Forbidden && !wants_json(req) {
        if let Some((to, message)) = crate::session::gate::refused(req) {
            return Caught::Gate(Box::new(Flash::error(Redirect::to(to), message)));
        }
    }
    Caught::Error(GuardError::take(req, status))
}

/// Catchers for every status: they all answer through `AppError`.
pub fn catchers() -> Vec<Catcher> {
    catchers![default_catcher]
}
