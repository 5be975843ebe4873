//! Who is asking: the session table and its cookie, the `CurrentUser` and
//! `AdminUser` guards, roles, and the CSRF token every form carries.
//!
//! This layer sits on the core (config, errors, database) and below the web
//! layer: pages and APIs ask it who is signed in; it knows no page.

pub mod cache;
pub mod csrf;
mod device;
pub mod gate;
mod guards;
pub mod hooks;
pub mod role;
mod store;

pub use cache::{clear_all, named_user, user_changed, SessionCache};
pub use csrf::{check as check_csrf, rotate as rotate_csrf, CsrfForm, NoFields, CSRF_FIELD};
pub use device::Device;
pub use gate::AdminGate;
pub use guards::{cached_user, current_user, signed_in, AdminUser, CurrentUser};
pub use hooks::SignInHooks;
pub use role::Role;
pub use store::{
    end_all_for_user, end_current, end_one, hash_token, hex, list_for_user, live_sessions,
    proved_at, random_token, record_proof, start, NewSession, SessionRow, SESSION_COOKIE,
};

/// The stage: the session cache (once the events are up) and the task that
/// writes "last seen" in batches.
pub fn stage() -> rocket::fairing::AdHoc {
    use rocket::fairing::AdHoc;
    AdHoc::on_ignite("Sessions", |rocket| async {
        rocket
            .manage(SignInHooks::default())
            .attach(AdHoc::try_on_ignite("Session cache", |rocket| async {
                let (Some(events), Some(cfg)) = (
                    rocket.state::<crate::events::Events>().cloned(),
                    rocket.state::<crate::config::AppConfig>(),
                ) else {
                    return Err(rocket);
                };
                let cache = SessionCache::new(
                    events,
                    cfg.session_cache_entries,
                    std::time::Duration::from_secs(cfg.session_cache_seconds),
                );
                Ok(rocket
                    .manage(cache)
                    .attach(AdHoc::on_liftoff("Last seen writer", |rocket| {
                        Box::pin(async move {
                            let (Some(db), Some(cache)) = (
                                <crate::db::Db as rocket_db_pools::Database>::fetch(rocket),
                                rocket.state::<SessionCache>(),
                            ) else {
                                return;
                            };
                            rocket::tokio::spawn(cache::write_seen_until(
                                (**db).clone(),
                                cache.seen_handle(),
                                rocket.shutdown(),
                            ));
                        })
                    })))
            }))
    })
}
