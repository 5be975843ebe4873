//! Signing in and out, sessions, and the guards that say who is asking.

mod guards;
pub mod oauth;
pub mod role;
mod routes;
pub mod session;

pub use guards::{cached_user, current_user, signed_in, AdminUser, CurrentUser};
/// The sign-in rate limits, shared by the form and the JSON API.
pub(crate) use routes::limits as login_limits;
pub use session::random_token;

use rocket::fairing::AdHoc;

/// Sign-in, sign-out and session management, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Auth", |rocket| async {
        rocket.mount("/", routes::routes()).attach(oauth::stage())
    })
}
