//! The pool every query goes through: sqlx's pool, plus a stack of "warm"
//! connections that one-shot queries hand back without sqlx's release ping.
//!
//! Why: sqlx pings every connection it gets back (`PoolConnection`'s drop
//! spawns a task that sends a ping before the connection is idle again).
//! On Postgres that is a second network round trip for each query; on
//! SQLite two more hand-offs to the connection's worker thread, each a
//! context switch. `bench/RESULTS.md` measured a page whose only work is
//! `SELECT 1` at a third of a page without one, and the pings were half of
//! its context switches. The ping is there for connections whose query was
//! cut off half way (a dropped future); a query that ran to its end leaves
//! nothing behind, so here:
//!
//! - a one-shot query (`query.fetch_all(&db.pool)` and the like: the
//!   [`Executor`] below) takes a warm connection if there is one, and puts
//!   it back on the warm stack **only when the query finished**, with or
//!   without a database error. Cut off, or when the connection failed, it
//!   goes back to sqlx, which pings or closes it as before;
//! - a connection held explicitly ([`Pool::acquire`], transactions) takes a
//!   warm one too, and goes back through sqlx when dropped;
//! - a warm connection idle for longer than [`PING_AFTER_IDLE`] is pinged
//!   before use, as sqlx's own acquire does here (`before_acquire` in
//!   `connect`), so one that a database restart killed meanwhile is
//!   replaced instead of failing a request;
//! - a caller that finds the stack empty queues for the next connection
//!   put back, first come first served, and one task asks sqlx's pool for
//!   connections while anyone queues: a new one (up to the pool's size),
//!   one an explicit holder gave back to sqlx, or sqlx's error for the
//!   first caller queued (when the database is away, each attempt fails
//!   at once, so every caller queued hears so quickly). So on a busy site,
//!   where every connection is in use and requests queue for them,
//!   connections pass from one query to the next without going back
//!   through sqlx, and the pool still grows to its size. (Each caller
//!   asking sqlx itself, and giving up when a warm connection came first,
//!   was measured: the give-up cancelled connections being opened, so the
//!   pool stayed at one connection, and Postgres pages fell to a quarter.)
//!
//! Warm connections stay checked out of sqlx's pool, so `size()` counts them
//! and `num_idle()` adds them to sqlx's idle ones.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rocket::futures::future::BoxFuture;
use rocket::futures::stream::{self, BoxStream};
use rocket::futures::{StreamExt, TryStreamExt};
use rocket::tokio::sync::oneshot;
use sqlx::any::{AnyQueryResult, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Connection, Describe, Either, Execute, Executor, Transaction};

/// A connection idle for longer than this is pinged before use.
pub const PING_AFTER_IDLE: Duration = Duration::from_millis(500);

/// sqlx's pool and the warm stack (see the module's documentation).
#[derive(Clone)]
pub struct Pool {
    inner: AnyPool,
    state: Arc<Mutex<State>>,
}

type Handoff = oneshot::Sender<Result<PoolConnection<Any>, sqlx::Error>>;

#[derive(Default)]
struct State {
    /// Most recently used last: the next query takes the warmest.
    warm: Vec<Warm>,
    /// Callers queued for a connection, first come first served.
    waiters: VecDeque<Handoff>,
    /// Whether the task asking sqlx for connections runs.
    growing: bool,
}

struct Warm {
    conn: PoolConnection<Any>,
    since: Instant,
}

impl Pool {
    pub fn new(inner: AnyPool) -> Pool {
        Pool {
            inner,
            state: Arc::default(),
        }
    }

