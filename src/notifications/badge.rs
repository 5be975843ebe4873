//! The navigation's unread count on every signed-in page without a
//! database query per page: each process keeps the count per member in
//! memory, and every change to a member's notifications or read marker
//! announces the member's id on the `notifications` channel of
//! `src/events` (`live.rs`: from inside the writing transaction, delivered
//! once it has committed; marking read, after its write).
//!
//! - An announcement removes the member's entry; a gap in the events (the
//!   listener lost its connection, or came back) empties the cache, and
//!   while the listener is down the cache is bypassed (one query per page).
//! - A count computed while an announcement arrived is not stored (an
//!   epoch), so a count read just before a commit cannot outlive it.
//! - Backstop: an entry lives at most [`MAX_AGE`]; at most [`MAX_ENTRIES`]
//!   (the cache is emptied when full).
//!
//! The process that wrote a notification drops the entry at once, and
//! again once the transaction has ended ([`crate::events::publish_in`]):
//! a request it serves after the one that wrote sees the new count. Other
//! processes (Postgres) drop it when their listener hears the commit: as
//! late as the session cache is (docs/architecture.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::request::Request;
use rocket::tokio::sync::broadcast::{self, error::TryRecvError};

use super::live::CHANNEL;
use super::repo;
use crate::db::Db;
use crate::events::{Event, Events};
use crate::web::{NavBadge, NavBadgeSource};

/// Longest an entry is used.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Most members cached.
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
struct State {
    rx: Option<broadcast::Receiver<Event>>,
    entries: HashMap<i64, (i64, Instant)>,
    epoch: u64,
}

impl State {
    /// Apply every announcement received so far.
    fn drain(&mut self) {
        let Some(rx) = self.rx.as_mut() else { return };
        let mut changed = Vec::new();
        let mut clear = false;
        loop {
            match rx.try_recv() {
                Ok(Event::Message(p)) => match p.parse::<i64>() {
                    Ok(id) => changed.push(id),
                    Err(_) => clear = true,
                },
                Ok(Event::Gap) | Err(TryRecvError::Lagged(_)) => clear = true,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => {
                    clear = true;
                    self.rx = None;
                    break;
                }
            }
        }
        if changed.is_empty() && !clear {
            return;
        }
        self.epoch += 1;
        if clear {
            self.entries.clear();
        }
        for id in changed {
            self.entries.remove(&id);
        }
    }
}

/// The per-process cache of unread counts (the navigation hook the
/// notifications stage registers).
#[derive(Default)]
pub struct UnreadCache {
    state: Mutex<State>,
}

impl UnreadCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start hearing announcements (at lift-off, once events run). Holding
    /// the subscription keeps the channel listened to from the start.
    pub fn listen(&self, events: &Events) {
        let mut state = self.lock();
        state.rx = Some(events.subscribe(CHANNEL));
        state.entries.clear();
        state.epoch += 1;
    }
}

#[rocket::async_trait]
impl NavBadgeSource for Arc<UnreadCache> {
    async fn badge(&self, req: &Request<'_>, user_id: i64) -> Option<NavBadge> {
        let db = req.guard::<&Db>().await.succeeded()?;
        let connected = req
            .rocket()
            .state::<Events>()
            .is_some_and(Events::is_connected);
        let epoch = {
            let mut state = self.lock();
            state.drain();
            let usable = connected && state.rx.is_some();
            if let Some((unread, at)) = state.entries.get(&user_id) {
                if usable && at.elapsed() < MAX_AGE {
                    return Some(NavBadge {
                        unread: *unread,
                        mentions: 0,
                    });
                }
            }
            usable.then_some(state.epoch)
        };
        let unread = match repo::unread_count(db, user_id).await {
            Ok(n) => n,
            Err(e) => {
                log::warn!("notifications count of user {user_id}: {e}");
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
                state.entries.insert(user_id, (unread, Instant::now()));
            }
        }
        Some(NavBadge {
            unread,
            mentions: 0,
        })
    }
}
