//! Groundwork: a self-hostable, server-rendered web presence.
//!
//! [`rocket`] builds the whole application; the binary and the tests both
//! run exactly what it returns.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod blog;
pub mod chat;
pub mod cli;
pub mod config;
pub mod contact;
pub mod db;
pub mod error;
pub mod events;
pub mod jobs;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod moderation;
pub mod notes;
pub mod notifications;
pub mod profile;
pub mod session;
pub mod shop;
pub mod tasks;
pub mod web;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::shield::Shield;
use rocket::{Build, Rocket};

use config::AppConfig;

/// The application with its configuration read from `Rocket.toml`, the
/// environment and `DATABASE_URL`.
pub fn rocket() -> Rocket<Build> {
    build(config::figment())
}

/// The application on a given configuration (tests pass their own).
pub fn build(figment: Figment) -> Rocket<Build> {
    rocket::custom(figment)
        // Our own fairing sends every security header; this replaces
        // Rocket's default Shield so that no header is sent twice.
        .attach(Shield::new())
        .attach(AdHoc::try_on_ignite("Configuration", |rocket| async {
            let config: AppConfig = match rocket.figment().extract() {
                Ok(c) => c,
                Err(e) => {
                    log::error!("invalid configuration: {e}");
                    return Err(rocket);
                }
            };
            // The figment always holds a `secret_key` (rocket::Config
            // serialises its unset key as zeroes): ask whether a real one
            // was given.
            let has_key = rocket
                .figment()
                .extract_inner::<rocket::config::SecretKey>("secret_key")
                .is_ok_and(|key| key.is_provided());
            if let Err(problem) = config.check(rocket.figment().profile(), has_key) {
                log::error!("refusing to start: {problem}");
                eprintln!("refusing to start: {problem}");
                return Err(rocket);
            }
            if !has_key {
                log::warn!(
                    "no secret_key: a random one is used, so every session and API token ends when the process stops, and processes cannot share sessions. Set ROCKET_SECRET_KEY to the output of `head -c64 /dev/urandom | base64 -w0`"
                );
            }
            Ok(rocket.manage(config))
        }))
        .attach(db::stage())
        .attach(events::stage())
        .attach(session::stage())
        .attach(web::stage())
        .attach(auth::stage())
        .attach(jobs::stage())
        .attach(accounts::stage())
        .attach(profile::stage())
        .attach(mail::stage())
        .attach(contact::stage())
        .attach(admin::stage())
        .attach(api::stage())
        .attach(notifications::stage())
        .attach(moderation::stage())
        .attach(notes::stage())
        .attach(chat::stage())
        .attach(blog::stage())
        .attach(tasks::stage())
        .attach(shop::stage())
        .register("/", web::catchers())
}
