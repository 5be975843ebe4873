//! The dashboard's figures, kept in this process, so that opening `/admin`
//! again asks the database nothing.
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

use super::repo::{self, Stats};
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::events;
use crate::session;
use crate::web::member_cache::{drop_all, MemberCache};

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
