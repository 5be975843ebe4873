//! The member's own profile page: what others see of them, their password,
//! where they are signed in, linked sign-in providers, and deleting the
//! account. It sits above accounts and sign-in, whose pieces it shows.

mod repo;
mod routes;
pub mod views;

use rocket::fairing::AdHoc;

/// The profile page, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Profile", |rocket| async {
        rocket.mount("/", routes::routes())
    })
}
