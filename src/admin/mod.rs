//! The admin area: dashboard, users, roles, background jobs, audit log.
//! Every route takes an `AdminUser`, so anonymous visitors are sent to sign
//! in and other users get 403.

pub mod actions;
mod jobs;
pub mod repo;
mod routes;
mod views;

use rocket::fairing::AdHoc;

/// The admin area, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Admin", |rocket| async {
        rocket
            .mount("/", routes::routes())
            .mount("/", jobs::routes())
    })
}
