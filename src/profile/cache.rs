//! The profile page's data kept per member in this process, so that
//! opening `/profile` again asks the database nothing.
//!
//! It is dropped exactly as the session cache is: every change to what the
//! page shows calls [`crate::session::user_changed`], which announces
//! `u:<id>` on the session channel. That covers the account's row (name,
//! email, password, role, profile, time zone), its sessions (one begins,
//! ends or proves itself again; API tokens included), its linked
//! providers, two-step sign-in and passkeys. Within this process the
//! announcement is read before the next lookup; other processes (Postgres)
//! drop the entry when their listener hears it, as for sessions
//! (docs/architecture.md). While the listener is down the cache is
//! bypassed.
//!
//! Three things are not announced, on purpose:
//! - sessions passing their expiry: the page filters the kept list by the
//!   clock ([`live_sessions`]);
//! - "last seen" times: they are written in batches, at most once a minute
//!   per session ([`crate::session`]), so they are approximate by design;
//!   an entry lives at most `session_cache_seconds` (10 s), which bounds
//!   how much older they can look here;
//! - sessions the clean-up job deletes once idle: the page listed them
//!   until then before this cache too.
//!
//! Its limits are the session cache's (`session_cache_seconds`,
//! `session_cache_entries`; either 0 turns both caches off), and so is
//! what they bound: a row changed by hand in the database.

use super::repo::Profile;
use crate::config::AppConfig;
use crate::db::{now, DbPool};
use crate::error::{AppError, AppResult};
use crate::session::{self, SessionRow};
use crate::web::member_cache::{Drop, MemberCache};

/// The per-process cache (managed state).
pub struct ProfileCache(pub MemberCache<Profile>);

fn read(payload: &str) -> Vec<Drop> {
    vec![session::named_user(payload).map_or(Drop::All, Drop::Member)]
}

impl ProfileCache {
    /// A cache with the session cache's limits.
    pub fn new(cfg: &AppConfig) -> ProfileCache {
        ProfileCache(MemberCache::with_session_limits(
            session::cache::CHANNEL,
            read,
            cfg,
            usize::MAX,
        ))
    }

    /// `user_id`'s profile data, kept or loaded. Not found: no such user.
    pub async fn load(&self, db: &DbPool, user_id: i64) -> AppResult<Profile> {
        let load = async {
            let profile = super::repo::load(db, user_id).await?;
            Ok((profile.ok_or(AppError::NotFound)?, Vec::new()))
        };
        let mut profile = self.0.get_or(user_id, load).await?;
        profile.sessions = live_sessions(profile.sessions, now());
        Ok(profile)
    }
}

/// The sessions not expired at `t` (the kept list may hold some that
/// expired since it was loaded).
pub fn live_sessions(sessions: Vec<(SessionRow, i64)>, t: i64) -> Vec<(SessionRow, i64)> {
    sessions
        .into_iter()
        .filter(|(s, _)| s.expires_at > t)
        .collect()
}
