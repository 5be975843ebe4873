//! The per-process chat dispatcher: one task per process reads each new
//! `chat_events` row from the database once and hands it, in memory, to
//! the open streams whose member may see it. 1,000 open streams cost one
//! read per announcement, not 1,000.
//!
//! - **What wakes it**: the announcements on the `chat` channel of
//!   `src/events` (the payload is the event id; ids it has already read are
//!   ignored), a gap (the Postgres listener dropped or came back), and its
//!   own timer (`chat.poll_secs`, every second while the listener is down).
//!   Whatever woke it, it reads *every* event after the last one it read,
//!   in id order: a lost announcement costs a delay, never an event, and
//!   after the listener reconnects it catches up from the database.
//! - **Who receives what**: with each batch of events it reads the members
//!   of those rooms *now*, and a stream receives an event of a room its
//!   member belongs to, or a join/leave about its member. A member removed
//!   from a room gets the `leave` event and nothing of that room after it.
//! - **Exactly once, in order**: a stream registers at the dispatcher's
//!   position `P` (under the registry lock, so every event after `P` is
//!   handed to it), replays from the database what it missed up to `P`
//!   (`Last-Event-ID`), then sends what it is handed, skipping ids it has
//!   already sent. A stream that falls too far behind (its queue is full)
//!   is cut off and re-registers the same way: nothing is lost, nothing
//!   doubled.
//! - **Sessions**: every `poll_secs` it checks the sessions of all open
//!   streams in one query and ends the streams of those that ended.
//! - **Limits**: at most `chat.streams_per_member` open streams per member
//!   and `chat.max_streams` in all, per process (docs/chat.md says why per
//!   process).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rocket::tokio::select;
use rocket::tokio::sync::broadcast::error::{RecvError, TryRecvError};
use rocket::tokio::sync::mpsc;
use rocket::tokio::time::sleep;
use rocket::Shutdown;
use serde_json::json;

use super::journal::{self, EventRow};
use super::messages;
use super::rules::CHANNEL;
use super::views::message_json;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::events::{Event, Events};

/// Most events read from the database at once.
pub const BATCH: i64 = 200;
/// Deliveries a stream may have waiting before it is cut off and made to
/// catch up from the database.
const QUEUE: usize = 256;
/// Sessions checked per query.
const SESSION_CHUNK: usize = 500;

/// One event ready to send: read and serialised once per process.
#[derive(Debug)]
pub struct Prepared {
    pub id: i64,
    pub room_id: i64,
    pub user_id: i64,
    pub kind: String,
    /// The SSE data: JSON.
    pub data: String,
}

/// What a stream is handed: the events of one batch it may see.
pub type Delivery = Vec<Arc<Prepared>>;

struct Entry {
    user_id: i64,
    session_id: i64,
    /// None once the stream was cut off (too far behind, or its session
    /// ended): it then calls [`Dispatcher::resync`].
    tx: Option<mpsc::Sender<Delivery>>,
    ended: bool,
}

#[derive(Default)]
struct Registry {
    /// The id of the last event read (None until first known).
    cursor: Option<i64>,
    next: u64,
    streams: HashMap<u64, Entry>,
    per_member: HashMap<i64, usize>,
}

struct Shared {
    registry: Mutex<Registry>,
    per_member: usize,
    max: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The process's dispatcher (Rocket managed state; cheap to clone).
#[derive(Clone)]
pub struct Dispatcher(Arc<Shared>);

/// A registered stream: its place in the limits, freed when dropped.
pub struct Slot {
    shared: Arc<Shared>,
    id: u64,
    user_id: i64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut reg = self.shared.lock();
        reg.streams.remove(&self.id);
        if let Some(n) = reg.per_member.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                reg.per_member.remove(&self.user_id);
            }
        }
    }
}

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The member already has this many streams open.
    Member(usize),
    /// The process already serves this many streams.
    Process(usize),
}

/// A registered stream's start: its slot, what it will be handed, and the
/// position after which it is handed everything.
pub struct Opened {
    pub slot: Slot,
    pub rx: mpsc::Receiver<Delivery>,
    pub position: i64,
}

