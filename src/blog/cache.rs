//! The first page of the blog's list, as each reader sees it, kept in this
//! process, so that opening `/blog` again asks the database nothing.
//!
//! Only `/blog`'s first page is kept (not the feed, a tag, an author or a
//! later page), one entry per reader (favourites and follows are theirs;
//! visitors share one). It is built from articles, their tags and
//! favourites, follows, mutes, and the authors' accounts, so every change
//! to any of those empties the whole cache:
//! - the blog's own writes (articles, tags, favourites, follows, hiding
//!   an article) call [`changed`] once committed, announced on
//!   [`CHANNEL`];
//! - an account's changes (name, bio, avatar, disabled, deleted) and a
//!   block or mute are announced on the session channel
//!   ([`crate::session::user_changed`]), which this cache hears too.
//!
//! This process drops the cache at once, other processes (Postgres) when
//! their listener hears it, before the announcement returns (see
//! `events::publish`); while the listener is down the cache is bypassed.
//! Limits are the session cache's (`session_cache_seconds`,
//! `session_cache_entries`; either 0 turns it off), at most
//! [`PAGE_ENTRIES`] readers. The list holds no article bodies, only
//! titles, descriptions, tags and authors.

use std::sync::Arc;

use super::repo::{self, Article, Filter};
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::events;
use crate::session;
use crate::web::member_cache::{drop_all, MemberCache, PAGE_ENTRIES};

/// The channel the blog's writes are announced on.
pub const CHANNEL: &str = "blog";

/// A list page's data: the articles, how many in all, the popular tags.
pub type Listed = (Vec<Article>, i64, Vec<String>);

/// The per-process cache (managed state), keyed by the reader's id (0 for
/// a visitor). Entries are shared, not copied, by the pages that use them.
pub struct BlogCache(pub MemberCache<Arc<Listed>>);

/// Whether a list asks for the page that is kept: every article, from the
/// first.
fn kept(filter: &Filter, offset: i64) -> bool {
    filter.tag.is_none()
        && filter.author.is_none()
        && filter.favorited_by.is_none()
        && !filter.feed
        && offset == 0
}

impl BlogCache {
    /// A cache with the session cache's limits.
    pub fn new(cfg: &AppConfig) -> BlogCache {
        BlogCache(
            MemberCache::with_session_limits(CHANNEL, drop_all, cfg, PAGE_ENTRIES)
                .and(session::cache::CHANNEL, drop_all),
        )
    }

    /// The list `filter` asks for as `viewer` sees it (`repo::list`): the
    /// kept first page of every article, or from the database.
    pub async fn list(
        &self,
        db: &DbPool,
        viewer: i64,
        filter: &Filter,
        (limit, offset): (i64, i64),
        popular: i64,
    ) -> AppResult<Arc<Listed>> {
        let load = async {
            let listed = repo::list(db, viewer, filter, (limit, offset), popular).await?;
            Ok(Arc::new(listed))
        };
        if !kept(filter, offset) {
            return load.await;
        }
        self.0
            .get_or(viewer, async { Ok((load.await?, Vec::new())) })
            .await
    }
}

/// Announce that the blog changed (after the write committed). A failure
/// is logged, not returned: the write stands and this process has dropped
/// its cache already; another process may then show the old page for at
/// most the cache's age.
pub async fn changed(db: &DbPool) {
    if let Err(e) = events::publish(db, CHANNEL, "*").await {
        log::warn!("announcing a change to the blog: {e}");
    }
}
