//! Each member's notes as their pages show them, kept in this process, so
//! that opening `/notes`, a search, a tag, a note or its edit form again
//! asks the database nothing.
//!
//! Kept per member ([`Key`]): each page of the list (by search, tag,
//! archived and page) and each note. Everything kept is built from the
//! member's own notes and their tags, nothing else. Every function in `repo` that
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
//! [`PAGE_ENTRIES`] entries in all and [`PER_MEMBER`](crate::web::member_cache::PER_MEMBER) per member, and the
//! age bounds the same thing: a row changed by hand in the database. In a
//! list each note is kept with its body cut after the excerpt the list
//! shows, so a list is a few tens of kilobytes at most (20 titles and
//! excerpts, and the tag filter); a note is kept whole (at most
//! `notes.body_max`).

use std::sync::Arc;

use super::repo::{self, Note};
use super::search::{self, ListQuery, Listed};
use super::views::EXCERPT_CHARS;
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::events;
use crate::web::member_cache::{Drop, MemberCache, PAGE_ENTRIES};

/// The channel a change to a member's notes is announced on (their id).
pub const CHANNEL: &str = "notes";

/// What is kept of one member's notes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A page of the list.
    List(ListQuery),
    /// A note, by id (also the absence of one).
    Note(i64),
}

/// A kept page's data.
#[derive(Clone)]
pub enum Kept {
    List(Arc<Listed>),
    Note(Option<Arc<Note>>),
}

/// The per-process cache (managed state). Entries are shared, not
/// copied, by the pages that use them.
pub struct NotesCache(pub MemberCache<Kept, Key>);

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

impl NotesCache {
    /// A cache with the session cache's limits.
    pub fn new(cfg: &AppConfig) -> NotesCache {
        NotesCache(
            MemberCache::with_session_limits(CHANNEL, read, cfg, PAGE_ENTRIES)
                .and(crate::session::cache::CHANNEL, read_session),
        )
    }

    /// The page of `user_id`'s notes `query` asks for: the kept one, or
    /// from the database (and kept).
    pub async fn list(
        &self,
        db: &DbPool,
        user_id: i64,
        query: &ListQuery,
    ) -> AppResult<Arc<Listed>> {
        let key = Key::List(query.clone());
        let load = async {
            let mut listed = search::list(db, user_id, query).await?;
            // Only what the list shows is kept: the excerpt, and one
            // character more to know that the body goes on.
            for note in &mut listed.notes {
                if let Some((cut, _)) = note.body.char_indices().nth(EXCERPT_CHARS + 1) {
                    note.body.truncate(cut);
                }
            }
            Ok((Kept::List(Arc::new(listed)), Vec::new()))
        };
        match self.0.get_or_at(user_id, key, load).await? {
            Kept::List(listed) => Ok(listed),
            Kept::Note(_) => Ok(Arc::new(search::list(db, user_id, query).await?)),
        }
    }

    /// `user_id`'s note `id`, kept or read ([`NotesCache::note`]); 404 when
    /// it is missing or someone else's.
    pub async fn owned(&self, db: &DbPool, user_id: i64, id: i64) -> AppResult<Arc<Note>> {
        self.note(db, user_id, id)
            .await?
            .ok_or(crate::error::AppError::NotFound)
    }

    /// `user_id`'s note `id` (`repo::get`): the kept one, or from the
    /// database (and kept). None: missing or someone else's.
    pub async fn note(&self, db: &DbPool, user_id: i64, id: i64) -> AppResult<Option<Arc<Note>>> {
        let load = async {
            let note = repo::get(db, user_id, id).await?;
            Ok((Kept::Note(note.map(Arc::new)), Vec::new()))
        };
        match self.0.get_or_at(user_id, Key::Note(id), load).await? {
            Kept::Note(note) => Ok(note),
            Kept::List(_) => Ok(repo::get(db, user_id, id).await?.map(Arc::new)),
        }
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
