//! The blog and its social side: public articles in Markdown with tags,
//! comments, favourites and follows, as server-rendered pages and as the
//! RealWorld ("Conduit") JSON API under `/api`. `model.rs` (input,
//! validation, slugs), `repo.rs` (articles), `social.rs` (profiles and
//! follows), `comments.rs` (with replies), `actions.rs` (who may change what),
//! `notices.rs` (what it tells members through `src/notifications`); the pages
//! are `pages.rs` (reading), `editor.rs` (members' actions) and `views.rs`
//! (templates); the API is `conduit.rs` (errors and JSON shapes),
//! `api_users.rs` and `api.rs`.

pub mod actions;
mod api;
mod api_users;
pub mod cache;
pub mod comments;
pub mod conduit;
mod editor;
pub mod model;
mod notices;
mod pages;
pub mod repo;
mod reporting;
pub mod social;
mod views;

use rocket::fairing::AdHoc;
use rocket::Route;

use crate::web::member_cache::keep;

/// Where the RealWorld API lives.
pub const API_BASE: &str = "/api";

/// The RealWorld API's routes (mounted at [`API_BASE`]).
pub fn api_routes() -> Vec<Route> {
    let mut all = api_users::routes();
    all.extend(api::routes());
    all
}

/// The blog, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Blog", |rocket| async {
        if let Some(targets) = rocket.state::<crate::moderation::reports::ReportTargets>() {
            reporting::register(targets);
        }
        let rocket = keep(rocket, "Blog cache", cache::BlogCache::new, |c| &c.0)?;
        Ok(rocket
            .mount("/", pages::routes())
            .mount("/", editor::routes())
            .mount(API_BASE, api_routes())
            .register(API_BASE, conduit::api_catchers()))
    })
}
