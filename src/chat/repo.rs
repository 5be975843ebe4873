//! Rooms, members and read positions. Who may see a room is decided here
//! once ([`access`]): a private room is invisible (None, so 404) to anyone
//! who is not its member. Every change a live stream carries writes a
//! `chat_events` row in the same transaction (see [`record_event`]).

use super::journal::{begin_chat, record_event, Kind};
use super::model::{RoomInput, RoomJson};
use crate::db::{is_unique_violation, now, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};

/// A stored room.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Room {
    pub id: i64,
    pub name: String,
    pub topic: String,
    pub private: i64,
    pub archived: i64,
    /// `room` or `direct` (see `direct.rs`).
    pub kind: String,
}

impl Room {
    /// True for a direct conversation (fixed members, no admins).
    pub fn is_direct(&self) -> bool {
        self.kind == DIRECT
    }
}

/// The kind of a direct conversation.
pub const DIRECT: &str = "direct";

/// A member's place in a room.
#[derive(Debug, Clone)]
pub struct Membership {
    pub is_admin: bool,
    pub last_read_id: i64,
    /// `all`, `mentions` or `none` (see `notify.rs`).
    pub notify: String,
}

/// A room as one person may see it.
#[derive(Debug, Clone)]
pub struct Access {
    pub room: Room,
    /// None: an open room the person has not joined.
    pub member: Option<Membership>,
}

impl Access {
    /// True for a member.
    pub fn is_member(&self) -> bool {
        self.member.is_some()
    }
    /// True for a room admin.
    pub fn is_admin(&self) -> bool {
        self.member.as_ref().is_some_and(|m| m.is_admin)
    }
}

/// A row of the room list: the room, the caller's membership and unread counts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoomSummary {
    pub id: i64,
    pub name: String,
    pub topic: String,
    pub private: i64,
    pub archived: i64,
    pub kind: String,
    pub notify: String,
    pub is_admin: i64,
    pub last_read_id: i64,
    pub unread: i64,
    pub mentions: i64,
}

impl RoomSummary {
    /// True for a direct conversation.
    pub fn is_direct(&self) -> bool {
        self.kind == DIRECT
    }
}

impl From<RoomSummary> for RoomJson {
    fn from(r: RoomSummary) -> Self {
        RoomJson {
            id: r.id,
            name: r.name,
            topic: r.topic,
            private: r.private != 0,
            archived: r.archived != 0,
            direct: r.kind == DIRECT,
            notify: r.notify,
            member: true,
            admin: r.is_admin != 0,
            unread: r.unread,
            unread_mentions: r.mentions,
            last_read_id: r.last_read_id,
        }
    }
}

impl Access {
    /// The room as JSON for this caller (no counts for a non-member).
    pub fn json(&self) -> RoomJson {
        RoomJson {
            id: self.room.id,
            name: self.room.name.clone(),
            topic: self.room.topic.clone(),
            private: self.room.private != 0,
            archived: self.room.archived != 0,
            direct: self.room.is_direct(),
            notify: self
                .member
                .as_ref()
                .map_or_else(String::new, |m| m.notify.clone()),
            member: self.is_member(),
            admin: self.is_admin(),
            unread: 0,
            unread_mentions: 0,
            last_read_id: self.member.as_ref().map_or(0, |m| m.last_read_id),
        }
    }
}

/// Room `room_id` as `user_id` may see it: None when it does not exist or
/// is private and they are not a member.
pub async fn access(db: &DbPool, user_id: i64, room_id: i64) -> AppResult<Option<Access>> {
    #[allow(clippy::type_complexity)]
    let row: Option<(i64, String, String, i64, i64, String, i64, i64, String)> = sqlx::query_as(
        "SELECT r.id, r.name, r.topic, r.private, r.archived, r.kind, \
                COALESCE(m.is_admin, -1), COALESCE(m.last_read_id, 0), COALESCE(m.notify, '') \
         FROM chat_rooms r \
         LEFT JOIN chat_members m ON m.room_id = r.id AND m.user_id = $2 \
         WHERE r.id = $1",
    )
    .bind(room_id)
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some((id, name, topic, private, archived, kind, is_admin, last_read_id, notify)) = row
    else {
        return Ok(None);
    };
    let member = (is_admin >= 0).then_some(Membership {
        is_admin: is_admin == 1,
        last_read_id,
        notify,
    });
    if private != 0 && member.is_none() {
        return Ok(None);
    }
    let room = Room {
        id,
        name,
        topic,
        private,
        archived,
        kind,
    };
    Ok(Some(Access { room, member }))
}

