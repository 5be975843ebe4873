//! The admin inbox's pages (`/admin/contact`) and each message's page,
//! kept in this process, so that opening them again asks the database
//! nothing.
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

/// What is kept: a page of the inbox (filter, search, limit, offset) or a
/// message's page (its id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    List(Filter, String, i64, i64),
    Message(i64),
}

/// The inbox's pages and messages (managed state), shared by every admin.
pub struct InboxCache(pub MemberCache<Inbox, Key>);

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
        let key = Key::List(filter, q.to_string(), limit, offset);
        self.0.get_or_at(0, key, load).await
    }

    /// Message `id` with its deliveries (the one row of the page): kept, or
    /// read now. None: no such message.
    pub async fn message(&self, db: &DbPool, id: i64) -> AppResult<Option<Row>> {
        let load = async {
            let rows = match repo::get(db, id).await? {
                Some(message) => with_deliveries(db, vec![message]).await?,
                None => Vec::new(),
            };
            Ok((Arc::new((rows, 1)), Vec::new()))
        };
        let kept = self.0.get_or_at(0, Key::Message(id), load).await?;
        Ok(kept.0.first().cloned())
    }
}
