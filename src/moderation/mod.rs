//! Moderation between members (docs/social.md): blocks and mutes
//! (`relations.rs`, the rules other features ask) and their buttons and
//! JSON API (`routes.rs`). Apps ask [`relations`] and never each other.

pub mod relations;
mod routes;

use rocket::fairing::AdHoc;
use rocket::Route;

/// The JSON API routes (the OpenAPI test checks each is documented).
pub fn api_routes() -> Vec<Route> {
    routes::api_routes()
}

/// Blocks and mutes, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Moderation", |rocket| async {
        rocket
            .mount("/", routes::routes())
            .mount("/", routes::api_routes())
    })
}
