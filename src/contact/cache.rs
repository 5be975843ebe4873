//! The admin inbox's pages (`/admin/contact`), kept in this process, so
//! that opening the inbox again asks the database nothing.
//!
//! A page shows contact messages and the delivery of each to its
//! recipients (the mail outbox and its jobs), so every page is dropped by:
//! - [`events::COUNTS`], announced with the write by a message's arrival
//!   and its handled state (`repo`), and by the jobs queue when a job is
//!   queued, finishes, is retried or pruned;
//! - the session channel, which every change to an account announces (an
//!   admin's name beside "handled by").
//!
//! What is not announced: a delivery job being picked up ("sending" rather
//! than "waiting to be sent") until it finishes. An entry lives at most the
//! session cache's age (`session_cache_seconds`, 10 s; 0 turns it off),
//! which bounds that and rows changed by hand.

use std::sync::Arc;

use super::admin::{with_deliveries, Row};
use super::repo::{self, Filter};
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::events;
use crate::session;
use crate::web::member_cache::{drop_all, MemberCache, PER_MEMBER};

/// A page of the inbox: its rows and how many messages match.
pub type Inbox = Arc<(Vec<Row>, i64)>;

/// The inbox's pages (managed state), by filter, search, limit and offset;
/// shared by every admin.
pub struct InboxCache(pub MemberCache<Inbox, (Filter, String, i64, i64)>);

impl InboxCache {
    /// A cache with the session cache's age, [`PER_MEMBER`] pages.
    pub fn new(cfg: &AppConfig) -> InboxCache {
        InboxCache(
            MemberCache::with_session_limits(events::COUNTS, drop_all, cfg, PER_MEMBER)
                .and(session::cache::CHANNEL, drop_all),
        )
    }

    /// The page `repo::list` gives, with each message's deliveries: kept, or
    /// read now.
    pub async fn list(
        &self,
        db: &DbPool,
        filter: Filter,
        q: &str,
        (limit, offset): (i64, i64),
    ) -> AppResult<Inbox> {
        let load = async {
            let (messages, total) = repo::list(db, filter, q, limit, offset).await?;
            let rows = with_deliveries(db, messages).await?;
            Ok((Arc::new((rows, total)), Vec::new()))
        };
        self.0
            .get_or_at(0, (filter, q.to_string(), limit, offset), load)
            .await
    }
}
