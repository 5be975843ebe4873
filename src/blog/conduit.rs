//! What the RealWorld ("Conduit") API under `/api` shares: its error
//! format, its catcher, the optional-sign-in guard, and the JSON shapes of
//! users, profiles, articles and comments.
//!
//! Errors are `{"errors": {"<field>": ["message"], "body": [every message]}}`
//! with the status of the underlying [`AppError`] (422 for invalid input,
//! 401, 403, 404, 429...). `errors.body` is always present, as the spec's
//! `GenericErrorModel` requires; for invalid input each field also gets its
//! own key, as RealWorld clients expect.

use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{catch, catchers, Catcher};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::comments::Comment;
use super::model::iso_time;
use super::repo::{Article, Author};
use crate::api::ApiUser;
use crate::error::{AppError, GuardError};
use crate::session::CurrentUser;

/// An error in the Conduit format.
#[derive(Debug)]
pub struct Conduit(pub AppError);

impl From<AppError> for Conduit {
    fn from(e: AppError) -> Self {
        Conduit(e)
    }
}

impl From<sqlx::Error> for Conduit {
    fn from(e: sqlx::Error) -> Self {
        Conduit(e.into())
    }
}

/// What a Conduit handler returns.
pub type ConduitResult<T> = Result<T, Conduit>;

/// The `errors` object for `e`.
pub fn errors_of(e: &AppError) -> Value {
    let mut errors = Map::new();
    let mut all = Vec::new();
    match e {
        AppError::Validation(fields) if !fields.is_empty() => {
            for (field, message) in &fields.0 {
                errors.insert((*field).to_string(), json!([message]));
                all.push(message.clone());
            }
        }
        other => all.push(other.public_message()),
    }
    errors.insert("body".into(), json!(all));
    json!({ "errors": errors })
}

impl<'r> Responder<'r, 'static> for Conduit {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.0.status();
        if status.code >= 500 {
            log::error!("{} {} failed: {}", req.method(), req.uri().path(), self.0);
        }
        let mut res = Json(errors_of(&self.0)).respond_to(req)?;
        res.set_status(status);
        if let Some(secs) = self.0.retry_after() {
            res.set_header(Header::new("Retry-After", secs.to_string()));
        }
        if status == Status::Unauthorized {
            res.set_header(Header::new("WWW-Authenticate", "Token"));
        }
        Ok(res)
    }
}

#[catch(default)]
fn catcher(status: Status, req: &Request<'_>) -> Conduit {
    Conduit(GuardError::take(req, status))
}

/// Catchers for `/api`: every failure there answers in the Conduit format.
pub fn api_catchers() -> Vec<Catcher> {
    catchers![catcher]
}

/// The caller of an endpoint where signing in is optional: `None` without
/// an `Authorization` header; a header with a bad or revoked token is 401,
/// not a silent downgrade to anonymous.
pub struct Viewer(pub Option<CurrentUser>);

impl Viewer {
    /// The viewer's id, or 0 (no account) for a visitor.
    pub fn id(&self) -> i64 {
        self.0.as_ref().map_or(0, |u| u.id)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Viewer {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        if req.headers().get_one("Authorization").is_none() {
            return Outcome::Success(Viewer(None));
        }
        req.guard::<ApiUser>()
            .await
            .map(|ApiUser(user)| Viewer(Some(user)))
    }
}

/// The token the request was made with (returned in `user` replies, as the
/// spec's `User` carries one).
pub struct PresentedToken(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PresentedToken {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let token = req
            .headers()
            .get_one("Authorization")
            .and_then(|v| v.trim().split_once(' '))
            .map(|(_, t)| t.trim().to_string())
            .unwrap_or_default();
        Outcome::Success(PresentedToken(token))
    }
}

/// `{"user": ...}`: the caller's own account.
#[derive(Debug, Serialize)]
pub struct UserJson {
    pub email: String,
    pub token: String,
    pub username: String,
    pub bio: String,
    pub image: String,
}

/// A profile as `Profile`.
pub fn profile_json(a: &Author) -> Value {
    json!({
        "username": a.username,
        "bio": a.bio,
        "image": a.image,
        "following": a.following,
    })
}

/// An article as `Article`; lists leave the body out (`with_body` false).
pub fn article_json(a: &Article, with_body: bool) -> Value {
    let mut v = json!({
        "slug": a.slug,
        "title": a.title,
        "description": a.description,
        "tagList": a.tags,
        "createdAt": iso_time(a.created_at),
        "updatedAt": iso_time(a.updated_at),
        "favorited": a.favorited,
        "favoritesCount": a.favorites_count,
        "author": profile_json(&a.author),
    });
    if with_body {
        v["body"] = json!(a.body);
    }
    v
}

/// A comment as `Comment`.
pub fn comment_json(c: &Comment) -> Value {
    json!({
        "id": c.id,
        "createdAt": iso_time(c.created_at),
        "updatedAt": iso_time(c.updated_at),
        "body": c.body,
        "author": profile_json(&c.author),
    })
}
