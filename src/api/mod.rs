//! The JSON API: the seed's endpoints (`POST /login`, `GET /users`,
//! `PUT /update-profile`, `DELETE /user/<id>`) plus `GET /me`,
//! `POST /logout` and `POST /signup`, on the same paths as the HTML pages.
//!
//! A request is an API request when it sends JSON, asks for JSON, or carries
//! a bearer token without asking for HTML (see [`guards::is_api_request`]).
//! API routes rank 1 and the HTML routes on the same paths rank 2, so an API
//! request is tried here first and anything else falls through to the page.
//! Routes that take a body are not limited with `format = "json"`: a
//! bearer-carrying request with the wrong content type must reach the JSON
//! body guard and get a JSON 415, not fall through to a form handler.
//! API clients authenticate with a short-lived JWT bound to a server-side
//! session row (`sessions.kind = 'api'`); cookies never count here.

mod challenge;
mod cors;
pub mod guards;
pub mod json;
pub mod model;
mod openapi;
mod routes;
pub mod token;
mod twostep;

pub use guards::{ApiAdmin, ApiRequest, ApiUser};
pub use token::TokenKeys;

use rocket::fairing::AdHoc;
use rocket::Route;

use crate::config::AppConfig;

/// Every route of the JSON API (the OpenAPI test checks each is documented).
pub fn routes() -> Vec<Route> {
    let mut all = routes::routes();
    all.extend(openapi::routes());
    all
}

/// The JSON API, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("JSON API", |rocket| async {
        let cfg = rocket.state::<AppConfig>().cloned().unwrap_or_default();
        let keys = TokenKeys::from_figment(rocket.figment(), &cfg.base_url);
        let rocket = rocket
            .manage(keys)
            .mount("/", routes())
            .attach(challenge::BearerChallenge);
        if cfg.cors_allowed_origins.is_empty() {
            rocket
        } else {
            cors::attach(rocket, &cfg.cors_allowed_origins)
        }
    })
}
