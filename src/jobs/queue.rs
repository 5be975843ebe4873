//! The `jobs` table: enqueueing, claiming under a lease, and finishing only
//! while the lease is still ours.

use serde::Serialize;
use sqlx::AnyConnection;

use crate::db::{is_unique_violation, now, Backend, DbPool};
use crate::error::{AppError, AppResult};
use crate::events;

/// A job to be queued.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Which handler runs it.
    pub kind: String,
    /// The handler's input, as JSON text.
    pub payload: String,
    /// When it is due (unix seconds).
    pub run_at: i64,
    /// Attempts before it is given up (None: the kind's own limit).
    pub max_attempts: Option<i64>,
    /// At most one waiting or running job holds a given key.
    pub unique_key: Option<String>,
}

impl NewJob {
    /// A job of `kind` with `payload` serialised to JSON, due now.
    pub fn new(kind: &str, payload: &impl Serialize) -> AppResult<NewJob> {
        let payload = serde_json::to_string(payload)
            .map_err(|e| AppError::Internal(format!("job payload: {e}")))?;
        Ok(NewJob {
            kind: kind.to_string(),
            payload,
            run_at: now(),
            max_attempts: None,
            unique_key: None,
        })
    }

    /// Due at `run_at` instead of now.
    pub fn at(mut self, run_at: i64) -> NewJob {
        self.run_at = run_at;
        self
    }

    /// Not queued when a waiting or running job already holds `key`.
    pub fn unique(mut self, key: &str) -> NewJob {
        self.unique_key = Some(key.to_string());
        self
    }

    /// Give up after `n` attempts.
    pub fn max_attempts(mut self, n: i64) -> NewJob {
        self.max_attempts = Some(n);
        self
    }
}

/// Queue `job` on the caller's connection or transaction, so it commits
/// with whatever caused it. None when its unique key is already taken.
pub async fn enqueue(conn: &mut AnyConnection, job: &NewJob) -> AppResult<Option<i64>> {
    let t = now();
    let id = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, unique_key, state, run_at, attempts, max_attempts, created_at, updated_at) \
         VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6, $6) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(job.unique_key.as_deref())
    .bind(job.run_at)
    .bind(job.max_attempts)
    .bind(t)
    .fetch_optional(&mut *conn)
    .await?;
    if id.is_some() {
        counts_changed(conn).await?;
    }
    Ok(id)
}

/// Announce that the jobs' figures changed, with the caller's write
/// (see [`events::COUNTS`]).
async fn counts_changed(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    events::publish_in(conn, events::COUNTS, "jobs").await
}

/// A claimed job, as its handler receives it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub max_attempts: Option<i64>,
    /// This claim's token: finishing needs it.
    pub lease_owner: String,
}

impl Job {
    /// The payload, parsed.
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_str(&self.payload).map_err(|e| format!("bad payload: {e}"))
    }
}

/// Take the first due job of one of `kinds`, including one whose worker's
/// lease lapsed, for `lease` seconds under the token `owner`. One job at a
/// time, so a worker never holds more than it can finish within its lease.
///
/// On Postgres the row is locked with `SKIP LOCKED`, so workers never wait
/// for or take each other's rows; on SQLite the single UPDATE runs under
/// the database's write lock, which serialises claims.
pub async fn claim(
    conn: &mut AnyConnection,
    backend: Backend,
    kinds: &[String],
    owner: &str,
    lease: i64,
) -> AppResult<Option<Job>> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let list: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 4)).collect();
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, lease_until = $2, \
         updated_at = $3 \
         WHERE id = (SELECT id FROM jobs WHERE kind IN ({}) \
                     AND ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until < $3)) \
                     ORDER BY run_at, id LIMIT 1 {lock}) \
         RETURNING id, kind, payload, attempts, max_attempts, lease_owner",
        list.join(", ")
    );
    let t = now();
    let mut q = sqlx::query_as::<_, Job>(&sql)
        .bind(owner)
        .bind(t + lease)
        .bind(t);
    for kind in kinds {
        q = q.bind(kind);
    }
    Ok(q.fetch_optional(conn).await?)
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Try again at this time, after this error.
    Retry(i64, String),
    /// Given up, after this error.
    Dead(String),
}

