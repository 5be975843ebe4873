//! The notifications' SQL: writing one in the caller's transaction
//! ([`notify`]), the unread count, the page, the read marker and the
//! per-kind preferences.

use std::collections::HashMap;

use sqlx::AnyConnection;

use super::kind::Kind;
use crate::db::{now, DbPool};
use crate::error::AppResult;

/// Most actors an entry remembers by name (the rest are a count).
pub const LATEST_ACTORS: usize = 3;
/// The unread count stops counting here: the navigation shows "99+", and
/// the count stays one short index walk however many are unread.
pub const UNREAD_CAP: i64 = 100;

/// Something to tell a member, from the action that caused it.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    /// Who is told.
    pub recipient: i64,
    /// Who did it.
    pub actor: i64,
    pub kind: Kind,
    /// What it is about, unique within the kind: `article:12`,
    /// `comment:7`. Grouped kinds group on it (per day).
    pub target: &'a str,
    /// The title the sentence names (an article's), or empty.
    pub subject: &'a str,
    /// Where the entry links to (a local path).
    pub url: &'a str,
}

/// Seconds in the grouping window: a UTC day.
const DAY: i64 = 86_400;

fn group_key(n: &Notice<'_>, at: i64) -> String {
    if n.kind.grouped() {
        format!("{}:{}:{}", n.kind.as_str(), n.target, at / DAY)
    } else {
        format!("{}:{}", n.kind.as_str(), n.target)
    }
}

/// Write `n` inside the caller's transaction `conn`, so that it exists
/// exactly when the action that caused it does (a rollback takes it back).
/// Returns whether anything was written: nothing for one's own action, for
/// a kind the recipient turned off, for a recipient who blocked the actor,
/// or for a non-grouped notice already given (a mention kept in an edit).
///
/// A grouped notice joins the day's entry on the same target: that entry
/// is written anew (fresh id, so it is newest and unread again) with the
/// actor first in its latest actors and one more in its count, unless the
/// actor was already among them (favourite, unfavourite, favourite again
/// counts once).
///
/// Open streams of the recipient (`live.rs`) are told once the
/// transaction commits, so the navigation's count moves at once.
pub async fn notify(conn: &mut AnyConnection, n: &Notice<'_>) -> AppResult<bool> {
    let written = store(conn, n).await?;
    if written {
        super::live::announce_in(conn, n.recipient).await?;
    }
    Ok(written)
}

async fn store(conn: &mut AnyConnection, n: &Notice<'_>) -> AppResult<bool> {
    if n.recipient == n.actor {
        return Ok(false);
    }
    let refused: i64 = sqlx::query_scalar(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM notification_prefs p \
           WHERE p.user_id = $1 AND p.kind = $2 AND p.enabled = 0) \
         OR EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $1 AND b.blocked_id = $3) \
         THEN 1 ELSE 0 END",
    )
    .bind(n.recipient)
    .bind(n.kind.as_str())
    .bind(n.actor)
    .fetch_one(&mut *conn)
    .await?;
    if refused != 0 {
        return Ok(false);
    }
    let t = now();
    let key = group_key(n, t);
    if !n.kind.grouped() {
        let r = sqlx::query(
            "INSERT INTO notifications \
             (user_id, kind, group_key, actor_id, actor_ids, actor_count, subject, url, created_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8) ON CONFLICT (user_id, group_key) DO NOTHING",
        )
        .bind(n.recipient)
        .bind(n.kind.as_str())
        .bind(&key)
        .bind(n.actor)
        .bind(n.actor.to_string())
        .bind(n.subject)
        .bind(n.url)
        .bind(t)
        .execute(&mut *conn)
        .await?;
        return Ok(r.rows_affected() > 0);
    }
    let previous: Option<(String, i64)> = sqlx::query_as(
        "DELETE FROM notifications WHERE user_id = $1 AND group_key = $2 \
         RETURNING actor_ids, actor_count",
    )
    .bind(n.recipient)
    .bind(&key)
    .fetch_optional(&mut *conn)
    .await?;
    let (mut actors, mut count) = match previous {
        Some((ids, count)) => (parse_ids(&ids), count),
        None => (Vec::new(), 0),
    };
    if let Some(at) = actors.iter().position(|&a| a == n.actor) {
        actors.remove(at);
    } else {
        count += 1;
    }
    actors.insert(0, n.actor);
    actors.truncate(LATEST_ACTORS);
    let ids: Vec<String> = actors.iter().map(i64::to_string).collect();
    // Two processes growing the same entry at once (Postgres): the second
    // one's DELETE found nothing and its INSERT meets the first one's new
    // row; it adds itself to it rather than failing the favourite.
    sqlx::query(
        "INSERT INTO notifications \
         (user_id, kind, group_key, actor_id, actor_ids, actor_count, subject, url, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (user_id, group_key) DO UPDATE SET \
           actor_id = excluded.actor_id, \
           actor_ids = excluded.actor_ids || ',' || notifications.actor_ids, \
           actor_count = notifications.actor_count + 1, \
           subject = excluded.subject, url = excluded.url, created_at = excluded.created_at",
    )
    .bind(n.recipient)
    .bind(n.kind.as_str())
    .bind(&key)
    .bind(n.actor)
    .bind(ids.join(","))
    .bind(count)
    .bind(n.subject)
    .bind(n.url)
    .bind(t)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

