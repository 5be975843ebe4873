//! One notifications system for the whole site (docs/social.md): what a
//! member is told about (follows, favourites, comments, replies,
//! mentions), written by the app that caused it in its own transaction
//! with [`notify`]; grouping of a day's favourites and follows; a read
//! marker per member; preferences per kind. `kind.rs` (the kinds and their
//! sentences), `repo.rs` (SQL), `routes.rs` (the pages and the
//! navigation's unread count), `badge.rs` (that count without a query per
//! page), `live.rs` (the count kept live over Server-Sent Events),
//! `api.rs` (JSON).
//!
//! Apps call [`notify`] and never know each other: the blog (follows,
//! favourites, comments, replies, mentions), moderation (report
//! decisions), tasks (`src/tasks/notices.rs`: assigned to me, comments on
//! my tasks) and chat (`src/chat/notices.rs`: mentions) each add a [`Kind`].

mod api;
mod badge;
pub mod digest;
pub mod kind;
pub mod live;
pub mod repo;
pub mod routes;

pub use kind::Kind;
pub use repo::{notify, Notice};

use std::sync::Arc;

use rocket::fairing::AdHoc;
use rocket::Route;

use crate::web::NotificationsBadgeHook;

/// The JSON API routes (the OpenAPI test checks each is documented).
pub fn api_routes() -> Vec<Route> {
    api::routes()
}

/// How often the digest job looks for digests due (seconds).
const DIGEST_CHECK_SECS: i64 = 600;

/// The configured `secret_key`, for deriving single-purpose keys; without
/// one (only the debug profile starts so) random bytes, so links made by
/// this process end with it.
fn secret_material(figment: &rocket::figment::Figment) -> Vec<u8> {
    let provided = figment
        .extract_inner::<rocket::config::SecretKey>("secret_key")
        .is_ok_and(|k| k.is_provided());
    match figment.find_value("secret_key").ok().filter(|_| provided) {
        Some(v) => match v.as_str() {
            Some(s) => s.trim().as_bytes().to_vec(),
            None => serde_json::to_vec(&v).unwrap_or_default(),
        },
        None => {
            use rand::RngCore;
            let mut k = vec![0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut k);
            k
        }
    }
}

/// The notifications pages, API and navigation count, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Notifications", |rocket| async {
        let key = digest::UnsubscribeKey::new(&secret_material(rocket.figment()));
        let site_url = rocket
            .state::<crate::config::AppConfig>()
            .map(|c| c.base_url.clone())
            .unwrap_or_default();
        if let Some(registry) = rocket.state::<crate::jobs::Registry>() {
            digest::register(registry, DIGEST_CHECK_SECS, site_url, key.clone());
        }
        let counts = Arc::new(badge::UnreadCache::default());
        let live_config = match rocket
            .figment()
            .extract_inner::<live::LiveConfig>("notifications")
        {
            Ok(c) => c,
            Err(e) if e.missing() => live::LiveConfig::default(),
            Err(e) => {
                log::error!("notifications settings: {e}");
                return Err(rocket);
            }
        };
        Ok(rocket
            .manage(key)
            .manage(NotificationsBadgeHook(Arc::new(counts.clone())))
            .manage(counts)
            .manage(live::OpenStreams::default())
            .manage(live_config)
            .attach(AdHoc::on_liftoff("Notifications channel", |rocket| {
                // The cache listens from the start, not only once a stream
                // opens: on Postgres the LISTEN is in place before anyone is
                // told anything, and a publish waits for its own echo,
                // which only comes back on a channel this process listens to.
                Box::pin(async move {
                    if let (Some(events), Some(counts)) = (
                        rocket.state::<crate::events::Events>(),
                        rocket.state::<Arc<badge::UnreadCache>>(),
                    ) {
                        counts.0.listen(events);
                    }
                })
            }))
            .mount("/", routes::routes())
            .mount("/", live::routes())
            .mount("/", api_routes()))
    })
}
