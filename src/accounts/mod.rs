//! Accounts: sign-up, profiles, passwords, and account deletion.

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
pub mod tokens;
pub mod views;

use rocket::fairing::AdHoc;

use crate::config::AppConfig;
pub use password::Hasher;

/// The accounts feature, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Accounts", |rocket| async {
        let concurrency = rocket
            .state::<AppConfig>()
            .map(|c| c.hash_concurrency)
            .unwrap_or(0);
        rocket
            .manage(Hasher::new(concurrency))
            .mount("/", routes::routes())
            .mount("/", email::routes())
            .mount("/", reset::routes())
    })
}
