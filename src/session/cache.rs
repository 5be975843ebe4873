//! The session cache: session cookie → session and user, so that most
//! signed-in requests need no database round trip to know who is asking.
//! The key is the cookie as the browser sends it, still sealed (see
//! `guards::lookup`), so a hit needs no decryption and no hash either.
//!
//! Safety rests on invalidation that is never late, not on short lifetimes:
//! - every change that ends a session or changes what the guards read (sign
//!   out, sign out everywhere, password, role, disable, delete, name and
//!   email) calls [`user_changed`], which publishes `u:<id>` on the
//!   [`CHANNEL`] event channel ([`crate::events`]): this process's cache
//!   drops that user's entries before the change's request answers, and
//!   every other process's drops them when Postgres delivers the
//!   notification (at commit; the publisher waits until its own listener
//!   has seen it come back);
//! - the cache drains its subscription under its lock before every read,
//!   so a message received is acted on before the next request is served;
//! - while the listener is disconnected, nothing is served from the cache
//!   or stored in it, and a gap (connection lost or back) empties it;
//! - an entry filled from a read that raced an invalidation is not stored
//!   (the epoch and the listener generation must be unchanged);
//! - entries are also bounded in age (`session_cache_seconds`) and number
//!   (`session_cache_entries`), which bounds what nothing above can see: a
//!   row changed by hand in the database without `SELECT pg_notify(…)`.
//!
//! "Last seen" is recorded in batches ([`write_seen`], every
//! [`SEEN_FLUSH`] and at shutdown), not by the request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::tokio::sync::broadcast::{self, error::TryRecvError};

use super::guards::CurrentUser;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::events::{self, Event, Events};

/// The event channel session invalidations travel on. Payloads: `u:<user
/// id>` (drop that user's sessions) or `*` (drop everything).
pub const CHANNEL: &str = "gw_session";

/// How often noted activity is written.
pub const SEEN_FLUSH: Duration = Duration::from_secs(15);

/// A session as the cache keeps it: the user the guards return, and what
/// the expiry checks need.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub user: CurrentUser,
    /// The session's CSRF token (`csrf::for_session`), kept so that a
    /// page does not hash it again.
    pub csrf: Arc<str>,
    pub remember: bool,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
struct Entry {
    session: Session,
    inserted: Instant,
    generation: u64,
}

/// Taken before a database read; the entry read is stored only if nothing
/// was invalidated meanwhile.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    epoch: u64,
    generation: u64,
}

struct Inner {
    rx: broadcast::Receiver<Event>,
    entries: HashMap<String, Entry>,
    /// Bumped by every invalidation.
    epoch: u64,
}

/// Session id → the latest activity not yet written.
pub type Seen = Arc<Mutex<HashMap<i64, i64>>>;

/// The cache (Rocket managed state, one per app process).
pub struct SessionCache {
    events: Events,
    inner: Mutex<Inner>,
    max_entries: usize,
    max_age: Duration,
    seen: Seen,
}

impl Inner {
    fn apply(&mut self, payload: &str) {
        self.epoch += 1;
        match named_user(payload) {
            Some(id) => self.entries.retain(|_, e| e.session.user.id != id),
            None => self.entries.clear(),
        }
    }

    /// Act on every message received so far.
    fn drain(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(Event::Message(p)) => self.apply(&p),
                Ok(Event::Gap) | Err(TryRecvError::Lagged(_)) => self.apply("*"),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
    }
}

