//! Accounts: sign-up, profiles, passwords, and account deletion.

pub mod admins;
mod claim;
pub mod credentials;
pub mod email;
mod mails;
pub mod model;
pub mod password;
pub mod register;
pub mod repo;
mod reset;
mod routes;
pub mod timezone;
pub mod tokens;
pub mod twostep;
pub mod views;

use rocket::fairing::AdHoc;

use crate::config::AppConfig;
pub use password::Hasher;

/// The accounts feature, as a Rocket stage (attach after the jobs stage:
/// it registers the password-reset job once the database is open).
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Accounts", |rocket| async {
        let concurrency = rocket
            .state::<AppConfig>()
            .map(|c| c.hash_concurrency)
            .unwrap_or(0);
        let mut hasher = Hasher::new(concurrency);
        if let Some(metrics) = rocket.state::<crate::metrics::Metrics>() {
            hasher = hasher.measured(metrics);
        }
        rocket
            .manage(hasher)
            .mount("/", routes::routes())
            .mount("/", email::routes())
            .mount("/", reset::routes())
            .attach(twostep::stage())
            .attach(AdHoc::try_on_ignite("Accounts jobs", |rocket| async {
                let (Some(cfg), Some(db), Some(registry)) = (
                    rocket.state::<AppConfig>(),
                    <crate::db::Db as rocket_db_pools::Database>::fetch(&rocket),
                    rocket.state::<crate::jobs::Registry>(),
                ) else {
                    log::error!("the accounts stage needs the config, database and jobs stages");
                    return Err(rocket);
                };
                reset::register_job(registry, (**db).clone(), cfg.base_url.clone());
                Ok(rocket)
            }))
            .attach(AdHoc::on_liftoff("No admin yet?", |rocket| {
                Box::pin(async move {
                    let Some(db) = <crate::db::Db as rocket_db_pools::Database>::fetch(rocket)
                    else {
                        return;
                    };
                    if let Ok(0) = admins::count_enabled(db).await {
                        log::warn!(
                            "there is no admin account yet: contact messages are stored but mailed to nobody, and nobody can reach /admin. Create one with `echo PASSWORD | groundwork create-admin you@example.org --password-stdin`"
                        );
                    }
                })
            }))
    })
}
