//! The member's own profile page: what others see of them, their password,
//! where they are signed in, linked sign-in providers, and deleting the
//! account. It sits above accounts and sign-in, whose pieces it shows.

pub mod cache;
mod repo;
mod routes;
pub mod views;

use rocket::fairing::AdHoc;

use crate::web::member_cache::listen_at_liftoff;

/// The profile page, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Profile", |rocket| async {
        let Some(cfg) = rocket.state::<crate::config::AppConfig>() else {
            return Err(rocket);
        };
        let cache = cache::ProfileCache::new(cfg);
        Ok(rocket
            .manage(cache)
            .attach(listen_at_liftoff(
                "Profile cache",
                |c: &cache::ProfileCache| &c.0,
            ))
            .mount("/", routes::routes()))
    })
}
