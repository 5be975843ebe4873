//! Signing in and out, sessions, and the guards that say who is asking.

pub mod credentials;
pub mod device;
mod guards;
pub mod oauth;
pub mod role;
mod routes;
pub mod session;

pub use guards::{cached_user, current_user, signed_in, AdminUser, CurrentUser};
pub use session::random_token;

use rocket::fairing::AdHoc;

/// Sign-in, sign-out and session management, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Auth", |rocket| async {
        rocket.mount("/", routes::routes()).attach(oauth::stage())
    })
}
