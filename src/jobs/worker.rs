//! The worker: claims one due job at a time, runs its kind's handler within
//! the lease, and records the outcome only while the lease is still its own.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use rocket::futures::FutureExt;
use rocket::tokio::sync::Notify;
use rocket::{Orbit, Rocket};
use rocket_db_pools::Database;
use sqlx::Connection;

use super::queue::{self, Job, NewJob, Outcome};
use super::registry::{JobError, Kind, Policy, Registry};
use super::JobsConfig;
use crate::db::{now, Db, DbPool};
use crate::error::AppResult;

/// Wakes this process's worker when a job is queued, so it runs at once.
/// Only a shortcut: other processes find it on their next look.
#[derive(Default, Clone)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    /// Tell the worker there is work.
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

/// How long a handler may run: less than the lease, so that no other worker
/// can take the job over while it runs, with time left to record the result.
pub fn handler_budget(lease: i64) -> Duration {
    Duration::from_secs((lease - (lease / 10).max(1)).max(1) as u64)
}

/// Exponential backoff with ±50% jitter, in whole seconds (at least 1).
pub fn backoff(policy: &Policy, attempts: i64) -> i64 {
    let exp = policy.retry_base * 2f64.powi((attempts - 1).clamp(0, 30) as i32);
    let jitter = rand::thread_rng().gen_range(0.5..1.5);
    (exp.min(policy.retry_max) * jitter).round().max(1.0) as i64
}

/// What a run's result means for the job.
fn outcome(job: &Job, policy: &Policy, result: Result<(), JobError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Done,
        Err(e) => {
            let message: String = e.message.chars().take(2000).collect();
            let max = job.max_attempts.unwrap_or(policy.max_attempts);
            if e.permanent || job.attempts >= max {
                Outcome::Dead(message)
            } else {
                Outcome::Retry(now() + backoff(policy, job.attempts), message)
            }
        }
    }
}

/// Start the worker for a launched server; it stops when the server does.
pub fn spawn(rocket: &Rocket<Orbit>) {
    let (Some(db), Some(cfg), Some(registry), Some(wakeup)) = (
        Db::fetch(rocket),
        rocket.state::<JobsConfig>(),
        rocket.state::<Registry>(),
        rocket.state::<Wakeup>(),
    ) else {
        return;
    };
    if !cfg.worker {
        return;
    }
    let kinds = registry.snapshot();
    let worker = Worker {
        db: (**db).clone(),
        names: kinds.keys().cloned().collect(),
        kinds,
        cfg: cfg.clone(),
        id: format!(
            "{}-{:08x}",
            std::process::id(),
            rand::thread_rng().gen::<u32>()
        ),
        claims: AtomicU64::new(0),
        wakeup: wakeup.clone(),
        stop: Arc::new(AtomicBool::new(false)),
    };
    // At shutdown the worker finishes the job in hand and takes no other.
    let shutdown = rocket.shutdown();
    let stop = worker.stop.clone();
    let wake = worker.wakeup.clone();
    rocket::tokio::spawn(async move {
        shutdown.await;
        stop.store(true, Ordering::SeqCst);
        wake.notify();
    });
    rocket::tokio::spawn(async move { worker.run().await });
}

struct Worker {
    db: DbPool,
    kinds: BTreeMap<String, Kind>,
    names: Vec<String>,
    cfg: JobsConfig,
    /// This worker, in every lease it takes (`<id>#<claim number>`).
    id: String,
    claims: AtomicU64,
    wakeup: Wakeup,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    async fn run(&self) {
        let mut scheduled = false;
        while !self.stopping() {
            if !scheduled {
                match self.schedule().await {
                    Ok(()) => scheduled = true,
                    Err(e) => log::warn!("jobs: cannot schedule recurring jobs: {e}"),
                }
            }
            let busy = match self.tick().await {
                Ok(busy) => busy,
                Err(e) => {
                    log::warn!("jobs worker: {e}");
                    false
                }
            };
            if !busy && !self.stopping() {
                let wait = self.idle_time().await;
                let _ = rocket::tokio::time::timeout(wait, self.wakeup.0.notified()).await;
            }
        }
        log::info!("jobs worker stopped");
    }

