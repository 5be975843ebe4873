//! The blog's pages as each reader sees them, kept in this process, so
//! that opening `/blog`, the feed, a tag or an article again asks the
//! database nothing.
//!
//! Kept per reader ([`Key`]; favourites, follows and mutes are theirs,
//! visitors share one): each page of the lists (`/blog`, the feed, a tag,
//! an author's articles and favourites), each author with how the reader
//! stands to them (following, blocked, muted), and each article with its
//! comments and the profile links of the members it mentions. They are built from articles, their tags,
//! comments and favourites, follows, blocks and mutes, and the accounts of
//! authors and of mentioned members, so every change to any of those
//! empties the whole cache:
//! - the blog's own writes (articles, tags, comments, favourites, follows,
//!   hiding an article or a comment) call [`changed`] once committed,
//!   announced on [`CHANNEL`];
//! - an account's changes (name, bio, avatar, disabled, deleted) and a
//!   block or mute are announced on the session channel
//!   ([`crate::session::user_changed`]), which this cache hears too. So is
//!   a new account's first session: every sign-up (form, API, OAuth) signs
//!   in at once, and a mention of the new name then becomes a link. (An
//!   admin made with `groundwork create-admin` links from their first
//!   sign-in, or after the cache's age.)
//!
//! This process drops the cache at once, other processes (Postgres) when
//! their listener hears it, before the announcement returns (see
//! `events::publish`); while the listener is down the cache is bypassed.
//! Limits are the session cache's (`session_cache_seconds`,
//! `session_cache_entries`; either 0 turns it off), at most
//! [`PAGE_ENTRIES`] entries in all, [`PER_MEMBER`](crate::web::member_cache::PER_MEMBER) per reader. A list
//! holds no article bodies, only titles, descriptions, tags and authors;
//! an article is kept with its comments only while their text is at most
//! [`ARTICLE_KEPT_MAX`] (a long thread is read each time), so the cache
//! holds at most `PAGE_ENTRIES` x 128 KiB of articles at the very worst.

use std::collections::HashMap;
use std::sync::Arc;

use super::comments::Comment;
use super::repo::{self, Article, Author, Filter};
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::events;
use crate::moderation::relations::Relation;
use crate::session;
use crate::web::member_cache::{drop_all, MemberCache, PAGE_ENTRIES};

/// The channel the blog's writes are announced on.
pub const CHANNEL: &str = "blog";

/// A list page's data: the articles, how many in all, the popular tags.
pub type Listed = (Vec<Article>, i64, Vec<String>);

/// An article page's data: the article, its comments, and the profile
/// links of the members they mention (lower-case name → address).
pub type Shown = (Article, Vec<Comment>, HashMap<String, String>);

/// What is kept for one reader.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A list: its filter, limit, offset and how many popular tags.
    List(Filter, i64, i64, i64),
    /// An article, by slug.
    Article(String),
    /// An author (by username) and how the reader stands to them.
    Author(String),
}

/// A kept page's data.
#[derive(Clone)]
pub enum Kept {
    List(Arc<Listed>),
    Article(Arc<Shown>),
    Author(Arc<(Author, Relation)>),
}

/// Most bytes of text (the article's and its comments') an article is
/// kept with: each reader keeps their own copy, and an article may carry
/// up to 500 comments of 5,000 characters. A longer thread is read each
/// time.
const ARTICLE_KEPT_MAX: usize = 128 * 1024;

/// Whether a computed article is small enough to keep.
fn small(kept: &Kept) -> bool {
    match kept {
        Kept::Article(shown) => {
            let (article, comments, _) = &**shown;
            let text: usize = comments.iter().map(|c| c.body.len()).sum();
            article.body.len() + text <= ARTICLE_KEPT_MAX
        }
        _ => true,
    }
}

/// The per-process cache (managed state), keyed by the reader's id (0 for
/// a visitor). Entries are shared, not copied, by the pages that use them.
pub struct BlogCache(pub MemberCache<Kept, Key>);

impl BlogCache {
    /// A cache with the session cache's limits.
    pub fn new(cfg: &AppConfig) -> BlogCache {
        BlogCache(
            MemberCache::with_session_limits(CHANNEL, drop_all, cfg, PAGE_ENTRIES)
                .and(session::cache::CHANNEL, drop_all),
        )
    }

    /// The list `filter` asks for as `viewer` sees it (`repo::list`): the
    /// kept one, or from the database (and kept).
    pub async fn list(
        &self,
        db: &DbPool,
        viewer: i64,
        filter: &Filter,
        (limit, offset): (i64, i64),
        popular: i64,
    ) -> AppResult<Arc<Listed>> {
        let load = || async {
            let listed = repo::list(db, viewer, filter, (limit, offset), popular).await?;
            AppResult::Ok(Arc::new(listed))
        };
        let key = Key::List(filter.clone(), limit, offset, popular);
        let kept = async { Ok((Kept::List(load().await?), Vec::new())) };
        match self.0.get_or_at(viewer, key, kept).await? {
            Kept::List(listed) => Ok(listed),
            _ => load().await,
        }
    }

    /// The article `slug` as `viewer` sees it: the kept one, or `load`ed
    /// (and kept).
    pub async fn article<F>(&self, viewer: i64, slug: &str, load: F) -> AppResult<Arc<Shown>>
    where
        F: std::future::Future<Output = AppResult<Shown>>,
    {
        let key = Key::Article(slug.to_string());
        let kept = async { Ok((Kept::Article(Arc::new(load.await?)), Vec::new())) };
        match self.0.get_or_at_if(viewer, key, kept, small).await? {
            Kept::Article(shown) => Ok(shown),
            _ => Err(crate::error::AppError::NotFound),
        }
    }

    /// The author `username` and how `viewer` stands to them: the kept
    /// ones, or `load`ed (and kept).
    pub async fn author<F>(
        &self,
        viewer: i64,
        username: &str,
        load: F,
    ) -> AppResult<Arc<(Author, Relation)>>
    where
        F: std::future::Future<Output = AppResult<(Author, Relation)>>,
    {
        let key = Key::Author(username.to_string());
        let kept = async { Ok((Kept::Author(Arc::new(load.await?)), Vec::new())) };
        match self.0.get_or_at(viewer, key, kept).await? {
            Kept::Author(found) => Ok(found),
            _ => Err(crate::error::AppError::NotFound),
        }
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
