//! One notifications system for the whole site (docs/social.md): what a
//! member is told about (follows, favourites, comments, replies,
//! mentions), written by the app that caused it in its own transaction
//! with [`notify`]; grouping of a day's favourites and follows; a read
//! marker per member; preferences per kind. `kind.rs` (the kinds and their
//! sentences), `repo.rs` (SQL), `routes.rs` (the pages and the
//! navigation's unread count), `api.rs` (JSON).
//!
//! Apps call [`notify`] and never know each other: the blog notifies now;
//! tasks and chat can notify the same way (a new [`Kind`]).

mod api;
pub mod kind;
pub mod repo;
pub mod routes;

pub use kind::Kind;
pub use repo::{notify, Notice};

use std::sync::Arc;

use rocket::fairing::AdHoc;
use rocket::Route;

use crate::web::NotificationsBadgeHook;

/// The JSON API routes (the OpenAPI test checks each is documented).
pub fn api_routes() -> Vec<Route> {
    api::routes()
}

/// The notifications pages, API and navigation count, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Notifications", |rocket| async {
        rocket
            .manage(NotificationsBadgeHook(Arc::new(routes::UnreadBadge)))
            .mount("/", routes::routes())
            .mount("/", api_routes())
    })
}
