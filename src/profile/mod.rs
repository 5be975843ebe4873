//! The member's own profile page: what others see of them, their password,
//! where they are signed in, linked sign-in providers, and deleting the
//! account. It sits above accounts and sign-in, whose pieces it shows.

pub mod cache;
pub mod repo;
mod routes;
pub mod views;

use rocket::fairing::AdHoc;

use crate::web::member_cache::keep;

/// The profile page, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Profile", |rocket| async {
        let rocket = keep(rocket, "Profile cache", cache::ProfileCache::new, |c| &c.0)?;
        Ok(rocket.mount("/", routes::routes()))
    })
}
