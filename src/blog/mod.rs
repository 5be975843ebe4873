//! The blog and its social side: public articles in Markdown with tags,
//! comments, favourites and follows, as server-rendered pages and as the
//! RealWorld ("Conduit") JSON API under `/api`. `model.rs` (input,
//! validation, slugs), `repo.rs` (articles), `social.rs` (profiles and
//! follows), `comments.rs`, `actions.rs` (who may change what); the pages
//! are `pages.rs` (reading), `editor.rs` (members' actions) and `views.rs`
//! (templates).

pub mod actions;
pub mod comments;
mod editor;
pub mod model;
mod pages;
pub mod repo;
pub mod social;
mod views;

use rocket::fairing::AdHoc;

/// The blog, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Blog", |rocket| async {
        rocket
            .mount("/", pages::routes())
            .mount("/", editor::routes())
    })
}
