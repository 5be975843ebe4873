//! Who may do what in chat, in one place for the pages, the API and the
//! stream. A private room is invisible to outsiders: everything about it
//! answers 404, exactly like a room that does not exist. Refusals of a
//! visible room answer 403.

use super::messages::{self, Message};
use super::repo::{self, Access};
use crate::db::DbPool;
use crate::error::{AppError, AppResult};

/// The events channel every chat change is announced on (the payload is
/// the event id; the stream reads the events from the database).
pub const CHANNEL: &str = "chat";

/// Room `room_id` if `user_id` may see it (a member, or an open room).
pub async fn visible(db: &DbPool, user_id: i64, room_id: i64) -> AppResult<Access> {
    repo::access(db, user_id, room_id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Room `room_id` if `user_id` is its member.
pub async fn member(db: &DbPool, user_id: i64, room_id: i64) -> AppResult<Access> {
    let access = visible(db, user_id, room_id).await?;
    if !access.is_member() {
        return Err(AppError::Forbidden);
    }
    Ok(access)
}

/// Room `room_id` if `user_id` is one of its admins.
pub async fn admin(db: &DbPool, user_id: i64, room_id: i64) -> AppResult<Access> {
    let access = visible(db, user_id, room_id).await?;
    if !access.is_admin() {
        return Err(AppError::Forbidden);
    }
    Ok(access)
}

/// Refuse writing in an archived room.
pub fn writable(access: &Access) -> AppResult<()> {
    if access.room.archived != 0 {
        return Err(AppError::Conflict(
            "This room is archived: it can be read but no longer written in.".into(),
        ));
    }
    Ok(())
}

/// The message a new one in `room_id` replies to: 0 for none; a
/// validation error unless it is a message of the same room.
pub async fn reply_target(db: &DbPool, room_id: i64, reply_to: Option<i64>) -> AppResult<i64> {
    let Some(id) = reply_to.filter(|id| *id != 0) else {
        return Ok(0);
    };
    match messages::get(db, id).await? {
        Some(m) if m.room_id == room_id => Ok(id),
        _ => {
            let mut errors = crate::error::FieldErrors::default();
            errors.add("reply_to", "Reply to a message of this room.");
            Err(AppError::Validation(errors))
        }
    }
}

/// Refuse changing who is in a direct conversation (fixed at creation).
pub fn not_direct(access: &Access) -> AppResult<()> {
    if access.room.is_direct() {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Message `id` and its room, if `user_id` may see that room.
pub async fn message(db: &DbPool, user_id: i64, id: i64) -> AppResult<(Message, Access)> {
    let m = messages::get(db, id).await?.ok_or(AppError::NotFound)?;
    let access = visible(db, user_id, m.room_id).await?;
    Ok((m, access))
}

/// Only the author edits a message, while it and its room are live.
pub fn may_edit(user_id: i64, m: &Message, access: &Access) -> AppResult<()> {
    writable(access)?;
    if m.user_id != user_id || m.deleted_at != 0 || !access.is_member() {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// The author or a room admin deletes a message.
pub fn may_delete(user_id: i64, m: &Message, access: &Access) -> AppResult<()> {
    writable(access)?;
    let own = m.user_id == user_id && access.is_member();
    if !(own || access.is_admin()) || m.deleted_at != 0 {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Tell every stream, in every process, that event `id` was committed. A
/// failure is logged, not returned: the change is stored, and streams
/// also read the database when they have not heard anything for a while.
pub async fn announce(db: &DbPool, id: i64) {
    if let Err(e) = crate::events::publish(db, CHANNEL, &id.to_string()).await {
        log::warn!("chat event {id} not announced: {e}");
    }
    // And the navigation badges of the room's members (and of whoever
    // joined or left it) may have changed.
    let row: Result<Option<(i64, i64)>, sqlx::Error> =
        sqlx::query_as("SELECT room_id, user_id FROM chat_events WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await;
    match row {
        Ok(Some((room, user))) => {
            let users: &[i64] = if user > 0 { &[user] } else { &[] };
            super::badge::changed(db, &[room], users).await;
        }
        Ok(None) => {}
        Err(e) => log::warn!("chat event {id}: {e}"),
    }
}
