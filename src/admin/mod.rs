//! The admin area: dashboard, users, roles, background jobs, audit log.
//! Every route takes an `AdminUser`, so anonymous visitors are sent to sign
//! in and other users get 403.

pub mod actions;
pub mod cache;
mod jobs;
pub mod repo;
mod routes;
mod views;

use rocket::fairing::AdHoc;

use crate::web::member_cache::listen_at_liftoff;

/// The admin area, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Admin", |rocket| async {
        let Some(cfg) = rocket.state::<crate::config::AppConfig>() else {
            return Err(rocket);
        };
        let cache = cache::StatsCache::new(cfg);
        Ok(rocket
            .manage(cache)
            .attach(listen_at_liftoff(
                "Dashboard figures",
                |c: &cache::StatsCache| &c.0,
            ))
            .mount("/", routes::routes())
            .mount("/", jobs::routes()))
    })
}