impl SessionCache {
    /// A cache of at most `max_entries` sessions, each kept at most
    /// `max_age` (0 entries or no age: no caching at all).
    pub fn new(events: Events, max_entries: usize, max_age: Duration) -> SessionCache {
        let rx = events.subscribe(CHANNEL);
        SessionCache {
            events,
            inner: Mutex::new(Inner {
                rx,
                entries: HashMap::new(),
                epoch: 0,
            }),
            max_entries,
            max_age,
            seen: Seen::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.drain();
        inner
    }

    fn enabled(&self) -> bool {
        self.max_entries > 0 && !self.max_age.is_zero()
    }

    /// The session behind the sealed cookie `key`, if cached and still
    /// trustworthy.
    pub(crate) fn get(&self, key: &str) -> Option<Session> {
        if !self.enabled() {
            return None;
        }
        let mut inner = self.lock();
        if !self.events.is_connected() {
            inner.entries.clear();
            return None;
        }
        let generation = self.events.generation();
        let entry = inner.entries.get(key)?;
        if entry.generation != generation || entry.inserted.elapsed() >= self.max_age {
            inner.entries.remove(key);
            return None;
        }
        Some(entry.session.clone())
    }

    /// Taken before reading a session from the database.
    pub(crate) fn ticket(&self) -> Ticket {
        let inner = self.lock();
        Ticket {
            epoch: inner.epoch,
            generation: self.events.generation(),
        }
    }

    /// Store what a read taken under `ticket` found, unless something was
    /// invalidated since or the listener is not connected.
    pub(crate) fn put(&self, ticket: Ticket, key: String, session: Session) {
        if !self.enabled() {
            return;
        }
        let mut inner = self.lock();
        let generation = self.events.generation();
        if inner.epoch != ticket.epoch
            || generation != ticket.generation
            || !self.events.is_connected()
        {
            return;
        }
        if inner.entries.len() >= self.max_entries {
            let max_age = self.max_age;
            inner.entries.retain(|_, e| e.inserted.elapsed() < max_age);
            if inner.entries.len() >= self.max_entries {
                inner.entries.clear();
            }
        }
        let entry = Entry {
            session,
            inserted: Instant::now(),
            generation,
        };
        inner.entries.insert(key, entry);
    }

    /// Drop one session (it expired).
    pub(crate) fn forget(&self, key: &str) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.entries.remove(key);
    }

    /// Note activity on a session at `t`, to be written with the next batch.
    pub(crate) fn seen(&self, key: &str, session_id: i64, t: i64) {
        if let Some(e) = self.lock().entries.get_mut(key) {
            e.session.last_seen_at = e.session.last_seen_at.max(t);
        }
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = seen.entry(session_id).or_insert(t);
        *at = (*at).max(t);
    }

    /// The activity not yet written, shared with the task that writes it.
    pub fn seen_handle(&self) -> Seen {
        self.seen.clone()
    }
}

/// The user a message on [`CHANNEL`] names (`u:<id>`); None: everyone.
pub fn named_user(payload: &str) -> Option<i64> {
    payload.strip_prefix("u:")?.parse().ok()
}

/// Something about `user_id`'s account changed: what the session guards
/// read, their sessions (one began, ended or proved itself again), or what
/// their profile page shows (profile, time zone, providers, two-step,
/// passkeys). Drops their sessions from every process's session cache and
/// their profile from every profile cache (`src/profile/cache.rs`). Call
/// it after the change is written (committed), before answering.
pub async fn user_changed(db: &DbPool, user_id: i64) -> AppResult<()> {
    publish_user(db, user_id).await?;
    Ok(())
}

/// [`user_changed`] for callers that return `sqlx::Error`.
pub async fn publish_user(db: &DbPool, user_id: i64) -> Result<(), sqlx::Error> {
    events::publish(db, CHANNEL, &format!("u:{user_id}")).await
}

/// Drop every cached session in every process (after a change made
/// outside the usual paths).
pub async fn clear_all(db: &DbPool) -> AppResult<()> {
    events::publish(db, CHANNEL, "*").await?;
    Ok(())
}

/// Write the activity in `seen` (session id → time): one statement per
/// distinct time (a batch spans seconds, so a handful), never moving
/// `last_seen_at` backwards.
pub async fn write_seen(db: &DbPool, seen: HashMap<i64, i64>) -> Result<(), sqlx::Error> {
    let mut by_time: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, t) in seen {
        by_time.entry(t).or_default().push(id);
    }
    for (t, ids) in by_time {
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
            let sql = format!(
                "UPDATE sessions SET last_seen_at = $1 WHERE last_seen_at < $1 AND id IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(t);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&db.pool).await?;
        }
    }
    Ok(())
}

/// Write noted activity every [`SEEN_FLUSH`] until the app stops (once
/// more at shutdown).
pub async fn write_seen_until(db: DbPool, seen: Seen, shutdown: rocket::Shutdown) {
    let take = |seen: &Seen| {
        std::mem::take(
            &mut *seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    };
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stopping = rocket::tokio::select! {
            _ = rocket::tokio::time::sleep(SEEN_FLUSH) => false,
            _ = &mut shutdown => true,
        };
        // The app was dropped without a shutdown (tests): nothing to keep.
        if Arc::strong_count(&seen) == 1 {
            return;
        }
        let batch = take(&seen);
        if !batch.is_empty() {
            if let Err(e) = write_seen(&db, batch).await {
                log::warn!("recording session activity failed: {e}");
            }
        }
        if stopping {
            return;
        }
    }
}
