//! The chat badge of the main navigation (unread messages, and whether any
//! mention you), on every signed-in page, without a database query per page:
//! each process keeps the count per member in memory, and every change that
//! can alter one announces itself on the `chat_badge` channel of
//! `src/events` (`r:<room>`: a message posted, edited or deleted, a join or
//! leave; `u:<user>`: their read position or notification choice moved).
//!
//! - The keeping (gaps, the epoch, the backstops) is the web layer's
//!   [`BadgeCache`]; this file says what a badge counts and what each
//!   announcement drops.
//! - Within a process the announcement is handed over before `publish`
//!   returns, and the cache reads its messages under its lock before every
//!   lookup: exact. Across processes (Postgres) it is as late as the
//!   session cache is (see docs/architecture.md).
//!
//! What counts: unread messages of rooms set to "all", unread mentions of
//! rooms set to "mentions"; rooms set to "none" count nothing.

use std::sync::Arc;

use rocket::request::Request;

use super::notify::Notify;
use super::repo;
use crate::db::{Db, DbPool};
use crate::events;
use crate::web::member_cache::{BadgeCache, Drop};
use crate::web::{NavBadge, NavBadgeSource};

/// The events channel of badge invalidations.
pub const CHANNEL: &str = "chat_badge";

/// What one announcement drops: `u:<user>` that member's badge, `r:<room>`
/// the badges counted with that room, anything else all of them.
fn read(payload: &str) -> Vec<Drop> {
    payload
        .split(',')
        .map(|change| match change.split_once(':') {
            Some(("u", id)) => id.parse().map_or(Drop::All, Drop::Member),
            Some(("r", id)) => id.parse().map_or(Drop::All, Drop::Tag),
            _ => Drop::All,
        })
        .collect()
}

/// The per-process chat badges (the navigation hook chat registers).
pub struct ChatBadges(pub BadgeCache);

impl Default for ChatBadges {
    fn default() -> Self {
        ChatBadges(BadgeCache::new(CHANNEL, read))
    }
}

/// A member's badge, computed from their rooms.
pub async fn compute(db: &DbPool, user_id: i64) -> crate::error::AppResult<(NavBadge, Vec<i64>)> {
    let rooms = repo::my_rooms(db, user_id).await?;
    let mut badge = NavBadge::default();
    for r in &rooms {
        match Notify::parse(&r.notify) {
            Some(Notify::All) => {
                badge.unread += r.unread;
                badge.mentions += r.mentions;
            }
            Some(Notify::Mentions) => {
                badge.unread += r.mentions;
                badge.mentions += r.mentions;
            }
            Some(Notify::None) | None => {}
        }
    }
    Ok((badge, rooms.iter().map(|r| r.id).collect()))
}

#[rocket::async_trait]
impl NavBadgeSource for Arc<ChatBadges> {
    async fn badge(&self, req: &Request<'_>, user_id: i64) -> Option<NavBadge> {
        let db = req.guard::<&Db>().await.succeeded()?;
        self.0
            .get(user_id, "chat badge", compute(db, user_id))
            .await
    }
}

/// Tell every process that the badges of the members of `rooms`, and of
/// `users`, may have changed: one message (logged, not returned: the
/// cache's age bounds a lost one).
pub async fn changed(db: &DbPool, rooms: &[i64], users: &[i64]) {
    let parts: Vec<String> = rooms
        .iter()
        .map(|r| format!("r:{r}"))
        .chain(users.iter().map(|u| format!("u:{u}")))
        .collect();
    if parts.is_empty() {
        return;
    }
    // Payloads stay short; a very long list is simply "everything".
    let mut payload = parts.join(",");
    if payload.len() > 1000 {
        payload = "*".into();
    }
    if let Err(e) = events::publish(db, CHANNEL, &payload).await {
        log::warn!("chat badge change not announced: {e}");
    }
}