    /// sqlx's pool itself, for what needs its type (migrations).
    pub fn sqlx(&self) -> &AnyPool {
        &self.inner
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection: the warmest one kept, else the next one put back or
    /// opened, within the acquire timeout.
    pub async fn acquire(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        let deadline =
            rocket::tokio::time::Instant::now() + self.inner.options().get_acquire_timeout();
        loop {
            let queued = {
                let mut state = self.state();
                match state.warm.pop() {
                    Some(warm) => Ok(warm),
                    None => {
                        let (tx, rx) = oneshot::channel();
                        state.waiters.push_back(tx);
                        if !state.growing {
                            state.growing = true;
                            rocket::tokio::spawn(self.clone().grow());
                        }
                        Err(rx)
                    }
                }
            };
            match queued {
                Ok(Warm { mut conn, since }) => {
                    if since.elapsed() <= PING_AFTER_IDLE || conn.ping().await.is_ok() {
                        return Ok(conn);
                    }
                    // Broken while it sat here: close it, try the next.
                    conn.close_on_drop();
                }
                Err(rx) => {
                    return match rocket::tokio::time::timeout_at(deadline, rx).await {
                        Ok(Ok(handed)) => handed,
                        // The pool closed with us in the queue.
                        Ok(Err(_)) => Err(sqlx::Error::PoolClosed),
                        Err(_) => Err(sqlx::Error::PoolTimedOut),
                    };
                }
            }
        }
    }

    /// While anyone queues: ask sqlx's pool for a connection and hand it on.
    async fn grow(self) {
        // However the task ends (even dropped with its runtime), the next
        // caller to queue starts another.
        struct Ended(Option<Pool>);
        impl Drop for Ended {
            fn drop(&mut self) {
                if let Some(pool) = self.0.take() {
                    pool.state().growing = false;
                }
            }
        }
        let mut ended = Ended(Some(self.clone()));
        loop {
            match self.inner.acquire().await {
                Ok(conn) => self.keep(conn),
                // Every connection is in use: the queue is served as they
                // come back; ask again.
                Err(sqlx::Error::PoolTimedOut) => {}
                // No connection could be opened (the database is away, or
                // out of connections): the first caller queued gets the
                // error, as it would from sqlx itself; the others wait for
                // a connection in use to come back, or get the next
                // attempt's error (at once, when the database is away).
                Err(e) => {
                    let mut error = Err(e);
                    let mut state = self.state();
                    while let Some(waiter) = state.waiters.pop_front() {
                        match waiter.send(error) {
                            Ok(()) => break,
                            Err(back) => error = back,
                        }
                    }
                }
            }
            let mut state = self.state();
            state.waiters.retain(|w| !w.is_closed());
            if state.waiters.is_empty() || self.inner.is_closed() {
                // Under the lock, so a caller queueing now starts another.
                state.growing = false;
                ended.0 = None;
                return;
            }
        }
    }

    /// A connection whose last query ran to its end: to the first caller
    /// queued, else onto the warm stack.
    fn keep(&self, mut conn: PoolConnection<Any>) {
        if self.inner.is_closed() {
            return;
        }
        let mut state = self.state();
        while let Some(waiter) = state.waiters.pop_front() {
            match waiter.send(Ok(conn)) {
                Ok(()) => return,
                // That caller gave up waiting: the next.
                Err(back) => match back {
                    Ok(c) => conn = c,
                    Err(_) => return,
                },
            }
        }
        state.warm.push(Warm {
            conn,
            since: Instant::now(),
        });
    }

    /// A transaction on a connection of our own (sqlx's `Pool::begin`).
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        Transaction::begin(self.acquire().await?, None).await
    }

    /// A transaction opened with `statement`, e.g. `BEGIN IMMEDIATE`.
    pub async fn begin_with(
        &self,
        statement: &'static str,
    ) -> Result<Transaction<'static, Any>, sqlx::Error> {
        Transaction::begin(self.acquire().await?, Some(statement.into())).await
    }

    /// Connections open, in use and idle (warm ones included).
    pub fn size(&self) -> u32 {
        self.inner.size()
    }

    /// Idle connections: sqlx's and the warm stack.
    pub fn num_idle(&self) -> usize {
        self.inner.num_idle() + self.state().warm.len()
    }

    /// Close every connection, waiting for those in use; callers queued
    /// get `PoolClosed`.
    pub async fn close(&self) {
        let closing = self.inner.close();
        let (warm, waiters) = {
            let mut state = self.state();
            (
                std::mem::take(&mut state.warm),
                std::mem::take(&mut state.waiters),
            )
        };
        drop(warm);
        drop(waiters);
        closing.await;
    }

    /// After a one-shot statement: keep the connection warm if its
    /// exchange ran to the end (an error from the database ends it too),
    /// else let sqlx check it (a broken connection, a decoding error…).
    fn finish<T>(&self, conn: PoolConnection<Any>, result: &Result<T, sqlx::Error>) {
        match result {
            Ok(_) | Err(sqlx::Error::Database(_)) => self.keep(conn),
            Err(_) => drop(conn),
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.size())
            .field("idle", &self.num_idle())
            .finish_non_exhaustive()
    }
}

impl<'p> Executor<'p> for &'_ Pool {
    type Database = Any;

    /// The whole result, then its items: every caller collects them anyway
    /// (`fetch_all`, `execute`), and holding no borrow of the connection
    /// lets it go back warm before the first item is read.
    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Any>,
    {
        let pool = self.clone();
        stream::once(async move {
            let mut conn = pool.acquire().await?;
            let result = conn.fetch_many(query).try_collect::<Vec<_>>().await;
            pool.finish(conn, &result);
            result
        })
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Any>,
    {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            let result = conn.fetch_optional(query).await;
            pool.finish(conn, &result);
            result
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::any::AnyTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::any::AnyStatement<'q>, sqlx::Error>> {
        let pool = self.clone();
        Box::pin(async move { pool.acquire().await?.prepare_with(sql, parameters).await })
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>> {
        let pool = self.clone();
        Box::pin(async move { pool.acquire().await?.describe(sql).await })
    }
}
