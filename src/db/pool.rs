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
//! - a caller that finds the stack empty waits for whichever comes first:
//!   a connection from sqlx's pool, or one put back warm (which wakes one
//!   waiter). So on a busy site, where every connection is in use and
//!   requests queue for them, connections pass from one query to the next
//!   without going back through sqlx, and no one waits while a warm
//!   connection sits idle.
//!
//! Warm connections stay checked out of sqlx's pool, so `size()` counts them
//! and `num_idle()` adds them to sqlx's idle ones.

use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rocket::tokio::sync::Notify;

use rocket::futures::future::BoxFuture;
use rocket::futures::stream::{self, BoxStream};
use rocket::futures::{StreamExt, TryStreamExt};
use sqlx::any::{AnyQueryResult, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Connection, Describe, Either, Execute, Executor, Transaction};

/// A connection idle for longer than this is pinged before use.
pub const PING_AFTER_IDLE: Duration = Duration::from_millis(500);

/// sqlx's pool and the warm stack (see the module's documentation).
#[derive(Clone)]
pub struct Pool {
    inner: AnyPool,
    shared: Arc<Shared>,
}

struct Shared {
    /// Most recently used last: the next query takes the warmest.
    warm: Mutex<Vec<Warm>>,
    /// Wakes one caller waiting for a connection when one is put back.
    returned: Notify,
}

struct Warm {
    conn: PoolConnection<Any>,
    since: Instant,
}

impl Pool {
    pub fn new(inner: AnyPool) -> Pool {
        Pool {
            inner,
            shared: Arc::new(Shared {
                warm: Mutex::new(Vec::new()),
                returned: Notify::new(),
            }),
        }
    }

    /// sqlx's pool itself, for what needs its type (migrations).
    pub fn sqlx(&self) -> &AnyPool {
        &self.inner
    }

    fn pop(&self) -> Option<Warm> {
        self.shared
            .warm
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    /// A connection: the warmest one kept, else the first of one from
    /// sqlx's pool and one put back warm, within the acquire timeout.
    pub async fn acquire(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        let deadline =
            rocket::tokio::time::Instant::now() + self.inner.options().get_acquire_timeout();
        loop {
            // Listen before looking, so a connection put back in between
            // still wakes us.
            let mut returned = pin!(self.shared.returned.notified());
            returned.as_mut().enable();
            while let Some(Warm { mut conn, since }) = self.pop() {
                if since.elapsed() <= PING_AFTER_IDLE || conn.ping().await.is_ok() {
                    return Ok(conn);
                }
                // Broken while it sat here: close it, try the next.
                conn.close_on_drop();
            }
            let wait = async {
                rocket::tokio::select! {
                    got = self.inner.acquire() => Some(got),
                    () = &mut returned => None,
                }
            };
            match rocket::tokio::time::timeout_at(deadline, wait).await {
                Ok(Some(got)) => return got,
                // One was put back: take it (unless someone was quicker).
                Ok(None) => {}
                Err(_) => return Err(sqlx::Error::PoolTimedOut),
            }
        }
    }

    /// Put a connection whose last query ran to its end on the warm stack,
    /// and wake one caller waiting for a connection.
    fn keep(&self, conn: PoolConnection<Any>) {
        if self.inner.is_closed() {
            return;
        }
        self.shared
            .warm
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Warm {
                conn,
                since: Instant::now(),
            });
        self.shared.returned.notify_one();
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
        let warm = self
            .shared
            .warm
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        self.inner.num_idle() + warm
    }

    /// Close every connection, waiting for those in use.
    pub async fn close(&self) {
        let warm: Vec<Warm> = std::mem::take(
            &mut *self
                .shared
                .warm
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let closing = self.inner.close();
        drop(warm);
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
