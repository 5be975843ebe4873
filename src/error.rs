//! The one error type. What a person sees of it (an HTML page in the site
//! layout, or `{"error", "message"}` for JSON clients) is the web layer's
//! business: see `web::errors`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rocket::http::Status;
use rocket::request::Request;
use serde::Serialize;

/// Messages for individual form fields, keyed by field name.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FieldErrors(pub BTreeMap<&'static str, String>);

impl FieldErrors {
    /// Record a message for `field` (the first one wins).
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }
    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
    /// True when no field has a message.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when empty, otherwise a validation error.
    pub fn into_result(self) -> AppResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self))
        }
    }
}

/// Everything that can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("sign-in required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("CSRF check failed")]
    Csrf,
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error("too many requests")]
    TooManyRequests { retry_after: i64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A service we depend on (a sign-in provider) failed or answered
    /// nonsense. The first field is shown to the person; the second, the
    /// cause, is only logged.
    #[error("bad gateway: {0}: {1}")]
    BadGateway(String, String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The result of anything a handler calls.
pub type AppResult<T> = Result<T, AppError>;

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => AppError::Unavailable(e.to_string()),
            ref busy if crate::db::is_busy(busy) => AppError::Unavailable(e.to_string()),
            ref away if crate::db::is_unreachable(away) => AppError::Unavailable(e.to_string()),
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

impl AppError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> Status {
        match self {
            AppError::BadRequest(_) => Status::BadRequest,
            AppError::Unauthorized => Status::Unauthorized,
            AppError::Forbidden | AppError::Csrf => Status::Forbidden,
            AppError::NotFound => Status::NotFound,
            AppError::Conflict(_) => Status::Conflict,
            AppError::PayloadTooLarge => Status::PayloadTooLarge,
            AppError::UnsupportedMediaType => Status::UnsupportedMediaType,
            AppError::Validation(_) => Status::UnprocessableEntity,
            AppError::TooManyRequests { .. } => Status::TooManyRequests,
            AppError::Unavailable(_) => Status::ServiceUnavailable,
            AppError::BadGateway(..) => Status::BadGateway,
            AppError::Internal(_) => Status::InternalServerError,
        }
    }

    /// A short machine-readable code for JSON clients.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf_failed",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::Validation(_) => "validation_failed",
            AppError::TooManyRequests { .. } => "rate_limited",
            AppError::Unavailable(_) => "unavailable",
            AppError::BadGateway(..) => "bad_gateway",
            AppError::Internal(_) => "internal_error",
        }
    }

    /// A heading for the error page.
    pub fn title(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "Bad request",
            AppError::Unauthorized => "Please sign in",
            AppError::Forbidden => "Not allowed",
            AppError::Csrf => "This form has expired",
            AppError::NotFound => "Page not found",
            AppError::Conflict(_) => "Conflict",
            AppError::PayloadTooLarge => "Too much data",
            AppError::UnsupportedMediaType => "Unsupported format",
            AppError::Validation(_) => "Please check your input",
            AppError::TooManyRequests { .. } => "Too many attempts",
            AppError::Unavailable(_) => "Temporarily unavailable",
            AppError::BadGateway(..) => "Sign-in service problem",
            AppError::Internal(_) => "Something went wrong",
        }
    }

    /// What the person is told. Never includes internal causes.
    pub fn public_message(&self) -> String {
        match self {
            AppError::BadRequest(m) | AppError::Conflict(m) | AppError::BadGateway(m, _) => {
                m.clone()
            }
            AppError::Unauthorized => "You need to sign in to see this page.".into(),
            AppError::Forbidden => "You do not have permission to do that.".into(),
            AppError::Csrf => {
                "The form was sent without a valid security token, or from another site. \
                 Go back, reload the page and try again."
                    .into()
            }
            AppError::NotFound => "There is nothing at this address.".into(),
            AppError::PayloadTooLarge => "What you sent is larger than this site accepts.".into(),
            AppError::UnsupportedMediaType => {
                "This address does not accept that content type.".into()
            }
            AppError::Validation(_) => "Some fields are missing or invalid.".into(),
            AppError::TooManyRequests { retry_after } => {
                format!(
                    "Too many attempts. Please wait {} and try again.",
                    human_wait(*retry_after)
                )
            }
            AppError::Unavailable(_) => "The site is busy or cannot reach its database right now. \
                 Please try again in a moment."
                .into(),
            AppError::Internal(_) => "An unexpected error occurred. It has been logged.".into(),
        }
    }

    /// Seconds to send in `Retry-After`, for the errors worth retrying: a
    /// rate limit, and a database that is busy or briefly unreachable.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            AppError::TooManyRequests { retry_after } => Some((*retry_after).max(1)),
            AppError::Unavailable(_) => Some(5),
            _ => None,
        }
    }

    /// The error a bare status stands for (used by catchers).
    pub fn from_status(status: Status) -> AppError {
        match status.code {
            400 => AppError::BadRequest("The request could not be understood.".into()),
            401 => AppError::Unauthorized,
            403 => AppError::Forbidden,
            404 => AppError::NotFound,
            409 => AppError::Conflict("That conflicts with existing data.".into()),
            413 => AppError::PayloadTooLarge,
            415 => AppError::UnsupportedMediaType,
            422 => AppError::Validation(FieldErrors::default()),
            429 => AppError::TooManyRequests { retry_after: 60 },
            503 => AppError::Unavailable(String::new()),
            _ if status.code < 500 => {
                AppError::BadRequest("The request could not be handled.".into())
            }
            _ => AppError::Internal(format!("status {status}")),
        }
    }
}

fn human_wait(secs: i64) -> String {
    match secs {
        s if s <= 60 => "a minute".into(),
        s => format!("{} minutes", (s + 59) / 60),
    }
}

/// Lets a guard that fails hand its exact error to the catcher.
pub struct GuardError(OnceLock<AppError>);

impl GuardError {
    /// Remember `error` for this request's catcher, and return its status.
    pub fn stash(req: &Request<'_>, error: AppError) -> Status {
        let status = error.status();
        let _ = req.local_cache(|| GuardError(OnceLock::new())).0.set(error);
        status
    }

    /// The error a failed guard stashed for `status`, or the generic one.
    pub fn take(req: &Request<'_>, status: Status) -> AppError {
        let cached = req.local_cache(|| GuardError(OnceLock::new()));
        match cached.0.get() {
            Some(e) if e.status() == status => clone_error(e),
            _ => AppError::from_status(status),
        }
    }
}

fn clone_error(e: &AppError) -> AppError {
    match e {
        AppError::TooManyRequests { retry_after } => AppError::TooManyRequests {
            retry_after: *retry_after,
        },
        AppError::Csrf => AppError::Csrf,
        AppError::BadRequest(m) => AppError::BadRequest(m.clone()),
        AppError::Validation(f) => AppError::Validation(f.clone()),
        AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
        AppError::BadGateway(m, c) => AppError::BadGateway(m.clone(), c.clone()),
        other => AppError::from_status(other.status()),
    }
}
