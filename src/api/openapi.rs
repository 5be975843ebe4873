//! `GET /openapi.json`: the OpenAPI 3.1 description of the JSON API. The
//! document is written by hand next to this file; `tests/openapi.rs` checks
//! it against the mounted routes, and CI runs schemathesis against it.

use rocket::serde::json::Json;
use rocket::{get, routes, Route, State};
use serde_json::{json, Value};

use crate::config::AppConfig;
use crate::error::{AppError, AppResult};

/// The document as written (without `servers`).
pub const DOCUMENT: &str = include_str!("openapi.json");

#[get("/openapi.json")]
fn document(cfg: &State<AppConfig>) -> AppResult<Json<Value>> {
    let mut doc: Value = serde_json::from_str(DOCUMENT)
        .map_err(|e| AppError::Internal(format!("openapi.json: {e}")))?;
    doc["servers"] = json!([{ "url": cfg.base_url.trim_end_matches('/') }]);
    Ok(Json(doc))
}

/// The route serving the document.
pub fn routes() -> Vec<Route> {
    routes![document]
}
