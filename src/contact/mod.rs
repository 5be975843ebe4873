//! The public contact form, mailed to admins through the outbox, and the
//! admin inbox that shows what happened to each message.

mod admin;
pub mod cache;
mod model;
mod repo;
mod routes;

use rocket::fairing::AdHoc;
use serde::{Deserialize, Serialize};

use crate::web::member_cache::keep;

/// The `contact` table of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ContactConfig {
    /// Who receives contact messages. Empty: every admin account.
    pub recipients: Vec<String>,
    /// Send the visitor an acknowledgement. Off by default: it lets anyone
    /// make the site mail any address.
    pub acknowledge: bool,
    /// Messages one client address may send per hour.
    pub per_address_per_hour: i64,
}

impl Default for ContactConfig {
    fn default() -> Self {
        ContactConfig {
            recipients: Vec::new(),
            acknowledge: false,
            per_address_per_hour: 5,
        }
    }
}

/// The contact feature, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Contact", |rocket| async {
        let settings: ContactConfig = match crate::config::section(rocket.figment(), "contact") {
            Ok(settings) => settings,
            Err(e) => {
                log::error!("{e}");
                return Err(rocket);
            }
        };
        let rocket = keep(rocket, "Contact inbox", cache::InboxCache::new, |c| &c.0)?;
        Ok(rocket
            .manage(settings)
            .mount("/", routes::routes())
            .mount("/", admin::routes()))
    })
}