impl Dispatcher {
    /// A dispatcher with these limits (per member, in all).
    pub fn new(per_member: usize, max: usize) -> Dispatcher {
        Dispatcher(Arc::new(Shared {
            registry: Mutex::new(Registry::default()),
            per_member,
            max,
        }))
    }

    /// Register a stream of `user_id` opened with `session_id`, within the
    /// limits.
    pub async fn open(
        &self,
        db: &DbPool,
        user_id: i64,
        session_id: i64,
    ) -> AppResult<Result<Opened, Refused>> {
        self.ensure_cursor(db).await?;
        let mut reg = self.0.lock();
        if reg.streams.len() >= self.0.max {
            return Ok(Err(Refused::Process(self.0.max)));
        }
        let mine = reg.per_member.get(&user_id).copied().unwrap_or(0);
        if mine >= self.0.per_member {
            return Ok(Err(Refused::Member(self.0.per_member)));
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        reg.next += 1;
        let id = reg.next;
        reg.streams.insert(
            id,
            Entry {
                user_id,
                session_id,
                tx: Some(tx),
                ended: false,
            },
        );
        *reg.per_member.entry(user_id).or_default() += 1;
        let position = reg.cursor.unwrap_or(0);
        Ok(Ok(Opened {
            slot: Slot {
                shared: self.0.clone(),
                id,
                user_id,
            },
            rx,
            position,
        }))
    }

    /// A stream that was cut off (its receiver ended) starts again: a new
    /// queue and the position after which it is handed everything, or None
    /// when its session ended.
    pub fn resync(&self, slot: &Slot) -> Option<(mpsc::Receiver<Delivery>, i64)> {
        let mut reg = self.0.lock();
        let position = reg.cursor.unwrap_or(0);
        let entry = reg.streams.get_mut(&slot.id)?;
        if entry.ended {
            return None;
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        entry.tx = Some(tx);
        Some((rx, position))
    }

    /// Start at the newest event, once: the first stream or the task's
    /// first read, whichever comes first.
    async fn ensure_cursor(&self, db: &DbPool) -> AppResult<i64> {
        if let Some(c) = self.0.lock().cursor {
            return Ok(c);
        }
        let newest = journal::last_event_id(db).await?;
        let mut reg = self.0.lock();
        Ok(*reg.cursor.get_or_insert(newest))
    }

    /// Read everything after the cursor and hand it out, until caught up.
    async fn pump(&self, db: &DbPool) -> AppResult<()> {
        loop {
            let cursor = self.ensure_cursor(db).await?;
            let rows = journal::all_after(db, cursor, BATCH).await?;
            let Some(last) = rows.last().map(|r| r.id) else {
                return Ok(());
            };
            let events = prepare(db, &rows).await?;
            let mut rooms: Vec<i64> = rows.iter().map(|r| r.room_id).collect();
            rooms.sort_unstable();
            rooms.dedup();
            let mut members: HashMap<i64, HashSet<i64>> = HashMap::new();
            for (room, user) in journal::members_of(db, &rooms).await? {
                members.entry(room).or_default().insert(user);
            }
            self.hand_out(&events, &members, last);
            if (rows.len() as i64) < BATCH {
                return Ok(());
            }
        }
    }

    fn hand_out(&self, events: &[Arc<Prepared>], members: &HashMap<i64, HashSet<i64>>, last: i64) {
        let mut reg = self.0.lock();
        for entry in reg.streams.values_mut() {
            let Some(tx) = &entry.tx else { continue };
            let user = entry.user_id;
            let mine: Delivery = events
                .iter()
                .filter(|e| {
                    e.user_id == user || members.get(&e.room_id).is_some_and(|m| m.contains(&user))
                })
                .cloned()
                .collect();
            if !mine.is_empty() && tx.try_send(mine).is_err() {
                // Too far behind (or gone): cut off; it catches up from the
                // database when it calls `resync`.
                entry.tx = None;
            }
        }
        // Under the same lock as the hand-out: a stream registering now is
        // handed everything after `last`, and replays the rest itself.
        reg.cursor = Some(last);
    }

    /// End the streams whose session ended (signed out, expired, account
    /// disabled): one query per `SESSION_CHUNK` open sessions.
    async fn check_sessions(&self, db: &DbPool) -> AppResult<()> {
        let mut sessions: Vec<i64> = {
            let reg = self.0.lock();
            reg.streams.values().map(|e| e.session_id).collect()
        };
        sessions.sort_unstable();
        sessions.dedup();
        let mut live = HashSet::new();
        for chunk in sessions.chunks(SESSION_CHUNK) {
            live.extend(crate::session::live_sessions(db, chunk).await?);
        }
        let mut reg = self.0.lock();
        for entry in reg.streams.values_mut() {
            if sessions.binary_search(&entry.session_id).is_ok()
                && !live.contains(&entry.session_id)
            {
                entry.ended = true;
                entry.tx = None;
            }
        }
        Ok(())
    }

    /// The dispatcher task: runs until Rocket shuts down.
    pub async fn run(self, db: DbPool, hub: Events, poll: Duration, mut shutdown: Shutdown) {
        let mut rx = hub.subscribe(CHANNEL);
        let mut checked = Instant::now();
        let mut failing = false;
        // Read first: whatever was committed before we subscribed.
        let mut read = true;
        loop {
            if read {
                match self.pump(&db).await {
                    Ok(()) => failing = false,
                    Err(e) => {
                        if !failing {
                            log::warn!("chat dispatcher: {e}");
                        }
                        failing = true;
                    }
                }
            }
            if checked.elapsed() >= poll {
                checked = Instant::now();
                if let Err(e) = self.check_sessions(&db).await {
                    log::warn!("chat dispatcher, checking sessions: {e}");
                }
            }
            let wait = if hub.is_connected() && !failing {
                poll
            } else {
                poll.min(Duration::from_secs(1))
            };
            let woken = select! {
                _ = &mut shutdown => return,
                received = rx.recv() => Some(received),
                _ = sleep(wait) => None,
            };
            read = match woken {
                Some(Err(RecvError::Closed)) => return,
                Some(Ok(Event::Message(id))) => {
                    // Coalesce what else is waiting; only ids not read yet
                    // are worth a query.
                    let mut newest = id.trim().parse::<i64>().unwrap_or(i64::MAX);
                    loop {
                        match rx.try_recv() {
                            Ok(Event::Message(id)) => {
                                newest = newest.max(id.trim().parse().unwrap_or(i64::MAX));
                            }
                            Ok(Event::Gap) | Err(TryRecvError::Lagged(_)) => newest = i64::MAX,
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Closed) => return,
                        }
                    }
                    failing || newest > self.0.lock().cursor.unwrap_or(-1)
                }
                // A gap, a lag or the timer: read.
                Some(Ok(Event::Gap) | Err(RecvError::Lagged(_))) | None => true,
            };
        }
    }
}

/// The SSE-ready events for a batch of rows: the message ones carry the
/// message as it is now (a later edit or deletion shows in a replay).
pub async fn prepare(db: &DbPool, rows: &[EventRow]) -> AppResult<Vec<Arc<Prepared>>> {
    let ids: Vec<i64> = rows
        .iter()
        .filter(|r| r.message_id > 0)
        .map(|r| r.message_id)
        .collect();
    let found = messages::by_ids(db, &ids).await?;
    let mentions = messages::mentions_of(db, &ids).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let message = found
                .iter()
                .find(|m| m.id == r.message_id)
                .map(|m| message_json(m, mentions.get(&m.id).map_or(&[], Vec::as_slice)));
            let data = json!({
                "room_id": r.room_id,
                "kind": r.kind,
                "user_id": r.user_id,
                "message": message,
            });
            Arc::new(Prepared {
                id: r.id,
                room_id: r.room_id,
                user_id: r.user_id,
                kind: r.kind.clone(),
                data: data.to_string(),
            })
        })
        .collect())
}
