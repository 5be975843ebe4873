//! The database pool (sqlx `Any`, so one binary speaks SQLite and Postgres),
//! migrations, and the few helpers that differ by backend.

use std::time::Duration;

use rocket::fairing::{self, AdHoc};
use rocket::figment::Figment;
use rocket::{Build, Rocket};
use rocket_db_pools::Database;
use sqlx::any::{AnyPoolOptions, AnyQueryResult};
use sqlx::error::DatabaseError;
use sqlx::pool::PoolConnection;
use sqlx::{Any, Executor, Transaction};

mod pool;
pub use pool::{Pool, PING_AFTER_IDLE};

/// Which SQL engine the pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, or an error for anything else.
    pub fn from_url(url: &str) -> Result<Backend, sqlx::Error> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(sqlx::Error::Configuration(
                format!(
                    "unsupported database URL (use sqlite:// or postgres://): {}",
                    redact(url)
                )
                .into(),
            ))
        }
    }
}

/// Our pool: sqlx's `AnyPool` with warm connections ([`Pool`]), plus the
/// backend it was opened on.
#[derive(Clone)]
pub struct DbPool {
    pub pool: Pool,
    pub backend: Backend,
    /// The URL it was opened on (the events module listens on it).
    pub url: std::sync::Arc<str>,
    /// A number unique to this pool in this process: which app's events
    /// a publish belongs to.
    pub instance: u64,
}

impl std::ops::Deref for DbPool {
    type Target = Pool;
    fn deref(&self) -> &Pool {
        &self.pool
    }
}

/// The application database, `databases.main` in the configuration.
#[derive(Database)]
#[database("main")]
pub struct Db(DbPool);

/// Connection settings, the same keys rocket_db_pools documents.
pub type DbConfig = rocket_db_pools::Config;

/// Open a pool: WAL and a busy timeout on SQLite, a short acquire timeout so
/// an unreachable database answers 503 quickly instead of hanging.
pub async fn connect(config: &DbConfig) -> Result<DbPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let backend = Backend::from_url(&config.url)?;
    let mut options = AnyPoolOptions::new()
        .max_connections(config.max_connections as u32)
        .min_connections(config.min_connections.unwrap_or(0))
        .acquire_timeout(Duration::from_secs(config.connect_timeout))
        .idle_timeout(config.idle_timeout.map(Duration::from_secs))
        // sqlx pings every connection it hands out, which on a busy site
        // is a second round trip for each query (on SQLite, two more
        // hand-offs to the connection's worker thread): bench/RESULTS.md
        // measured a lone `SELECT 1` page at a quarter of a page without
        // one. A connection used within the last half second is known to
        // work; only one that sat idle longer is pinged first (HikariCP's
        // "alive bypass window"), so a connection a database restart
        // killed meanwhile is replaced instead of failing a request. One
        // that breaks during a request is dropped by sqlx's check when it
        // is returned.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        });
    if backend == Backend::Sqlite {
        options = options.after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .await?;
                Ok(())
            })
        });
    }
    let pool = Pool::new(options.connect(&config.url).await?);
    static INSTANCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    // Random high bits per process: the events listener drops notifications
    // carrying its own instance as its own echo, so two processes on one
    // database must never share one (a bare counter gave both "1", and each
    // ignored the other's announcements).
    static PROCESS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let process = *PROCESS.get_or_init(|| u64::from(rand::random::<u32>()) << 32);
    Ok(DbPool {
        pool,
        backend,
        url: config.url.as_str().into(),
        instance: process | INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    })
}

#[rocket::async_trait]
impl rocket_db_pools::Pool for DbPool {
    type Connection = PoolConnection<Any>;
    type Error = sqlx::Error;

    async fn init(figment: &Figment) -> Result<Self, Self::Error> {
        let config: DbConfig = figment
            .extract()
            .map_err(|e| sqlx::Error::Configuration(e.into()))?;
        connect(&config).await
    }

    async fn get(&self) -> Result<Self::Connection, Self::Error> {
        self.pool.acquire().await
    }

    /// Rocket calls this as soon as shutdown *begins*, while requests are
    /// still in flight: closing here would fail them. The binary closes the
    /// pool after the server has returned (`main.rs`), and a dropped pool
    /// closes its connections anyway.
    async fn close(&self) {}
}

/// Apply the migrations for the pool's backend.
pub async fn migrate(db: &DbPool) -> Result<(), sqlx::migrate::MigrateError> {
    match db.backend {
        Backend::Sqlite => {
            sqlx::migrate!("migrations/sqlite")
                .run(db.pool.sqlx())
                .await
        }
        Backend::Postgres => {
            sqlx::migrate!("migrations/postgres")
                .run(db.pool.sqlx())
                .await
        }
    }
}

/// The pool and migrations, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Database", |rocket| async {
        rocket
            .attach(Db::init())
            .attach(AdHoc::try_on_ignite("Migrations", run_migrations))
    })
}

