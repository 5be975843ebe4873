//! Who is asking: the session table and its cookie, the `CurrentUser` and
//! `AdminUser` guards, roles, and the CSRF token every form carries.
//!
//! This layer sits on the core (config, errors, database) and below the web
//! layer: pages and APIs ask it who is signed in; it knows no page.

pub mod csrf;
mod device;
mod guards;
pub mod role;
mod store;

pub use csrf::{check as check_csrf, rotate as rotate_csrf, CsrfForm, NoFields, CSRF_FIELD};
pub use device::Device;
pub use guards::{cached_user, current_user, signed_in, AdminUser, CurrentUser};
pub use role::Role;
pub use store::{
    end_all_for_user, end_current, end_one, hash_token, list_for_user, proved_at, random_token,
    record_proof, start, NewSession, SessionRow, SESSION_COOKIE,
};
