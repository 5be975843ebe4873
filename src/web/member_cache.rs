//! A value kept per member in this process, so that a signed-in page asks
//! the database nothing for it: chat's unread badge and the notifications
//! count each keep a [`BadgeCache`]; the profile page its data; the notes
//! list, the blog's list (per reader) and the admin dashboard a page's
//! rows. Each is dropped by the messages of the events channels
//! (`src/events`) of the rows it is built from, with its own reading of
//! them ([`MemberCache::and`] adds a channel).
//!
//! - A message drops what it names ([`Drop::Member`], [`Drop::Tag`]: every
//!   entry computed with that tag, e.g. a chat room) or everything; a gap
//!   in the events (the listener lost its connection, or came back)
//!   empties the cache, and while the listener is down the cache is
//!   bypassed (one query per page).
//! - A value computed while a message arrived is not stored (an epoch), so
//!   a value read just before a change cannot outlive it.
//! - Backstop: an entry lives at most its cache's `max_age` ([`MAX_AGE`]
//!   for badges); at most `max_entries` (the cache is emptied when full).
//! - A member may have several entries, one per key `K` (a note, a search,
//!   a page of a list): [`MemberCache::get_or_at`]. A message naming the
//!   member drops all of them; at most [`PER_MEMBER`] are kept per member
//!   (theirs are emptied when full), so one member's searches cannot push
//!   everyone else's pages out.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rocket::fairing::AdHoc;
use rocket::tokio::sync::broadcast::{self, error::TryRecvError};
use rocket::{Build, Rocket};

use super::NavBadge;
use crate::config::AppConfig;
use crate::error::AppResult;
use crate::events::{Event, Events};

/// Longest a badge is used.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Most members whose badge is kept (the cache is emptied when full).
pub const MAX_ENTRIES: usize = 10_000;
/// Most entries of a cache that keeps a page's rows (a list of notes or
/// articles, tens of kilobytes at most each): its memory stays within tens
/// of megabytes however many members there are.
pub const PAGE_ENTRIES: usize = 1_000;
/// Most entries one member has in a keyed cache ([`MemberCache::get_or_at`]).
pub const PER_MEMBER: usize = 32;

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

struct Entry<V> {
    value: V,
    tags: Vec<i64>,
    at: Instant,
}

/// How a channel's messages are read: what one of them drops.
pub type Read = fn(&str) -> Vec<Drop>;

/// One subscription: its receiver and how its messages are read.
type Heard = (broadcast::Receiver<Event>, Read);

struct State<V, K> {
    /// The subscriptions and the events they come from (set by `listen`).
    rx: Option<(Vec<Heard>, Events)>,
    /// Each member's entries, by key.
    entries: HashMap<i64, HashMap<K, Entry<V>>>,
    /// How many entries in all.
    count: usize,
    epoch: u64,
}

/// The per-process cache of one kind of per-member value, one per key `K`
/// (`()`: one value per member).
pub struct MemberCache<V, K = ()> {
    /// The channels heard, each with what one of its messages drops.
    channels: Vec<(&'static str, Read)>,
    max_age: Duration,
    max_entries: usize,
    state: Mutex<State<V, K>>,
}

/// The navigation badges' cache.
pub type BadgeCache = MemberCache<NavBadge>;

impl<V, K> State<V, K> {
    fn clear(&mut self) {
        self.entries.clear();
        self.count = 0;
    }

    /// Apply every message received so far.
    fn drain(&mut self) {
        let Some((heard, _)) = self.rx.as_mut() else {
            return;
        };
        let mut drops = Vec::new();
        let mut closed = false;
        for (rx, read) in heard.iter_mut() {
            loop {
                match rx.try_recv() {
                    Ok(Event::Message(p)) => drops.extend(read(&p)),
                    Ok(Event::Gap) | Err(TryRecvError::Lagged(_)) => drops.push(Drop::All),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Closed) => {
                        drops.push(Drop::All);
                        closed = true;
                        break;
                    }
                }
            }
        }
        if closed {
            self.rx = None;
        }
        if drops.is_empty() {
            return;
        }
        self.epoch += 1;
        for d in drops {
            match d {
                Drop::Member(id) => {
                    if let Some(gone) = self.entries.remove(&id) {
                        self.count -= gone.len();
                    }
                }
                Drop::Tag(tag) => {
                    for kept in self.entries.values_mut() {
                        let before = kept.len();
                        kept.retain(|_, e| !e.tags.contains(&tag));
                        self.count -= before - kept.len();
                    }
                    self.entries.retain(|_, kept| !kept.is_empty());
                }
                Drop::All => self.clear(),
            }
        }
    }
}

impl<V: Clone> MemberCache<V> {
    /// `user_id`'s value: the kept one, or `compute`d (the value and its
    /// tags) and kept. An error computing is returned, and nothing kept.
    pub async fn get_or<F>(&self, user_id: i64, compute: F) -> AppResult<V>
    where
        F: Future<Output = AppResult<(V, Vec<i64>)>>,
    {
        self.get_or_at(user_id, (), compute).await
    }
}

impl<V: Clone, K: Hash + Eq> MemberCache<V, K> {
    /// A cache dropped by the messages on `channel`, read by `read`, with
    /// the badges' limits ([`MAX_AGE`], [`MAX_ENTRIES`]).
    pub fn new(channel: &'static str, read: Read) -> MemberCache<V, K> {
        MemberCache::with_limits(channel, read, MAX_AGE, MAX_ENTRIES)
    }