async fn run_migrations(rocket: Rocket<Build>) -> fairing::Result {
    let Some(db) = Db::fetch(&rocket) else {
        return Err(rocket);
    };
    match migrate(db).await {
        Ok(()) => Ok(rocket),
        Err(e) => {
            log::error!("database migrations failed: {e}");
            Err(rocket)
        }
    }
}

/// Seconds since the Unix epoch: every timestamp we store.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A database URL with any password replaced, fit for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Start a transaction that writes: use it instead of `pool.begin()`.
///
/// On SQLite it is `BEGIN IMMEDIATE`, which takes the write lock at once
/// (waiting up to the busy timeout for another writer to finish). A plain,
/// deferred transaction that reads and then writes must upgrade its lock,
/// and that upgrade fails at once with "database is locked" when another
/// writer got in between: no busy timeout helps it. On Postgres this is a
/// plain `BEGIN`.
pub async fn begin_write(db: &DbPool) -> Result<Transaction<'static, Any>, sqlx::Error> {
    match db.backend {
        Backend::Sqlite => db.pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => db.pool.begin().await,
    }
}

/// Whether an error means "busy, try again": SQLite's `SQLITE_BUSY` or
/// `SQLITE_LOCKED` (any extended code: "database is locked"), or a Postgres
/// deadlock, serialization failure or lock timeout. Such an error answers
/// 503 with `Retry-After`, never 500.
pub fn is_busy(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(d) = e else {
        return false;
    };
    if let Some(sqlite) = d.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        // Extended result codes keep the primary code in the low byte.
        let code = sqlite.code().and_then(|c| c.parse::<i32>().ok());
        return code.is_some_and(|c| matches!(c & 0xff, 5 | 6));
    }
    matches!(d.code().as_deref(), Some("40001" | "40P01" | "55P03"))
}

/// Whether the database server itself is away: the connection was ended
/// (an administrator, a restart, a crash: SQLSTATE class 08 and 57P), the
/// server is out of connections (53300), or it refuses connections to the
/// database for now (55000 "not currently accepting connections"). Such an
/// error answers 503, never 500: the request can be tried again once the
/// server is back, and the pool replaces the broken connection.
pub fn is_unreachable(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(d) = e else {
        return false;
    };
    match d.code().as_deref() {
        Some(code) if code.starts_with("08") || code.starts_with("57P") => true,
        Some("53300") => true,
        Some("55000") => d.message().contains("accepting connections"),
        _ => false,
    }
}

/// Whether an error is a unique-constraint violation.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// How many rows a statement touched.
pub fn affected(r: &AnyQueryResult) -> u64 {
    r.rows_affected()
}

/// A search's substring test: `expr`, case-folded, contains the text bound
/// at `param` (bind [`search_text`]; an empty text matches everything).
///
/// Not `lower(expr) LIKE '%…%'`: SQLite may plan a LIKE by its pattern, so
/// a statement whose pattern is a parameter is marked expired whenever a
/// value is bound to it, and was parsed and planned again on every
/// execution instead of coming from the statement cache (perf on `/users`:
/// SQLite's parser and planner, on every request). A position test has no
/// such dependency, and no character in the text is special, so nothing
/// needs escaping.
pub fn contains(backend: Backend, expr: &str, param: &str) -> String {
    let position = match backend {
        Backend::Sqlite => "instr",
        Backend::Postgres => "strpos",
    };
    format!("{position}(lower({expr}), {param}) > 0")
}

/// Ids as a SQL list (`1,2,3`) for `IN (…)`: integers formatted here, never
/// text from a request, so nothing needs binding.
pub fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// What a search's [`contains`] looks for: the text trimmed and
/// case-folded, NUL dropped (it never occurs in stored text, and Postgres
/// refuses it in a query).
pub fn search_text(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|&c| c != '\0')
        .collect()
}

/// A count asked together with a short list in one round trip: the rows of
/// `SELECT NULL AS tag, COUNT(*) AS n … UNION ALL SELECT tag, n …`. The row
/// without a tag is the count; the others are the list, in no order (a
/// `UNION ALL` promises none: the caller sorts).
pub fn count_and_tags(rows: Vec<(Option<String>, i64)>) -> (i64, Vec<(String, i64)>) {
    let mut total = 0;
    let mut tags = Vec::new();
    for (tag, n) in rows {
        match tag {
            Some(tag) => tags.push((tag, n)),
            None => total = n,
        }
    }
    (total, tags)
}

/// The tags of each of `ids`, alphabetically, from a tag table such as
/// `note_tags (note_id, tag)`: one query however many ids (keep the list
/// to a page's worth). `table` and `key` are names from our own code.
pub async fn tags_of(
    db: &DbPool,
    table: &str,
    key: &str,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<String>>, sqlx::Error> {
    let mut tags: std::collections::HashMap<i64, Vec<String>> = Default::default();
    if ids.is_empty() {
        return Ok(tags);
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {key}, tag FROM {table} WHERE {key} IN ({}) ORDER BY tag",
        placeholders.join(", ")
    );
    let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    for (id, tag) in q.fetch_all(&db.pool).await? {
        tags.entry(id).or_default().push(tag);
    }
    Ok(tags)
}
