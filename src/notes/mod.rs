//! Notes: members' private Markdown notes with tags, pinned and archived
//! flags, full-text search, safe concurrent edits, zip export/import and a
//! JSON API. The first member app, and the shape later ones copy:
//! `routes.rs` (pages), `api.rs` (JSON), `model.rs` (input and
//! validation), `repo.rs` (SQL), `search.rs` (the list query, the one
//! place that differs by backend), `views.rs` (templates), `export.rs`.

mod api;
pub mod export;
pub mod model;
pub mod repo;
mod routes;
pub mod search;
mod views;

use rocket::fairing::AdHoc;
use rocket::Route;

/// The JSON API routes of notes (the OpenAPI test checks each is documented).
pub fn api_routes() -> Vec<Route> {
    api::routes()
}

/// The notes feature, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Notes", |rocket| async {
        rocket
            .mount("/", routes::routes())
            .mount("/", export::routes())
            .mount("/", api_routes())
    })
}
