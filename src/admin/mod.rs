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

use crate::web::member_cache::keep;

/// The admin area, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Admin", |rocket| async {
        let rocket = keep(rocket, "Dashboard figures", cache::StatsCache::new, |c| {
            &c.0
        })?;
        let rocket = keep(rocket, "Member list", cache::UsersCache::new, |c| &c.0)?;
        let rocket = keep(rocket, "Jobs pages", cache::JobsCache::new, |c| &c.0)?;
        let rocket = keep(rocket, "Audit log pages", cache::AuditCache::new, |c| &c.0)?;
        Ok(rocket
            .mount("/", routes::routes())
            .mount("/", jobs::routes()))
    })
}
