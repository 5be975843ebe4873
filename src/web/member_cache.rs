//! A navigation badge kept per member in this process, so that a
//! signed-in page asks the database nothing for it: chat's unread badge and
//! the notifications count both use it, each with its own events channel
//! (`src/events`) and its own reading of the channel's messages.
//!
//! - A message drops what it names ([`Drop::Member`], [`Drop::Tag`]: every
//!   entry computed with that tag, e.g. a chat room) or everything; a gap
//!   in the events (the listener lost its connection, or came back)
//!   empties the cache, and while the listener is down the cache is
//!   bypassed (one query per page).
//! - A badge computed while a message arrived is not stored (an epoch), so
//!   a value read just before a change cannot outlive it.
//! - Backstop: an entry lives at most [`MAX_AGE`]; at most [`MAX_ENTRIES`]
//!   (the cache is emptied when full).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rocket::request::Request;
use rocket::tokio::sync::broadcast::{self, error::TryRecvError};

use super::NavBadge;
use crate::error::AppResult;
use crate::events::{Event, Events};

/// Longest an entry is used.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Most members cached (the cache is emptied when full).
pub const MAX_ENTRIES: usize = 10_000;

/// What one message on the channel drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// This member's entry.
    Member(i64),
    /// Every entry computed with this tag.
    Tag(i64),
    /// Everything.
    All,
}

struct Entry {
    badge: NavBadge,
    tags: Vec<i64>,
    at: Instant,
}

#[derive(Default)]
struct State {
    rx: Option<broadcast::Receiver<Event>>,
    entries: HashMap<i64, Entry>,
    epoch: u64,
}

/// The per-process cache of one kind of badge.
pub struct BadgeCache {
    channel: &'static str,
    /// What a message on the channel drops.
    read: fn(&str) -> Vec<Drop>,
    state: Mutex<State>,
}

impl State {
    /// Apply every message received so far.
    fn drain(&mut self, read: fn(&str) -> Vec<Drop>) {
        let Some(rx) = self.rx.as_mut() else { return };
        let mut drops = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(Event::Message(p)) => drops.extend(read(&p)),
                Ok(Event::Gap) | Err(TryRecvError::Lagged(_)) => drops.push(Drop::All),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => {
                    drops.push(Drop::All);
                    self.rx = None;
                    break;
                }
            }
        }
        if drops.is_empty() {
            return;
        }
        self.epoch += 1;
        for d in drops {
            match d {
                Drop::Member(id) => {
                    self.entries.remove(&id);
                }
                Drop::Tag(tag) => self.entries.retain(|_, e| !e.tags.contains(&tag)),
                Drop::All => self.entries.clear(),
            }
        }
    }
}

impl BadgeCache {
    /// A cache dropped by the messages on `channel`, read by `read`.
    pub fn new(channel: &'static str, read: fn(&str) -> Vec<Drop>) -> BadgeCache {
        BadgeCache {
            channel,
            read,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start hearing the channel (at lift-off, once events run). Holding
    /// the subscription keeps the channel listened to from the start.
    pub fn listen(&self, events: &Events) {
        let mut state = self.lock();
        state.rx = Some(events.subscribe(self.channel));
        state.entries.clear();
        state.epoch += 1;
    }

    /// `user_id`'s badge: the kept one, or `compute`d (the badge and its
    /// tags) and kept. None when computing fails (the page shows no badge
    /// rather than failing); `what` names the badge in the log.
    pub async fn get<F>(
        &self,
        req: &Request<'_>,
        user_id: i64,
        what: &str,
        compute: F,
    ) -> Option<NavBadge>
    where
        F: Future<Output = AppResult<(NavBadge, Vec<i64>)>>,
    {
        let connected = req
            .rocket()
            .state::<Events>()
            .is_some_and(Events::is_connected);
        let epoch = {
            let mut state = self.lock();
            state.drain(self.read);
            let usable = connected && state.rx.is_some();
            if let Some(e) = state.entries.get(&user_id) {
                if usable && e.at.elapsed() < MAX_AGE {
                    return Some(e.badge);
                }
            }
            usable.then_some(state.epoch)
        };
        let (badge, tags) = match compute.await {
            Ok(found) => found,
            Err(e) => {
                log::warn!("{what} of user {user_id}: {e}");
                return None;
            }
        };
        if let Some(epoch) = epoch {
            let mut state = self.lock();
            state.drain(self.read);
            if state.epoch == epoch {
                if state.entries.len() >= MAX_ENTRIES {
                    state.entries.clear();
                }
                let at = Instant::now();
                state.entries.insert(user_id, Entry { badge, tags, at });
            }
        }
        Some(badge)
    }
}
