//! The JSON body guard. Rocket's own `Json<T>` answers most failures with
//! the same status; API clients need to tell them apart: 415 for another
//! content type, 413 over the `json` limit, 400 for malformed JSON and 422
//! (with a message per field) for JSON of the wrong shape.

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::request::Request;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::{AppError, FieldErrors, GuardError};
use crate::web::mark_json;

/// A request body type, with the names of its fields (to put a type error
/// beside the field it concerns).
pub trait Fields: DeserializeOwned {
    /// The JSON field names.
    const FIELDS: &'static [&'static str];
}

/// A JSON body parsed as `T`.
pub struct JsonBody<T>(pub T);

/// serde's message without the " at line 1 column 9" position.
fn without_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// The error for JSON that parsed but does not fit `T`.
fn shape_error<T: Fields>(path: &str, message: &str) -> AppError {
    let message = without_position(message);
    let mut fields = FieldErrors::default();
    // A missing field is named in the message; a wrong type is at the end
    // of the path (`user.email`, `article.tagList[0]`).
    let named = || {
        T::FIELDS
            .iter()
            .find(|f| message.contains(&format!("`{f}`")))
    };
    let last = path.rsplit('.').next().unwrap_or("");
    let last = last.split('[').next().unwrap_or("");
    let at_path = || {
        T::FIELDS.iter().find(|f| **f == last).or_else(|| {
            T::FIELDS
                .iter()
                .find(|f| path == **f || path.starts_with(&format!("{f}.")))
        })
    };
    let field = if message.starts_with("missing field") {
        named().or_else(at_path)
    } else {
        at_path().or_else(named)
    };
    match field {
        Some(f) if message.starts_with("missing field") => fields.add(f, "This field is required."),
        Some(f) => fields.add(f, format!("Wrong type: {message}.")),
        None => fields.add(
            "body",
            format!(
                "Send a JSON object with the fields {}.",
                T::FIELDS.join(", ")
            ),
        ),
    }
    AppError::Validation(fields)
}

fn syntax_error(e: &serde_json::Error) -> AppError {
    AppError::BadRequest(format!("The body is not valid JSON: {e}."))
}

/// Parse `body` as `T`, classifying what went wrong.
pub fn parse<T: Fields>(body: &str) -> Result<T, AppError> {
    // Syntax first: `{} {}` is malformed, however its first value fits.
    serde_json::from_str::<serde::de::IgnoredAny>(body).map_err(|e| syntax_error(&e))?;
    let mut de = serde_json::Deserializer::from_str(body);
    let value = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => v,
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            return Err(match inner.classify() {
                Category::Data => shape_error::<T>(&path, &inner.to_string()),
                Category::Syntax | Category::Eof | Category::Io => syntax_error(&inner),
            });
        }
    };
    // Trailing characters after the value make the whole body malformed.
    de.end().map_err(|e| syntax_error(&e))?;
    // Postgres cannot store NUL in text, and no field has a use for it.
    if body.to_ascii_lowercase().contains("\\u0000") {
        let mut fields = FieldErrors::default();
        fields.add("body", "Text may not contain NUL characters.");
        return Err(AppError::Validation(fields));
    }
    Ok(value)
}

#[rocket::async_trait]
impl<'r, T: Fields + Send + 'static> FromData<'r> for JsonBody<T> {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        mark_json(req);
        let fail = |e: AppError| data::Outcome::Error((GuardError::stash(req, e), ()));
        if !req.content_type().is_some_and(|ct| ct.is_json()) {
            return fail(AppError::UnsupportedMediaType);
        }
        match read(req, data).await.and_then(|body| parse::<T>(&body)) {
            Ok(v) => data::Outcome::Success(JsonBody(v)),
            Err(e) => fail(e),
        }
    }
}

/// A JSON body that may be left out: an empty body is `None`; anything
/// else must be JSON of `T`, refused as [`JsonBody`] refuses it.
pub struct OptionalJsonBody<T>(pub Option<T>);

#[rocket::async_trait]
impl<'r, T: Fields + Send + 'static> FromData<'r> for OptionalJsonBody<T> {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        mark_json(req);
        let fail = |e: AppError| data::Outcome::Error((GuardError::stash(req, e), ()));
        let body = match read(req, data).await {
            Ok(body) if body.trim().is_empty() => {
                return data::Outcome::Success(OptionalJsonBody(None))
            }
            Ok(body) => body,
            Err(e) => return fail(e),
        };
        if !req.content_type().is_some_and(|ct| ct.is_json()) {
            return fail(AppError::UnsupportedMediaType);
        }
        match parse::<T>(&body) {
            Ok(v) => data::Outcome::Success(OptionalJsonBody(Some(v))),
            Err(e) => fail(e),
        }
    }
}

/// The whole body as text, within the `json` limit.
async fn read(req: &Request<'_>, data: Data<'_>) -> Result<String, AppError> {
    let limit = req.limits().get("json").unwrap_or(1.mebibytes());
    match data.open(limit).into_string().await {
        Ok(s) if s.is_complete() => Ok(s.into_inner()),
        Ok(_) => Err(AppError::PayloadTooLarge),
        Err(_) => Err(AppError::BadRequest(
            "The body could not be read as UTF-8 text.".into(),
        )),
    }
}
