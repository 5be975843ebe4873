//! The dashboard's figures and the pages of the member list, the jobs and
//! the audit log, kept in this process, so that opening `/admin`, `/users`,
//! `/admin/jobs` or `/admin/audit` again asks the database nothing.
//!
//! The jobs' pages ([`JobsCache`]) are dropped by every job queued,
//! finished (done, retried later, given up), retried by an admin or pruned
//! (`jobs` and `prune` on [`events::COUNTS`]); a job being picked up
//! ("running") is not announced, so it may show as queued until it
//! finishes, for at most the entry's age (10 s). The audit log's pages
//! ([`AuditCache`]) are dropped by every entry written (`audit`, inside
//! the transaction that makes the change) and pruned.
//!
//! The member list ([`UsersCache`]) shows accounts, dropped by every change
//! to one (the session channel) and by a new one (`users` on
//! [`events::COUNTS`]). Its "last seen" column is written in batches, at
//! most once a minute per session, unannounced, as on the profile page: an
//! entry lives at most the session cache's age (10 s), which bounds how
//! much older it can look.
//!
//! They count users, contact messages and mail jobs, so the one entry is
//! dropped by every change to any of those:
//! - users: the session channel ([`crate::session::user_changed`]), which
//!   every change to an account announces (role, disabled, deleted);
//! - new accounts, jobs and contact messages: [`events::COUNTS`],
//!   announced inside the writing transaction by the accounts' insert, the
//!   jobs queue (queued, finished, retried, pruned) and the contact inbox
//!   (received, handled), and delivered when it commits
//!   (`events::publish_in`).
//!
//! Nothing here decides who may act, so the jobs queue does not wait for
//! other processes to hear it (a worker finishes jobs without pausing):
//! another process may show a figure from before a job finished for the
//! moment the notification takes to arrive. "Sign-ups this week" is
//! counted from the clock when the entry is made; an entry lives at most
//! the session cache's age (`session_cache_seconds`, 10 s; 0 turns it
//! off), which bounds that and rows changed by hand.

use std::sync::Arc;

use super::repo::{self, Sort, Stats, UserRow};
use crate::audit::{self, Entry};
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::events;
use crate::jobs::queue::{self, JobRow};
use crate::session;
use crate::web::member_cache::{drop_all, Drop, MemberCache, PER_MEMBER};

/// The per-process cache (managed state): one entry.
pub struct StatsCache(pub MemberCache<Stats>);

impl StatsCache {
    /// A cache with the session cache's age.
    pub fn new(cfg: &AppConfig) -> StatsCache {
        StatsCache(
            MemberCache::with_session_limits(events::COUNTS, drop_all, cfg, 1)
                .and(session::cache::CHANNEL, drop_all),
        )
    }

    /// The dashboard's figures: kept, or counted now.
    pub async fn get(&self, db: &DbPool) -> AppResult<Stats> {
        self.0
            .get_or(0, async { Ok((repo::stats(db).await?, Vec::new())) })
            .await
    }
}

/// A page of the member list: the rows and how many match.
pub type Users = Arc<(Vec<UserRow>, i64)>;

/// The member list's pages (managed state), by search, order, limit and
/// offset; shared by every admin (the list is the same for each).
pub struct UsersCache(pub MemberCache<Users, (String, Sort, i64, i64)>);

/// A new account (`users`) changes the list; the counts channel's other
/// messages (jobs, contact messages) do not.
fn read_counts(payload: &str) -> Vec<Drop> {
    on_counts(payload, &["users"])
}

impl UsersCache {
    /// A cache with the session cache's age, [`PER_MEMBER`] pages.
    pub fn new(cfg: &AppConfig) -> UsersCache {
        UsersCache(
            MemberCache::with_session_limits(session::cache::CHANNEL, drop_all, cfg, PER_MEMBER)
                .and(events::COUNTS, read_counts),
        )
    }

    /// The page `repo::list_users` gives: kept, or read now.
    pub async fn list(
        &self,
        db: &DbPool,
        q: &str,
        sort: Sort,
        (limit, offset): (i64, i64),
    ) -> AppResult<Users> {
        let load = async {
            let page = repo::list_users(db, q, sort, limit, offset).await?;
            Ok((Arc::new(page), Vec::new()))
        };
        self.0
            .get_or_at(0, (q.to_string(), sort, limit, offset), load)
            .await
    }
}

/// Drops everything on the counts channel's messages named here.
fn on_counts(payload: &str, names: &[&str]) -> Vec<Drop> {
    if names.contains(&payload) {
        vec![Drop::All]
    } else {
        Vec::new()
    }
}

/// A page of the jobs: each state's count and the page's rows.
pub type Jobs = Arc<(Vec<(&'static str, i64)>, Vec<JobRow>)>;

/// The jobs' pages (managed state), by state, limit and offset.
pub struct JobsCache(pub MemberCache<Jobs, (&'static str, i64, i64)>);

impl JobsCache {
    /// A cache with the session cache's age, [`PER_MEMBER`] pages.
    pub fn new(cfg: &AppConfig) -> JobsCache {
        JobsCache(MemberCache::with_session_limits(
            events::COUNTS,
            |p| on_counts(p, &["jobs", "prune"]),
            cfg,
            PER_MEMBER,
        ))
    }

    /// The counts and a page of the jobs in `state`: kept, or read now.
    pub async fn page(
        &self,
        db: &DbPool,
        state: &'static str,
        (limit, offset): (i64, i64),
    ) -> AppResult<Jobs> {
        let load = async {
            let counts = queue::counts(db).await?;
            let rows = queue::list(db, state, limit, offset).await?;
            Ok((Arc::new((counts, rows)), Vec::new()))
        };
        self.0.get_or_at(0, (state, limit, offset), load).await
    }
}

/// A page of the audit log: its entries, how many match, the actions in use.
pub type Audit = Arc<(Vec<Entry>, i64, Vec<String>)>;

/// The audit log's pages (managed state), by filter, limit and offset.
pub struct AuditCache(pub MemberCache<Audit, (audit::Filter, i64, i64)>);

impl AuditCache {
    /// A cache with the session cache's age, [`PER_MEMBER`] pages.
    pub fn new(cfg: &AppConfig) -> AuditCache {
        AuditCache(MemberCache::with_session_limits(
            events::COUNTS,
            |p| on_counts(p, &["audit", "prune"]),
            cfg,
            PER_MEMBER,
        ))
    }

    /// A page of the entries `filter` matches, and the actions in use:
    /// kept, or read now.
    pub async fn page(
        &self,
        db: &DbPool,
        filter: &audit::Filter,
        (limit, offset): (i64, i64),
    ) -> AppResult<Audit> {
        let load = async {
            let (entries, total) = audit::list(db, filter, limit, offset).await?;
            let actions = audit::actions(db).await?;
            Ok((Arc::new((entries, total, actions)), Vec::new()))
        };
        self.0
            .get_or_at(0, (filter.clone(), limit, offset), load)
            .await
    }
}
