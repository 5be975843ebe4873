//! Events between the processes that share one database: named channels
//! carrying short text messages, the one mechanism for anything that must
//! reach every process (session invalidation today; chat and
//! notifications later).
//!
//! - On **Postgres** each process keeps ONE `LISTEN` connection
//!   ([`sqlx::postgres::PgListener`], opened from the database URL) and
//!   [`publish`] runs `SELECT pg_notify(channel, payload)` on the pool.
//!   Postgres delivers a notification to every listener when the
//!   publishing statement commits. A message is also handed to this
//!   process's own subscribers at once, so the publisher never waits for
//!   its own echo to act on it.
//! - On **SQLite** (one process) there is no server to carry messages:
//!   [`publish`] hands the message to the subscribers in this process
//!   directly (every app built on the same database file in this process,
//!   as the tests' second "node" is).
//!
//! Delivery is at most once: a listener that loses its connection misses
//! what was sent meanwhile. So every subscriber is told of the loss
//! ([`Event::Gap`]) when the connection drops and again when it is back,
//! and [`Events::is_connected`] says whether messages are flowing right
//! now. A subscriber that keeps state derived from the database (a cache)
//! must drop it on a gap and not trust itself while disconnected.
//! Payloads are short (ids, not rows: Postgres caps them under 8000
//! bytes); a subscriber reads the rows it needs.

mod listener;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use rocket::fairing::AdHoc;
use rocket::tokio::sync::{broadcast, mpsc, watch};

use rocket_db_pools::Database;

use crate::db::{Backend, Db, DbPool};

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message published on the channel.
    Message(String),
    /// Messages may have been missed: the listener connection was lost, or
    /// has just come back after a loss (or first connected).
    Gap,
}

/// The channel announcing that rows an overview counts changed: accounts
/// (created), jobs (queued, finished, retried, pruned), contact
/// messages (received, handled, pruned) and the audit log (an entry). The
/// admin dashboard's kept figures, and the admin's kept lists of jobs, the
/// audit log, members and the contact inbox hear it; the payload names the
/// table (`users`, `jobs`, `contact`, `audit`, `prune`).
pub const COUNTS: &str = "gw_counts";

/// The largest payload [`publish`] accepts (Postgres refuses 8000 bytes).
pub const MAX_PAYLOAD: usize = 7000;
/// How many undelivered messages a slow subscriber may fall behind by
/// before it is told it lagged (`RecvError::Lagged`), which it must treat
/// as a gap.
const CHANNEL_CAPACITY: usize = 1024;
/// How long [`publish`] waits on Postgres for its own message to come back
/// through the listener (a sign that Postgres has fanned it out).
const ECHO_WAIT: Duration = Duration::from_secs(1);
/// And then a little longer, for the other processes' listener tasks to
/// act on the same message (they got it when we did; they may not have
/// been scheduled yet).
const SETTLE: Duration = Duration::from_millis(25);

/// This process's end of the event channels for one database (Rocket
/// managed state; cheap to clone).
#[derive(Clone)]
pub struct Events(Arc<Hub>);

pub(crate) struct Hub {
    /// `DbPool::instance` of the pool this hub belongs to.
    instance: u64,
    url: String,
    channels: Mutex<HashMap<String, broadcast::Sender<Event>>>,
    connected: AtomicBool,
    /// Bumped whenever the connection is lost or comes back.
    generation: AtomicU64,
    /// Postgres: channels for the listener to `LISTEN` to.
    listen: Option<mpsc::UnboundedSender<String>>,
    /// Postgres: the highest sequence number of our own messages seen back.
    echo: watch::Sender<u64>,
    seq: AtomicU64,
    /// SQLite: the pool, to wait for its writer before delivering a
    /// message published inside a transaction ([`publish_in`]).
    sqlite: Option<crate::db::Pool>,
}

