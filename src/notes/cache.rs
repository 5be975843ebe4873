//! The first page of each member's notes list, kept in this process, so
//! that opening `/notes` again asks the database nothing.
//!
//! Only the plain first page is kept: no search, no tag, archived notes
//! left out (what the menu's link opens). Every function in `repo` that
//! writes notes or their tags calls [`changed`] once the write is
//! committed, which announces the owner's id on [`CHANNEL`]: this process
//! drops the entry at once, other processes (Postgres) when their listener
//! hears it, before `changed` returns (see `events::publish`). While the
//! listener is down the cache is bypassed. A member's notes are only
//! ever written through `repo` (pages, API and import alike); deleting
//! the account deletes them with it, and the account's sessions with them.
//!
//! Limits are the session cache's (`session_cache_seconds`,
//! `session_cache_entries`; either 0 turns it off), at most
//! [`PAGE_ENTRIES`] members, and the age bounds the same thing: a row
//! changed by hand in the database. Each note is kept with its body cut
//! after the excerpt the list shows, so an entry is a few tens of
//! kilobytes at most (20 titles and excerpts, and the tag filter).

use std::sync::Arc;

use super::search::{self, ListQuery, Listed};
use super::views::EXCERPT_CHARS;
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::events;
use crate::web::member_cache::{Drop, MemberCache, PAGE_ENTRIES};

/// The channel a change to a member's notes is announced on (their id).
pub const CHANNEL: &str = "notes";

/// The per-process cache (managed state). Entries are shared, not
/// copied, by the pages that use them.
pub struct NotesCache(pub MemberCache<Arc<Listed>>);

fn read(payload: &str) -> Vec<Drop> {
    vec![payload.parse().map_or(Drop::All, Drop::Member)]
}

/// The session channel's "everything changed" (an operator's
/// `pg_notify('gw_session', '*')` after editing rows by hand) empties
/// this cache too; its other messages concern accounts, not notes.
fn read_session(payload: &str) -> Vec<Drop> {
    if payload == "*" {
        vec![Drop::All]
    } else {
        Vec::new()
    }
}

/// Whether `query` asks for the page that is kept.
fn kept(query: &ListQuery) -> bool {
    query.q.is_empty() && query.tag.is_none() && !query.archived && query.offset == 0
}

impl NotesCache {
    /// A cache with the session cache's limits.
    pub fn new(cfg: &AppConfig) -> NotesCache {
        NotesCache(
            MemberCache::with_session_limits(CHANNEL, read, cfg, PAGE_ENTRIES)
                .and(crate::session::cache::CHANNEL, read_session),
        )
    }

    /// The page of `user_id`'s notes `query` asks for: the kept first page,
    /// or from the database.
    pub async fn list(
        &self,
        db: &DbPool,
        user_id: i64,
        query: &ListQuery,
    ) -> AppResult<Arc<Listed>> {
        if !kept(query) {
            return Ok(Arc::new(search::list(db, user_id, query).await?));
        }
        let load = async {
            let mut listed = search::list(db, user_id, query).await?;
            // Only what the list shows is kept: the excerpt, and one
            // character more to know that the body goes on.
            for note in &mut listed.notes {
                if let Some((cut, _)) = note.body.char_indices().nth(EXCERPT_CHARS + 1) {
                    note.body.truncate(cut);
                }
            }
            Ok((Arc::new(listed), Vec::new()))
        };
        self.0.get_or(user_id, load).await
    }
}

/// Announce that `user_id`'s notes changed (after the write committed). A
/// failure is logged, not returned: the write stands and this process has
/// dropped its entry already; another process may then show the old page
/// for at most the cache's age.
pub async fn changed(db: &DbPool, user_id: i64) {
    if let Err(e) = events::publish(db, CHANNEL, &user_id.to_string()).await {
        log::warn!("announcing a change to the notes of user {user_id}: {e}");
    }
}