/// The rooms `user_id` belongs to, open ones first then by name, with the
/// number of unread messages (not their own, not deleted) and of unread
/// messages mentioning them.
pub async fn my_rooms(db: &DbPool, user_id: i64) -> AppResult<Vec<RoomSummary>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.name, r.topic, r.private, r.archived, r.kind, m.notify, m.is_admin, \
                m.last_read_id, \
           (SELECT COUNT(*) FROM chat_messages x WHERE x.room_id = r.id \
              AND x.id > m.last_read_id AND x.deleted_at = 0 AND x.user_id <> $1) AS unread, \
           (SELECT COUNT(*) FROM chat_mentions n JOIN chat_messages x ON x.id = n.message_id \
              WHERE n.user_id = $1 AND n.room_id = r.id AND n.message_id > m.last_read_id \
              AND x.deleted_at = 0) AS mentions \
         FROM chat_members m JOIN chat_rooms r ON r.id = m.room_id \
         WHERE m.user_id = $1 ORDER BY r.archived, lower(r.name)",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Open, unarchived rooms `user_id` has not joined, by name.
pub async fn rooms_to_join(db: &DbPool, user_id: i64) -> AppResult<Vec<Room>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.name, r.topic, r.private, r.archived, r.kind FROM chat_rooms r \
         WHERE r.private = 0 AND r.archived = 0 AND r.kind = 'room' AND NOT EXISTS \
           (SELECT 1 FROM chat_members m WHERE m.room_id = r.id AND m.user_id = $1) \
         ORDER BY lower(r.name) LIMIT 200",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?)
}

fn name_taken() -> AppError {
    let mut errors = FieldErrors::default();
    errors.add(
        "name",
        "A room with this name exists already: choose another.",
    );
    AppError::Validation(errors)
}