fn parse_ids(ids: &str) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::new();
    for id in ids.split(',').filter_map(|s| s.trim().parse().ok()) {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// How many notifications of `user_id` are unread, counted up to
/// [`UNREAD_CAP`] (one index range scan; the page says "99+" beyond).
pub async fn unread_count(db: &DbPool, user_id: i64) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 AS one FROM notifications n WHERE n.user_id = $1 \
           AND n.id > COALESCE((SELECT r.last_read_id FROM notification_reads r \
                                WHERE r.user_id = $1), 0) \
           LIMIT $2) x",
    )
    .bind(user_id)
    .bind(UNREAD_CAP)
    .fetch_one(&db.pool)
    .await?)
}

/// The read marker of `user_id`: every id up to it is read.
pub async fn marker(db: &DbPool, user_id: i64) -> AppResult<i64> {
    let m: Option<i64> =
        sqlx::query_scalar("SELECT last_read_id FROM notification_reads WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(m.unwrap_or(0))
}

/// Move the read marker of `user_id` up to `up_to` (None: their newest
/// notification). The marker never moves back, so an old tab's "mark all
/// read" cannot make newer ones unread again, nor mark read what it never
/// showed. Returns the marker as it is now.
pub async fn mark_read(db: &DbPool, user_id: i64, up_to: Option<i64>) -> AppResult<i64> {
    let newest: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM notifications WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&db.pool)
            .await?;
    let newest = newest.unwrap_or(0);
    let to = up_to.map_or(newest, |u| u.clamp(0, newest));
    sqlx::query(
        "INSERT INTO notification_reads (user_id, last_read_id) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET last_read_id = CASE \
           WHEN excluded.last_read_id > notification_reads.last_read_id \
           THEN excluded.last_read_id ELSE notification_reads.last_read_id END",
    )
    .bind(user_id)
    .bind(to)
    .execute(&db.pool)
    .await?;
    super::live::announce(db, user_id).await;
    marker(db, user_id).await
}

/// One entry of a member's list.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub kind: Kind,
    /// The latest actors' usernames, newest first ("a former member" for
    /// an account since deleted).
    pub actors: Vec<String>,
    /// How many acted (grouped entries).
    pub actor_count: i64,
    pub subject: String,
    pub url: String,
    pub created_at: i64,
    /// Newer than the read marker.
    pub unread: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    kind: String,
    actor_ids: String,
    actor_count: i64,
    subject: String,
    url: String,
    created_at: i64,
}

/// A page of the notifications of `user_id`, newest first: at most `limit`
/// entries older than the cursor `before` (an id; None: from the newest),
/// and the cursor of the next page when there is one.
pub async fn page(
    db: &DbPool,
    user_id: i64,
    before: Option<i64>,
    limit: i64,
) -> AppResult<(Vec<Entry>, Option<i64>)> {
    let mut rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, actor_ids, actor_count, subject, url, created_at \
         FROM notifications WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(user_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .fetch_all(&db.pool)
    .await?;
    let next = if (rows.len() as i64) > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let read_up_to = marker(db, user_id).await?;
    let mut wanted: Vec<i64> = Vec::new();
    let ids: Vec<Vec<i64>> = rows
        .iter()
        .map(|r| {
            let mut ids = parse_ids(&r.actor_ids);
            ids.truncate(LATEST_ACTORS);
            wanted.extend(ids.iter().copied());
            ids
        })
        .collect();
    let names = usernames(db, &wanted).await?;
    Ok((
        rows.into_iter()
            .zip(ids)
            .filter_map(|(r, ids)| {
                Some(Entry {
                    id: r.id,
                    kind: Kind::parse(&r.kind)?,
                    actors: ids
                        .iter()
                        .map(|id| {
                            names
                                .get(id)
                                .cloned()
                                .unwrap_or_else(|| "a former member".into())
                        })
                        .collect(),
                    actor_count: r.actor_count,
                    subject: r.subject,
                    url: r.url,
                    created_at: r.created_at,
                    unread: r.id > read_up_to,
                })
            })
            .collect(),
        next,
    ))
}

async fn usernames(db: &DbPool, ids: &[i64]) -> AppResult<HashMap<i64, String>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, username FROM users WHERE id IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
    for id in &ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(&db.pool).await?.into_iter().collect())
}

/// Each kind and whether `user_id` wants it.
pub async fn preferences(db: &DbPool, user_id: i64) -> AppResult<Vec<(Kind, bool)>> {
    let off: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM notification_prefs WHERE user_id = $1 AND enabled = 0",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(Kind::ALL
        .into_iter()
        .map(|k| (k, !off.iter().any(|o| o == k.as_str())))
        .collect())
}

/// Turn kind `kind` on or off for `user_id`.
pub async fn set_preference(db: &DbPool, user_id: i64, kind: Kind, on: bool) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO notification_prefs (user_id, kind, enabled) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, kind) DO UPDATE SET enabled = excluded.enabled",
    )
    .bind(user_id)
    .bind(kind.as_str())
    .bind(i64::from(on))
    .execute(&db.pool)
    .await?;
    Ok(())
}
