//! The chat event log (`chat_events`): what the live streams carry and
//! replay. Every chat change writes its event in its own transaction,
//! begun with [`begin_chat`], which takes the `chat_events` lock first so
//! that event ids commit in increasing order (a stream that has sent event
//! `n` never later finds a smaller id committed).

use sqlx::AnyConnection;

use crate::db::{begin_write, now, DbPool};
use crate::error::AppResult;

/// Start a write transaction for chat and take the `chat_events` lock, so
/// that event ids commit in increasing order: a stream that has sent event
/// `n` can never later find a smaller id committed.
pub async fn begin_chat(db: &DbPool) -> AppResult<sqlx::Transaction<'static, sqlx::Any>> {
    let mut tx = begin_write(db).await?;
    sqlx::query("UPDATE locks SET taken = taken + 1 WHERE name = 'chat_events'")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Message,
    Edit,
    Delete,
    Room,
    Join,
    Leave,
}

impl Kind {
    /// The stored (and streamed) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::Edit => "edit",
            Kind::Delete => "delete",
            Kind::Room => "room",
            Kind::Join => "join",
            Kind::Leave => "leave",
        }
    }
}

/// Write one event in the caller's transaction (begun with [`begin_chat`]).
pub async fn record_event(
    conn: &mut AnyConnection,
    room_id: i64,
    kind: Kind,
    message_id: i64,
    user_id: i64,
) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO chat_events (room_id, kind, message_id, user_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(room_id)
    .bind(kind.as_str())
    .bind(message_id)
    .bind(user_id)
    .bind(now())
    .fetch_one(conn)
    .await?)
}

/// The newest event id (where a new stream without `Last-Event-ID` starts).
pub async fn last_event_id(db: &DbPool) -> AppResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM chat_events")
            .fetch_one(&db.pool)
            .await?,
    )
}

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub room_id: i64,
    pub kind: String,
    pub message_id: i64,
    pub user_id: i64,
}

/// Events after `after`, up to `upto` included, that `user_id` may see
/// now: those of rooms they belong to at this moment, and the join or leave
/// events about themselves (so a removed member learns of it, and nothing
/// more). A stream replays with this what it missed before it joined the
/// process's dispatcher, which sends it everything after `upto`.
pub async fn events_between(
    db: &DbPool,
    user_id: i64,
    after: i64,
    upto: i64,
    limit: i64,
) -> AppResult<Vec<EventRow>> {
    Ok(sqlx::query_as(
        "SELECT e.id, e.room_id, e.kind, e.message_id, e.user_id FROM chat_events e \
         WHERE e.id > $2 AND e.id <= $3 AND (e.user_id = $1 OR EXISTS \
           (SELECT 1 FROM chat_members m WHERE m.room_id = e.room_id AND m.user_id = $1)) \
         ORDER BY e.id LIMIT $4",
    )
    .bind(user_id)
    .bind(after)
    .bind(upto)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

/// Every event after `after`, in order, whoever may see it: what the
/// process's dispatcher reads once and fans out to its streams.
pub async fn all_after(db: &DbPool, after: i64, limit: i64) -> AppResult<Vec<EventRow>> {
    Ok(sqlx::query_as(
        "SELECT id, room_id, kind, message_id, user_id FROM chat_events \
         WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

/// The members of these rooms at this moment, as `(room_id, user_id)`.
pub async fn members_of(db: &DbPool, rooms: &[i64]) -> AppResult<Vec<(i64, i64)>> {
    if rooms.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers we read from the database: safe to inline.
    let list = crate::db::id_list(rooms);
    Ok(sqlx::query_as(&format!(
        "SELECT room_id, user_id FROM chat_members WHERE room_id IN ({list})"
    ))
    .fetch_all(&db.pool)
    .await?)
}
