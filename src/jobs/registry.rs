//! What each job kind runs, registered by the features that use jobs when
//! the app starts, so this module never needs to know them.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use sqlx::AnyConnection;

use super::queue::Job;
use crate::error::AppError;

/// Why a run failed, and whether trying again could help.
#[derive(Debug, Clone)]
pub struct JobError {
    /// No point in trying again: the job is given up at once.
    pub permanent: bool,
    pub message: String,
}

impl JobError {
    /// A failure worth another attempt later.
    pub fn retry(message: impl Into<String>) -> JobError {
        JobError {
            permanent: false,
            message: message.into(),
        }
    }

    /// A failure that another attempt would not change.
    pub fn permanent(message: impl Into<String>) -> JobError {
        JobError {
            permanent: true,
            message: message.into(),
        }
    }
}

impl From<AppError> for JobError {
    fn from(e: AppError) -> Self {
        JobError::retry(e.to_string())
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::retry(format!("database: {e}"))
    }
}

/// What a handler returns.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'a>>;

/// A handler: an async function of the worker's connection and the job.
/// The connection is the one the job was claimed on: it stays usable while
/// the app shuts down, so a job in hand can still be recorded.
pub type Handler =
    Arc<dyn for<'a> Fn(&'a mut AnyConnection, Job) -> HandlerFuture<'a> + Send + Sync>;

/// How a kind is retried.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts before a job is given up (unless the job sets its own).
    pub max_attempts: i64,
    /// First retry delay in seconds; doubles with each attempt, with jitter.
    pub retry_base: f64,
    /// Longest retry delay in seconds.
    pub retry_max: f64,
}

/// A registered kind.
#[derive(Clone)]
pub struct Kind {
    pub handler: Handler,
    pub policy: Policy,
    /// Seconds between runs of a recurring kind.
    pub every: Option<i64>,
}

/// Every kind this process runs, managed as Rocket state by the jobs stage.
/// Features register theirs in their own ignite fairing; the worker reads
/// the registry once the server is up.
#[derive(Default)]
pub struct Registry {
    kinds: Mutex<BTreeMap<String, Kind>>,
}

impl Registry {
    /// Run jobs of `kind` with `handler`:
    /// `registry.register("mail", policy, |conn, job| Box::pin(deliver(conn, job)))`.
    pub fn register<F>(&self, kind: &str, policy: Policy, handler: F)
    where
        F: for<'a> Fn(&'a mut AnyConnection, Job) -> HandlerFuture<'a> + Send + Sync + 'static,
    {
        self.insert(kind, policy, Arc::new(handler), None);
    }

    /// Run `kind` every `seconds`: one waiting job of the kind is kept in
    /// the queue (its unique key is the kind's name), and each run, however
    /// it ends, queues the next.
    pub fn recurring<F>(&self, kind: &str, seconds: i64, policy: Policy, handler: F)
    where
        F: for<'a> Fn(&'a mut AnyConnection, Job) -> HandlerFuture<'a> + Send + Sync + 'static,
    {
        self.insert(kind, policy, Arc::new(handler), Some(seconds.max(1)));
    }

    fn insert(&self, kind: &str, policy: Policy, handler: Handler, every: Option<i64>) {
        let mut kinds = self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kinds.insert(
            kind.to_string(),
            Kind {
                handler,
                policy,
                every,
            },
        );
    }

    /// The registered kinds.
    pub fn snapshot(&self) -> BTreeMap<String, Kind> {
        self.kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