fn registry() -> &'static Mutex<Vec<Weak<Hub>>> {
    static HUBS: OnceLock<Mutex<Vec<Weak<Hub>>>> = OnceLock::new();
    HUBS.get_or_init(|| Mutex::new(Vec::new()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A valid channel name: 1 to 63 of `a-z`, `0-9`, `_` (a Postgres
/// identifier that needs no quoting).
pub fn valid_channel(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Events {
    /// Start the events for `db`: on Postgres, a listener task with its
    /// own connection (it reconnects with backoff until the app stops).
    /// Needs a running Tokio runtime.
    pub fn start(db: &DbPool) -> Events {
        let (listen, commands) = match db.backend {
            Backend::Postgres => {
                let (tx, rx) = mpsc::unbounded_channel();
                (Some(tx), Some(rx))
            }
            Backend::Sqlite => (None, None),
        };
        let hub = Arc::new(Hub {
            instance: db.instance,
            url: db.url.to_string(),
            channels: Mutex::new(HashMap::new()),
            // SQLite: delivery is a function call and cannot be lost.
            connected: AtomicBool::new(db.backend == Backend::Sqlite),
            generation: AtomicU64::new(0),
            listen,
            echo: watch::channel(0).0,
            seq: AtomicU64::new(0),
            sqlite: (db.backend == Backend::Sqlite).then(|| db.pool.clone()),
        });
        {
            let mut hubs = lock(registry());
            hubs.retain(|h| h.strong_count() > 0);
            hubs.push(Arc::downgrade(&hub));
        }
        if let Some(commands) = commands {
            rocket::tokio::spawn(listener::run(
                Arc::downgrade(&hub),
                db.url.to_string(),
                commands,
            ));
        }
        Events(hub)
    }

    /// Receive what is published on `channel` from now on, in this process
    /// and (on Postgres) every other.
    ///
    /// # Panics
    /// On an invalid channel name (see [`valid_channel`]): names are
    /// constants in our code.
    pub fn subscribe(&self, channel: &str) -> broadcast::Receiver<Event> {
        assert!(valid_channel(channel), "invalid channel name {channel:?}");
        let mut channels = lock(&self.0.channels);
        if let Some(tx) = channels.get(channel) {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(CHANNEL_CAPACITY);
        channels.insert(channel.to_string(), tx);
        if let Some(listen) = &self.0.listen {
            let _ = listen.send(channel.to_string());
        }
        rx
    }

    /// True while messages from other processes are being received (always
    /// on SQLite). While false, subscribers may be missing messages.
    pub fn is_connected(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    /// A number that changes whenever the listener connection is lost or
    /// comes back: state built under one generation must not be trusted
    /// under another.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }
}

impl Hub {
    /// SQLite: wait until no transaction holds the database's write lock,
    /// so that the one a message was published in has ended (committed or
    /// rolled back). Taking the lock and giving it back at once does it.
    async fn after_writer(&self) {
        let Some(pool) = &self.sqlite else { return };
        match pool.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => {
                let _ = tx.rollback().await;
            }
            Err(e) => log::warn!("events: waiting for the SQLite writer: {e}"),
        }
    }

    fn deliver(&self, channel: &str, event: Event) {
        if let Some(tx) = lock(&self.channels).get(channel) {
            let _ = tx.send(event);
        }
    }

    fn channel_names(&self) -> Vec<String> {
        lock(&self.channels).keys().cloned().collect()
    }

    /// The connection state changed: bump the generation and tell every
    /// subscriber that messages may have been missed.
    fn set_connected(&self, up: bool) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.connected.store(up, Ordering::Release);
        for tx in lock(&self.channels).values() {
            let _ = tx.send(Event::Gap);
        }
    }
}

fn hubs_where(pred: impl Fn(&Hub) -> bool) -> Vec<Arc<Hub>> {
    lock(registry())
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|h| pred(h))
        .collect()
}

/// Publish `payload` on `channel` to every subscriber of every process on
/// this database. Subscribers in this process (of the app that owns `db`)
/// have it when this returns. On Postgres it is `SELECT pg_notify(…)`, and
/// this waits (up to a second) until the message has come back through
/// this process's own listener, so that Postgres has fanned it out to the
/// other listeners too before the caller answers anyone, then 25 ms more
/// for their listener tasks to run; only on a channel this process listens
/// to (no echo comes back on another). Sign-outs and role changes are rare,
/// so the wait costs little; a chat post pays about 25 ms of it.
pub async fn publish(db: &DbPool, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
    if !valid_channel(channel) || payload.len() > MAX_PAYLOAD {
        return Err(sqlx::Error::Protocol(format!(
            "invalid event: channel {channel:?}, payload of {} bytes",
            payload.len()
        )));
    }
    let message = || Event::Message(payload.to_string());
    match db.backend {
        Backend::Sqlite => {
            for hub in hubs_where(|h| h.url == *db.url) {
                hub.deliver(channel, message());
            }
            Ok(())
        }
        Backend::Postgres => {
            let own = hubs_where(|h| h.instance == db.instance).pop();
            let seq = own
                .as_ref()
                .map_or(0, |h| h.seq.fetch_add(1, Ordering::AcqRel) + 1);
            if let Some(hub) = &own {
                hub.deliver(channel, message());
            }
            let mut echo = own.as_ref().map(|h| h.echo.subscribe());
            // "<instance>:<seq> <payload>": the listener of the publishing
            // process recognises its own messages (already delivered).
            let wire = format!("{:x}:{seq} {payload}", db.instance);
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(channel)
                .bind(wire)
                .execute(&db.pool)
                .await?;
            if let (Some(hub), Some(echo)) = (&own, echo.as_mut()) {
                // Only a channel this process listens to comes back.
                let listened = lock(&hub.channels).contains_key(channel);
                if listened && hub.connected.load(Ordering::Acquire) {
                    let seen =
                        rocket::tokio::time::timeout(ECHO_WAIT, echo.wait_for(|s| *s >= seq));
                    if seen.await.is_err() {
                        log::warn!("event on {channel} not echoed within {ECHO_WAIT:?}");
                    }
                    rocket::tokio::time::sleep(SETTLE).await;
                }
            }
            Ok(())
        }
    }
}

/// Publish `payload` on `channel` from inside the caller's transaction on
/// `conn`, for a message that tells subscribers to read again what that
/// transaction changed. It is delivered twice:
///
/// - at once, to this process's subscribers, so that a request this
///   process serves after the one that published cannot use what a
///   subscriber kept from before (a cache entry is dropped now);
/// - again once the transaction has ended, so that what a subscriber read
///   in between (before the commit) is dropped too. On **Postgres** it is
///   `SELECT pg_notify(…)` on that connection: Postgres delivers it to
///   every process's listener, this one's too, when the transaction
///   commits, and drops it on a rollback. On **SQLite** a task waits until
///   the database's writer is done (the publishing transaction holds the
///   write lock until it commits or rolls back), then delivers it.
///
/// Which database `conn` is on is not known here, so every hub of this
/// process has it (a subscriber reads again for nothing, at worst).
/// `payload` must not contain a space (that would read as the
/// `<instance>:<seq> <payload>` form of [`publish`]).
pub async fn publish_in(
    conn: &mut sqlx::AnyConnection,
    channel: &str,
    payload: &str,
) -> Result<(), sqlx::Error> {
    if !valid_channel(channel) || payload.len() > MAX_PAYLOAD || payload.contains(' ') {
        return Err(sqlx::Error::Protocol(format!(
            "invalid event: channel {channel:?}, payload {payload:?}"
        )));
    }
    for hub in hubs_where(|_| true) {
        hub.deliver(channel, Event::Message(payload.to_string()));
    }
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        for hub in hubs_where(|h| h.sqlite.is_some()) {
            let (channel, payload) = (channel.to_string(), payload.to_string());
            rocket::tokio::spawn(async move {
                hub.after_writer().await;
                hub.deliver(&channel, Event::Message(payload));
            });
        }
        return Ok(());
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The stage: starts this app's [`Events`] on its database (once the pool
/// is up: the pool's own fairing is attached when `db::stage` ignites) and
/// manages it.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Events", |rocket| async {
        rocket.attach(AdHoc::try_on_ignite("Events listener", |rocket| async {
            let Some(db) = Db::fetch(&rocket) else {
                return Err(rocket);
            };
            let events = Events::start(db);
            Ok(rocket.manage(events))
        }))
    })
}
