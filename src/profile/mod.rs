//! The member's own profile page: what others see of them, their password,
//! where they are signed in, linked sign-in providers, and deleting the
//! account. It sits above accounts and sign-in, whose pieces it shows.

pub mod cache;
mod repo;
mod routes;
pub mod views;

use rocket::fairing::AdHoc;

/// The profile page, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Profile", |rocket| async {
        let Some(cfg) = rocket.state::<crate::config::AppConfig>() else {
            return Err(rocket);
        };
        let cache = cache::ProfileCache::new(cfg);
        Ok(rocket
            .manage(cache)
            .attach(AdHoc::on_liftoff("Profile cache", |rocket| {
                Box::pin(async move {
                    if let (Some(events), Some(cache)) = (
                        rocket.state::<crate::events::Events>(),
                        rocket.state::<cache::ProfileCache>(),
                    ) {
                        cache.0.listen(events);
                    }
                })
            }))
            .mount("/", routes::routes()))
    })
}