    /// A cache whose entries live at most `max_age`, at most `max_entries`
    /// of them.
    pub fn with_limits(
        channel: &'static str,
        read: Read,
        max_age: Duration,
        max_entries: usize,
    ) -> MemberCache<V, K> {
        MemberCache {
            channels: vec![(channel, read)],
            max_age,
            max_entries,
            state: Mutex::new(State {
                rx: None,
                entries: HashMap::new(),
                count: 0,
                epoch: 0,
            }),
        }
    }

    /// A cache with the session cache's limits (`session_cache_seconds`,
    /// `session_cache_entries`, either 0 turning it off), keeping at most
    /// `most` entries: what every cache of a page's data uses.
    pub fn with_session_limits(
        channel: &'static str,
        read: Read,
        cfg: &AppConfig,
        most: usize,
    ) -> MemberCache<V, K> {
        MemberCache::with_limits(
            channel,
            read,
            Duration::from_secs(cfg.session_cache_seconds),
            cfg.session_cache_entries.min(most),
        )
    }

    /// Also hear `channel`, whose messages `read` turns into drops (a page
    /// built from several kinds of rows hears each kind's channel).
    pub fn and(mut self, channel: &'static str, read: Read) -> MemberCache<V, K> {
        self.channels.push((channel, read));
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<V, K>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start hearing the channels (at lift-off, once events run). Holding
    /// the subscriptions keeps the channels listened to from the start.
    pub fn listen(&self, events: &Events) {
        let mut state = self.lock();
        let heard = self
            .channels
            .iter()
            .map(|(channel, read)| (events.subscribe(channel), *read))
            .collect();
        state.rx = Some((heard, events.clone()));
        state.clear();
        state.epoch += 1;
    }

    /// `user_id`'s value at `key`: the kept one, or `compute`d (the value
    /// and its tags) and kept. An error computing is returned, and nothing
    /// kept.
    pub async fn get_or_at<F>(&self, user_id: i64, key: K, compute: F) -> AppResult<V>
    where
        F: Future<Output = AppResult<(V, Vec<i64>)>>,
    {
        self.get_or_at_if(user_id, key, compute, |_| true).await
    }

    /// [`MemberCache::get_or_at`], keeping what is computed only when
    /// `worth` says so (a value too large to keep is computed each time).
    pub async fn get_or_at_if<F>(
        &self,
        user_id: i64,
        key: K,
        compute: F,
        worth: impl Fn(&V) -> bool,
    ) -> AppResult<V>
    where
        F: Future<Output = AppResult<(V, Vec<i64>)>>,
    {
        let epoch = {
            let mut state = self.lock();
            state.drain();
            let usable = state.rx.as_ref().is_some_and(|(_, e)| e.is_connected());
            let kept = state.entries.get(&user_id).and_then(|m| m.get(&key));
            if let Some(e) = kept {
                if usable && e.at.elapsed() < self.max_age {
                    return Ok(e.value.clone());
                }
            }
            usable.then_some(state.epoch)
        };
        let (value, tags) = compute.await?;
        let keeps = self.max_entries > 0 && !self.max_age.is_zero() && worth(&value);
        if let (Some(epoch), true) = (epoch, keeps) {
            let mut state = self.lock();
            state.drain();
            if state.epoch == epoch {
                if state.count >= self.max_entries {
                    state.clear();
                }
                let state = &mut *state;
                let theirs = state.entries.entry(user_id).or_default();
                if theirs.len() >= PER_MEMBER {
                    state.count -= theirs.len();
                    theirs.clear();
                }
                let entry = Entry {
                    value: value.clone(),
                    tags,
                    at: Instant::now(),
                };
                if theirs.insert(key, entry).is_none() {
                    state.count += 1;
                }
            }
        }
        Ok(value)
    }
}

/// What a message on a channel whose every message drops everything
/// reads as (a page shared by many members, such as a list).
pub fn drop_all(_payload: &str) -> Vec<Drop> {
    vec![Drop::All]
}

/// A stage's whole part in keeping a page: build the cache `T` from the
/// app's settings (`make`), manage it, and start it hearing its channels at
/// lift-off, once the events run (`cache` finds the [`MemberCache`] in it).
/// Err (the stage fails) when the settings are not loaded.
// The Rocket is handed back as the error, as `AdHoc::try_on_ignite` wants.
#[allow(clippy::result_large_err)]
pub fn keep<T, V, K>(
    rocket: Rocket<Build>,
    name: &'static str,
    make: fn(&AppConfig) -> T,
    cache: fn(&T) -> &MemberCache<V, K>,
) -> Result<Rocket<Build>, Rocket<Build>>
where
    T: Send + Sync + 'static,
    V: Clone + Send + 'static,
    K: Hash + Eq + Send + 'static,
{
    let Some(cfg) = rocket.state::<AppConfig>() else {
        return Err(rocket);
    };
    let kept = make(cfg);
    Ok(rocket
        .manage(kept)
        .attach(AdHoc::on_liftoff(name, move |rocket| {
            Box::pin(async move {
                if let (Some(events), Some(state)) = (rocket.state::<Events>(), rocket.state::<T>())
                {
                    cache(state).listen(events);
                }
            })
        })))
}

impl BadgeCache {
    /// `user_id`'s badge (see [`MemberCache::get_or`]). None when computing
    /// fails (the page shows no badge rather than failing); `what` names
    /// the badge in the log.
    pub async fn get<F>(&self, user_id: i64, what: &str, compute: F) -> Option<NavBadge>
    where
        F: Future<Output = AppResult<(NavBadge, Vec<i64>)>>,
    {
        match self.get_or(user_id, compute).await {
            Ok(badge) => Some(badge),
            Err(e) => {
                log::warn!("{what} of user {user_id}: {e}");
                None
            }
        }
    }
}