/// Record how `job`'s run ended, if its claim still holds: a worker whose
/// lease lapsed (and so may have been taken over) changes nothing. Returns
/// whether the row was updated.
pub async fn finish(conn: &mut AnyConnection, job: &Job, outcome: &Outcome) -> AppResult<bool> {
    let (state, run_at, error) = match outcome {
        Outcome::Done => ("done", None, None),
        Outcome::Retry(at, e) => ("queued", Some(*at), Some(e.as_str())),
        Outcome::Dead(e) => ("dead", None, Some(e.as_str())),
    };
    let r = sqlx::query(
        "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), last_error = COALESCE($3, last_error), \
         lease_owner = NULL, lease_until = NULL, updated_at = $4 \
         WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
    )
    .bind(state)
    .bind(run_at)
    .bind(error)
    .bind(now())
    .bind(job.id)
    .bind(&job.lease_owner)
    .execute(&mut *conn)
    .await?;
    let finished = r.rows_affected() == 1;
    if finished {
        counts_changed(conn).await?;
    }
    Ok(finished)
}

/// Queue a waiting or given-up job to run now (an admin's "retry"). A job
/// that was given up starts its attempts afresh. False when the job is
/// running, done or not there; a conflict when a job with the same unique
/// key is already waiting.
pub async fn retry_now(db: &DbPool, id: i64) -> AppResult<bool> {
    let r = sqlx::query(
        "UPDATE jobs SET attempts = CASE WHEN state = 'dead' THEN 0 ELSE attempts END, \
         state = 'queued', run_at = $1, updated_at = $1 WHERE id = $2 AND state IN ('queued', 'dead')",
    )
    .bind(now())
    .bind(id)
    .execute(&db.pool)
    .await;
    match r {
        Ok(r) if r.rows_affected() > 0 => {
            events::publish(db, events::COUNTS, "jobs").await?;
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(e) if is_unique_violation(&e) => Err(AppError::Conflict(
            "A job of the same kind is already waiting to run.".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// When the next of `kinds` is due: the earliest waiting job, or a running
/// one whose lease will lapse. None when there is nothing.
pub async fn next_due(db: &DbPool, kinds: &[String]) -> AppResult<Option<i64>> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let list: Vec<String> = (1..=kinds.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT MIN(CASE WHEN state = 'queued' THEN run_at ELSE lease_until + 1 END) FROM jobs \
         WHERE kind IN ({}) AND state IN ('queued', 'running')",
        list.join(", ")
    );
    let mut q = sqlx::query_scalar::<_, Option<i64>>(&sql);
    for kind in kinds {
        q = q.bind(kind);
    }
    Ok(q.fetch_one(&db.pool).await?)
}

/// A job as the admin page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub state: String,
    pub run_at: i64,
    pub attempts: i64,
    pub max_attempts: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

/// The states a job can be in.
pub const STATES: [&str; 4] = ["queued", "running", "dead", "done"];

/// A page of the jobs in `state`, most recently changed first (how many
/// there are is [`counts`]'s).
pub async fn list(db: &DbPool, state: &str, limit: i64, offset: i64) -> AppResult<Vec<JobRow>> {
    Ok(sqlx::query_as(
        "SELECT id, kind, payload, state, run_at, attempts, max_attempts, lease_owner, lease_until, \
         last_error, updated_at FROM jobs WHERE state = $1 ORDER BY updated_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(state)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?)
}

/// How many jobs are in each state, in the order of [`STATES`].
pub async fn counts(db: &DbPool) -> AppResult<Vec<(&'static str, i64)>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
            .fetch_all(&db.pool)
            .await?;
    Ok(STATES
        .iter()
        .map(|s| {
            let n = rows.iter().find(|(r, _)| r == s).map_or(0, |(_, n)| *n);
            (*s, n)
        })
        .collect())
}
