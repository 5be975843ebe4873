//! Signing in and out: the password form and OAuth/OpenID Connect
//! providers. Sessions themselves live in `crate::session`.

pub mod oauth;
mod routes;

use rocket::fairing::AdHoc;

/// Sign-in, sign-out and session management, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Auth", |rocket| async {
        rocket.mount("/", routes::routes()).attach(oauth::stage())
    })
}
