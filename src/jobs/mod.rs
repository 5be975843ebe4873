//! Durable background jobs: a `jobs` table that every app process shares, a
//! worker per process that claims due jobs one at a time under a lease,
//! runs the handler registered for the job's kind, retries failures with
//! exponential backoff and gives a job up ("dead") after its last attempt.
//! Recurring kinds queue their own next run. See docs/jobs.md.
//!
//! This module knows no feature: features register their kinds in the
//! [`Registry`] when the app starts (mail delivery does, in `mail::stage`).

mod prune;
pub mod queue;
mod registry;
mod worker;

pub use queue::{enqueue, Job, NewJob, Outcome};
pub use registry::{Handler, HandlerFuture, JobError, Policy, Registry};
pub use worker::{backoff, handler_budget, Wakeup};

use rocket::fairing::AdHoc;
use serde::{Deserialize, Serialize};

use crate::config::AppConfig;

/// The `jobs` table of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct JobsConfig {
    /// Run a worker in this process.
    pub worker: bool,
    /// Longest wait, in seconds, between looks at the queue when nothing
    /// wakes the worker (jobs queued by other processes are found then).
    pub poll_interval: f64,
    /// Seconds a worker holds a claimed job; after that another may take
    /// it over. A handler is stopped after 90% of it.
    pub lease: i64,
    /// Seconds between two runs of the clean-up job.
    pub prune_interval: i64,
    /// Days a sent mail is kept in the outbox (0: forever).
    pub sent_mail_retention_days: i64,
    /// Days a contact message is kept (0: forever).
    pub contact_retention_days: i64,
    /// Days a finished job is kept on record (0: forever).
    pub done_job_retention_days: i64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            worker: true,
            poll_interval: 5.0,
            lease: 120,
            prune_interval: 3600,
            sent_mail_retention_days: 30,
            contact_retention_days: 365,
            done_job_retention_days: 7,
        }
    }
}

impl JobsConfig {
    fn check(&self) -> Result<(), String> {
        if self.lease < 2 {
            return Err("jobs.lease must be at least 2 seconds".into());
        }
        if self.poll_interval.is_nan() || self.poll_interval <= 0.0 {
            return Err("jobs.poll_interval must be positive".into());
        }
        if self.prune_interval < 1 {
            return Err("jobs.prune_interval must be positive".into());
        }
        Ok(())
    }
}

/// The clean-up job's retry policy: it runs again within the hour anyway.
const PRUNE_POLICY: Policy = Policy {
    max_attempts: 3,
    retry_base: 60.0,
    retry_max: 600.0,
};

/// The jobs system, as a Rocket stage: the registry and wake-up signal
/// (attach before the features that register kinds), the settings, the
/// clean-up job, and the worker once the server is up.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Jobs", |rocket| async {
        rocket
            .manage(Registry::default())
            .manage(Wakeup::default())
            .attach(AdHoc::try_on_ignite("Jobs settings", |rocket| async {
                let cfg: JobsConfig = match crate::config::section(rocket.figment(), "jobs") {
                    Ok(cfg) => cfg,
                    Err(e) => {
                        log::error!("invalid jobs settings: {e}");
                        return Err(rocket);
                    }
                };
                if let Err(problem) = cfg.check() {
                    log::error!("refusing to start: {problem}");
                    return Err(rocket);
                }
                let (Some(app), Some(registry)) =
                    (rocket.state::<AppConfig>(), rocket.state::<Registry>())
                else {
                    return Err(rocket);
                };
                let retention = prune::Retention::new(&cfg, app);
                registry.recurring(
                    prune::KIND,
                    cfg.prune_interval,
                    PRUNE_POLICY,
                    move |conn, _job| {
                        let retention = retention.clone();
                        Box::pin(async move {
                            let n = prune::run(conn, &retention).await?;
                            log::info!("clean-up: {n} old row(s) deleted");
                            Ok(())
                        })
                    },
                );
                Ok(rocket.manage(cfg))
            }))
            .attach(AdHoc::on_liftoff("Jobs worker", |rocket| {
                Box::pin(async move { worker::spawn(rocket) })
            }))
    })
}
