//! The chat badge of the main navigation (unread messages, and whether any
//! mention you), on every signed-in page, without a database query per page:
//! each process keeps the count per member in memory, and every change that
//! can alter one announces itself on the `chat_badge` channel of
//! `src/events` (`r:<room>`: a message posted, edited or deleted, a join or
//! leave; `u:<user>`: their read position or notification choice moved).
//!
//! - Within a process the announcement is handed over before `publish`
//!   returns, and the cache reads its messages under its lock before every
//!   lookup: exact. Across processes (Postgres) it is as late as the
//!   session cache is (see docs/architecture.md).
//! - While the events listener is down the cache is bypassed (one query
//!   per page); a gap empties it; a count computed while an announcement
//!   arrived is not stored (an epoch).
//! - Backstop: an entry lives at most [`MAX_AGE`], at most [`MAX_ENTRIES`].
//!
//! What counts: unread messages of rooms set to "all", unread mentions of
//! rooms set to "mentions"; rooms set to "none" count nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::request::Request;
use rocket::tokio::sync::broadcast::{self, error::TryRecvError};

use super::notify::Notify;
use super::repo;
use crate::db::{Db, DbPool};
use crate::events::{self, Event, Events};
use crate::web::{NavBadge, NavBadgeSource};

/// The events channel of badge invalidations.
pub const CHANNEL: &str = "chat_badge";
/// Longest an entry is used.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Most members cached (the cache is emptied when full).
pub const MAX_ENTRIES: usize = 10_000;

struct Entry {
    badge: NavBadge,
    rooms: Vec<i64>,
    at: Instant,
}

#[derive(Default)]
struct State {
    rx: Option<broadcast::Receiver<Event>>,
    entries: HashMap<i64, Entry>,
    epoch: u64,
}

impl State {
    /// Apply every announcement received so far.
    fn drain(&mut self) {
        let Some(rx) = self.rx.as_mut() else { return };
        let mut changes = Vec::new();
        let mut clear = false;
        loop {
            match rx.try_recv() {
                Ok(Event::Message(p)) => changes.push(p),
                Ok(Event::Gap) | Err(TryRecvError::Lagged(_)) => clear = true,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => {
                    clear = true;
                    self.rx = None;
                    break;
                }
            }
        }
        if changes.is_empty() && !clear {
            return;
        }
        self.epoch += 1;
        if clear {
            self.entries.clear();
            return;
        }
        for change in changes.iter().flat_map(|c| c.split(',')) {
            match change.split_once(':') {
                Some(("u", id)) => {
                    if let Ok(id) = id.parse::<i64>() {
                        self.entries.remove(&id);
                    }
                }
                Some(("r", id)) => {
                    if let Ok(id) = id.parse::<i64>() {
                        self.entries.retain(|_, e| !e.rooms.contains(&id));
                    }
                }
                _ => self.entries.clear(),
            }
        }
    }
}

/// The per-process badge cache (the navigation hook chat registers).
#[derive(Default)]
pub struct BadgeCache {
    state: Mutex<State>,
}

impl BadgeCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start hearing invalidations (at liftoff, once events run).
    pub fn listen(&self, events: &Events) {
        let mut state = self.lock();
        state.rx = Some(events.subscribe(CHANNEL));
        state.entries.clear();
        state.epoch += 1;
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
impl NavBadgeSource for Arc<BadgeCache> {
    async fn badge(&self, req: &Request<'_>, user_id: i64) -> Option<NavBadge> {
        let db = req.guard::<&Db>().await.succeeded()?;
        let use_cache = req
            .rocket()
            .state::<Events>()
            .is_some_and(Events::is_connected);
        let epoch = {
            let mut state = self.lock();
            state.drain();
            let usable = use_cache && state.rx.is_some();
            if let Some(e) = state.entries.get(&user_id) {
                if usable && e.at.elapsed() < MAX_AGE {
                    return Some(e.badge);
                }
            }
            usable.then_some(state.epoch)
        };
        let (badge, rooms) = match compute(db, user_id).await {
            Ok(found) => found,
            Err(e) => {
                log::warn!("chat badge of user {user_id}: {e}");
                return None;
            }
        };
        if let Some(epoch) = epoch {
            let mut state = self.lock();
            state.drain();
            if state.epoch == epoch {
                if state.entries.len() >= MAX_ENTRIES {
                    state.entries.clear();
                }
                let at = Instant::now();
                state.entries.insert(user_id, Entry { badge, rooms, at });
            }
        }
        Some(badge)
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
