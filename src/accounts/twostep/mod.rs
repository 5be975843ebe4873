//! Two-step sign-in (docs/twostep.md): an authenticator app's codes
//! (RFC 6238, [`totp`]) with recovery codes ([`recovery`]) as a second
//! factor after the password or a provider; [`passkeys`] as that second
//! factor too, or as a complete sign-in on their own. The secret is sealed
//! with a key derived from `secret_key` ([`seal`]); a sign-in halfway
//! through is a [`pending`] row that grants nothing until the second step.
//!
//! Where it is asked for: [`sign_in_or_ask`] is the one step between a
//! first factor (the password form, a provider) and a browser session;
//! the JSON API asks through [`pending`] with a challenge token.

mod flow;
mod mails;
pub mod manage;
pub mod passkeys;
pub mod pending;
pub mod recovery;
pub mod repo;
mod routes;
pub mod seal;
pub mod totp;
pub mod trust;
mod views;

use std::sync::Arc;

use rocket::fairing::AdHoc;

use crate::session::AdminGate;

pub use flow::sign_in_or_ask;
pub use mails::tell;
pub use seal::SealKey;

/// The `[twostep]` settings.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct TwoStepConfig {
    /// Every admin must have two-step sign-in on to use the admin pages.
    pub require_for_admins: bool,
}

/// The admin gate `require_for_admins` installs: an admin passes once
/// two-step sign-in is on.
fn admin_gate() -> AdminGate {
    AdminGate {
        check: Arc::new(|db, user_id| Box::pin(repo::is_enabled(db, user_id))),
        redirect: manage::PAGE,
        message: "This site requires administrators to use two-step sign-in. Turn it on here to reach the admin pages.",
    }
}

/// Two-step sign-in, as a Rocket stage: the sealing key, the second-step
/// pages, the profile's pages, passkeys, and (with `require_for_admins`)
/// the admin gate.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Two-step sign-in", |rocket| async {
        // A security setting that does not read must not fall back to "off".
        let settings: TwoStepConfig = match crate::config::section(rocket.figment(), "twostep") {
            Ok(settings) => settings,
            Err(e) => {
                log::error!("{e}");
                return Err(rocket);
            }
        };
        let rocket = if settings.require_for_admins {
            rocket.manage(admin_gate())
        } else {
            rocket
        };
        let key = SealKey::from_figment(rocket.figment());
        let rp = rocket.state::<crate::config::AppConfig>().map_or(
            passkeys::RelyingParty(None),
            passkeys::RelyingParty::from_config,
        );
        Ok(rocket
            .manage(key)
            .manage(rp)
            .mount("/", passkeys::routes())
            .mount("/", routes::routes())
            .mount("/", manage::routes()))
    })
}
