//! The navigation's unread count on every signed-in page without a
//! database query per page: kept per member in this process by the web
//! layer's [`BadgeCache`] (as chat's badge is), dropped by every change to
//! a member's notifications or read marker, which announces the member's
//! id on the `notifications` channel of `src/events` (`live.rs`: from
//! inside the writing transaction, and again once it has ended; marking
//! read, after its write).
//!
//! The process that wrote a notification drops the entry at once, and
//! again once the transaction has ended ([`crate::events::publish_in`]):
//! a request it serves after the one that wrote sees the new count. Other
//! processes (Postgres) drop it when their listener hears the commit: as
//! late as the session cache is (docs/architecture.md).

use std::sync::Arc;

use rocket::request::Request;

use super::live::CHANNEL;
use super::repo;
use crate::db::Db;
use crate::web::member_cache::{BadgeCache, Drop};
use crate::web::{NavBadge, NavBadgeSource};

/// An announcement is a member's id; anything else drops every count.
fn read(payload: &str) -> Vec<Drop> {
    vec![payload.parse().map_or(Drop::All, Drop::Member)]
}

/// The per-process unread counts (the navigation hook the notifications
/// stage registers).
pub struct UnreadCache(pub BadgeCache);

impl Default for UnreadCache {
    fn default() -> Self {
        UnreadCache(BadgeCache::new(CHANNEL, read))
    }
}

#[rocket::async_trait]
impl NavBadgeSource for Arc<UnreadCache> {
    async fn badge(&self, req: &Request<'_>, user_id: i64) -> Option<NavBadge> {
        let db = req.guard::<&Db>().await.succeeded()?;
        let count = async {
            let unread = repo::unread_count(db, user_id).await?;
            Ok((
                NavBadge {
                    unread,
                    mentions: 0,
                },
                Vec::new(),
            ))
        };
        self.0.get(user_id, "notifications count", count).await
    }
}