/// Create a room with `user_id` as its first member and admin.
pub async fn create_room(db: &DbPool, user_id: i64, input: &RoomInput) -> AppResult<(i64, i64)> {
    let mut tx = begin_chat(db).await?;
    let t = now();
    let id: i64 = match sqlx::query_scalar(
        "INSERT INTO chat_rooms (name, topic, private, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(&input.name)
    .bind(&input.topic)
    .bind(i64::from(input.private))
    .bind(t)
    .fetch_one(&mut *tx)
    .await
    {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => return Err(name_taken()),
        Err(e) => return Err(e.into()),
    };
    sqlx::query(
        "INSERT INTO chat_members (room_id, user_id, is_admin, last_read_id, joined_at) \
         VALUES ($1, $2, 1, 0, $3)",
    )
    .bind(id)
    .bind(user_id)
    .bind(t)
    .execute(&mut *tx)
    .await?;
    let event = record_event(&mut tx, id, Kind::Join, 0, user_id).await?;
    tx.commit().await?;
    Ok((id, event))
}

/// Rename a room, change its topic and whether it is archived.
pub async fn update_room(
    db: &DbPool,
    room_id: i64,
    input: &RoomInput,
    archived: bool,
) -> AppResult<i64> {
    let mut tx = begin_chat(db).await?;
    let updated = sqlx::query(
        "UPDATE chat_rooms SET name = $1, topic = $2, archived = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(&input.name)
    .bind(&input.topic)
    .bind(i64::from(archived))
    .bind(now())
    .bind(room_id)
    .execute(&mut *tx)
    .await;
    match updated {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(name_taken()),
        Err(e) => return Err(e.into()),
    }
    let event = record_event(&mut tx, room_id, Kind::Room, 0, 0).await?;
    tx.commit().await?;
    Ok(event)
}

/// Add `user_id` to a room (reading from its newest message on). None when
/// they were a member already. (`WHERE 1 = 1`: SQLite needs a WHERE
/// between `INSERT … SELECT` and `ON CONFLICT` to parse it.)
pub async fn add_member(db: &DbPool, room_id: i64, user_id: i64) -> AppResult<Option<i64>> {
    let mut tx = begin_chat(db).await?;
    let added = sqlx::query(
        "INSERT INTO chat_members (room_id, user_id, is_admin, last_read_id, joined_at) \
         SELECT $1, $2, 0, COALESCE((SELECT MAX(id) FROM chat_messages WHERE room_id = $1), 0), $3 \
         WHERE 1 = 1 ON CONFLICT (room_id, user_id) DO NOTHING",
    )
    .bind(room_id)
    .bind(user_id)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    if crate::db::affected(&added) == 0 {
        return Ok(None);
    }
    let event = record_event(&mut tx, room_id, Kind::Join, 0, user_id).await?;
    tx.commit().await?;
    Ok(Some(event))
}

/// Take `user_id` out of a room. None when they were not a member, or are
/// its last admin while others remain (a room must keep an admin).
pub async fn remove_member(db: &DbPool, room_id: i64, user_id: i64) -> AppResult<Option<i64>> {
    let mut tx = begin_chat(db).await?;
    let (admins, others): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(CASE WHEN is_admin = 1 AND user_id <> $2 THEN 1 END), \
                COUNT(CASE WHEN user_id <> $2 THEN 1 END) \
         FROM chat_members WHERE room_id = $1",
    )
    .bind(room_id)
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    let removed = sqlx::query(
        "DELETE FROM chat_members WHERE room_id = $1 AND user_id = $2 \
         AND (is_admin = 0 OR $3 > 0 OR $4 = 0)",
    )
    .bind(room_id)
    .bind(user_id)
    .bind(admins)
    .bind(others)
    .execute(&mut *tx)
    .await?;
    if crate::db::affected(&removed) == 0 {
        return Ok(None);
    }
    let event = record_event(&mut tx, room_id, Kind::Leave, 0, user_id).await?;
    tx.commit().await?;
    Ok(Some(event))
}

/// Make a member a room admin.
pub async fn make_admin(db: &DbPool, room_id: i64, user_id: i64) -> AppResult<bool> {
    let r = sqlx::query("UPDATE chat_members SET is_admin = 1 WHERE room_id = $1 AND user_id = $2")
        .bind(room_id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(crate::db::affected(&r) > 0)
}

/// A room's member.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub user_id: i64,
    pub username: String,
    pub is_admin: i64,
}

/// A room's members by name.
pub async fn members(db: &DbPool, room_id: i64) -> AppResult<Vec<Member>> {
    Ok(sqlx::query_as(
        "SELECT m.user_id, u.username, m.is_admin FROM chat_members m \
         JOIN users u ON u.id = m.user_id WHERE m.room_id = $1 ORDER BY lower(u.username)",
    )
    .bind(room_id)
    .fetch_all(&db.pool)
    .await?)
}

/// An enabled account by username (any case): its id and exact name.
pub async fn find_user(db: &DbPool, username: &str) -> AppResult<Option<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, username FROM users WHERE lower(username) = lower($1) AND disabled = 0",
    )
    .bind(username.trim())
    .fetch_optional(&db.pool)
    .await?)
}

/// Move `user_id`'s read position in a room forward to `upto` (never back,
/// never past the newest message).
pub async fn mark_read(db: &DbPool, room_id: i64, user_id: i64, upto: i64) -> AppResult<()> {
    let moved = sqlx::query(
        "UPDATE chat_members SET last_read_id = \
           (SELECT COALESCE(MAX(id), 0) FROM chat_messages WHERE room_id = $1 AND id <= $3) \
         WHERE room_id = $1 AND user_id = $2 AND last_read_id < $3",
    )
    .bind(room_id)
    .bind(user_id)
    .bind(upto)
    .execute(&db.pool)
    .await?;
    if crate::db::affected(&moved) > 0 {
        super::badge::changed(db, &[], &[user_id]).await;
    }
    Ok(())
}

/// Rooms `me` shares with `other`, by name.
pub async fn shared_rooms(db: &DbPool, me: i64, other: i64) -> AppResult<Vec<Room>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.name, r.topic, r.private, r.archived, r.kind FROM chat_rooms r \
         JOIN chat_members a ON a.room_id = r.id AND a.user_id = $1 \
         JOIN chat_members b ON b.room_id = r.id AND b.user_id = $2 \
         ORDER BY lower(r.name)",
    )
    .bind(me)
    .bind(other)
    .fetch_all(&db.pool)
    .await?)
}