    /// Until the next job is due, but no longer than the poll interval (jobs
    /// queued by other processes are found then).
    async fn idle_time(&self) -> Duration {
        let poll = self.cfg.poll_interval.max(0.05);
        let secs = match queue::next_due(&self.db, &self.names).await {
            Ok(Some(due)) => {
                let t = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                (due as f64 - t).clamp(0.05, poll)
            }
            _ => poll,
        };
        Duration::from_secs_f64(secs)
    }

    /// Keep one waiting job of each recurring kind (its unique key is the
    /// kind's name, so several processes queue it once).
    async fn schedule(&self) -> AppResult<()> {
        let mut conn = self.db.pool.acquire().await?;
        for (name, kind) in &self.kinds {
            if let Some(every) = kind.every {
                let job = NewJob::new(name, &serde_json::json!({}))?
                    .at(now() + every)
                    .unique(name);
                queue::enqueue(&mut conn, &job).await?;
            }
        }
        Ok(())
    }

    /// Claim and run one job; false when none was due.
    ///
    /// The job keeps one connection from claim to result, and its handler
    /// works on it. At shutdown the app's pool is closed at once and hands
    /// out no more connections; closing it waits for this one, so the job in
    /// hand can still be recorded (a mail sent is marked sent, not sent again).
    async fn tick(&self) -> AppResult<bool> {
        let mut conn = self.db.pool.acquire().await?;
        let owner = format!(
            "{}#{}",
            self.id,
            self.claims.fetch_add(1, Ordering::Relaxed)
        );
        let Some(job) = queue::claim(
            &mut conn,
            self.db.backend,
            &self.names,
            &owner,
            self.cfg.lease,
        )
        .await?
        else {
            return Ok(false);
        };
        let Some(kind) = self.kinds.get(&job.kind) else {
            return Ok(true);
        };
        let budget = handler_budget(self.cfg.lease);
        let run = AssertUnwindSafe((kind.handler)(&mut conn, job.clone())).catch_unwind();
        let (result, interrupted) = match rocket::tokio::time::timeout(budget, run).await {
            Ok(Ok(result)) => (result, false),
            Ok(Err(_)) => (Err(JobError::retry("the handler panicked")), true),
            Err(_) => (
                Err(JobError::retry(format!(
                    "did not finish within {}s",
                    budget.as_secs()
                ))),
                true,
            ),
        };
        if interrupted {
            // The handler may have stopped in the middle of a query.
            conn.close_on_drop();
            conn = self.db.pool.acquire().await?;
        }
        let outcome = outcome(&job, &kind.policy, result);
        match &outcome {
            Outcome::Done => log::debug!("job {} ({}) done", job.id, job.kind),
            Outcome::Retry(at, e) => log::info!(
                "job {} ({}) attempt {} failed, retry in {}s: {e}",
                job.id,
                job.kind,
                job.attempts,
                at - now()
            ),
            Outcome::Dead(e) => log::warn!(
                "job {} ({}) given up after {} attempt(s): {e}",
                job.id,
                job.kind,
                job.attempts
            ),
        }
        let mut tx = conn.begin().await?;
        if queue::finish(&mut tx, &job, &outcome).await? {
            if let Some(every) = kind.every {
                let next = NewJob::new(&job.kind, &serde_json::json!({}))?
                    .at(now() + every)
                    .unique(&job.kind);
                queue::enqueue(&mut tx, &next).await?;
            }
        } else {
            log::warn!(
                "job {} ({}): the lease was lost before the result was recorded",
                job.id,
                job.kind
            );
        }
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = Policy {
            max_attempts: 10,
            retry_base: 10.0,
            retry_max: 100.0,
        };
        let first = backoff(&policy, 1);
        assert!((5..=15).contains(&first), "{first}");
        let third = backoff(&policy, 3);
        assert!((20..=60).contains(&third), "{third}");
        assert!(backoff(&policy, 20) <= 150);
    }

    #[test]
    fn a_handler_always_has_less_time_than_its_lease() {
        assert_eq!(handler_budget(120), Duration::from_secs(108));
        assert_eq!(handler_budget(5), Duration::from_secs(4));
        assert_eq!(handler_budget(2), Duration::from_secs(1));
    }
}
