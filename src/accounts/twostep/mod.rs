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

use rocket::fairing::AdHoc;

pub use flow::sign_in_or_ask;
pub use mails::tell;
pub use seal::SealKey;

/// Two-step sign-in, as a Rocket stage: the sealing key, the second-step
/// pages, the profile's pages and passkeys.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Two-step sign-in", |rocket| async {
        let key = SealKey::from_figment(rocket.figment());
        let rp = rocket.state::<crate::config::AppConfig>().map_or(
            passkeys::RelyingParty(None),
            passkeys::RelyingParty::from_config,
        );
        rocket
            .manage(key)
            .manage(rp)
            .mount("/", passkeys::routes())
            .mount("/", routes::routes())
            .mount("/", manage::routes())
    })
}
