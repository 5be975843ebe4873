//! Messages: posting, editing, deleting, mentions, and history read by
//! cursor (`before`, `after`, `around` a message id; never OFFSET, so a
//! page stays fast however long a room's history grows).

use std::collections::HashMap;

use sqlx::AnyConnection;

use super::journal::{begin_chat, record_event, Kind};
use crate::db::{now, DbPool};
use crate::error::AppResult;

/// A stored message with its author's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub room_id: i64,
    pub user_id: i64,
    pub author: String,
    pub body: String,
    pub created_at: i64,
    pub edited_at: i64,
    pub deleted_at: i64,
    /// The message this one replies to (0: none), its author and body
    /// (empty when it was deleted) and whether it was deleted.
    pub reply_to: i64,
    pub reply_author: String,
    pub reply_body: String,
    pub reply_deleted: i64,
}

pub(super) const COLUMNS: &str =
    "x.id, x.room_id, x.user_id, u.username AS author, x.body, x.created_at, \
                       x.edited_at, x.deleted_at, x.reply_to, \
                       COALESCE(pu.username, '') AS reply_author, \
                       COALESCE(p.body, '') AS reply_body, \
                       CASE WHEN x.reply_to > 0 AND (p.id IS NULL OR p.deleted_at <> 0) \
                         THEN 1 ELSE 0 END AS reply_deleted";

/// The messages with their authors, and the message each replies to.
pub(super) const FROM: &str = "chat_messages x JOIN users u ON u.id = x.user_id \
                    LEFT JOIN chat_messages p ON p.id = x.reply_to \
                    LEFT JOIN users pu ON pu.id = p.user_id";

/// Message `id` (in any room: the caller checks access to its room).
pub async fn get(db: &DbPool, id: i64) -> AppResult<Option<Message>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM {FROM} WHERE x.id = $1"))
            .bind(id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Messages by id, in id order (for the live stream).
pub async fn by_ids(db: &DbPool, ids: &[i64]) -> AppResult<Vec<Message>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = crate::db::id_list(ids);
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} \
         WHERE x.id IN ({list}) ORDER BY x.id"
    ))
    .fetch_all(&db.pool)
    .await?)
}

/// Which way a page of history reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The newest messages.
    Latest,
    /// Messages older than this id.
    Before(i64),
    /// Messages newer than this id.
    After(i64),
    /// Messages on both sides of this id, itself included.
    Around(i64),
}

/// One page of history, oldest first, and whether more lies on each side.
#[derive(Debug, Clone)]
pub struct Page {
    pub messages: Vec<Message>,
    pub has_older: bool,
    pub has_newer: bool,
}

async fn older(db: &DbPool, room_id: i64, before: i64, limit: i64) -> AppResult<Vec<Message>> {
    let mut rows: Vec<Message> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} \
         WHERE x.room_id = $1 AND x.id < $2 ORDER BY x.id DESC LIMIT $3"
    ))
    .bind(room_id)
    .bind(before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.reverse();
    Ok(rows)
}

async fn newer(db: &DbPool, room_id: i64, after: i64, limit: i64) -> AppResult<Vec<Message>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} \
         WHERE x.room_id = $1 AND x.id > $2 ORDER BY x.id LIMIT $3"
    ))
    .bind(room_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

/// Up to `size` messages of a room at `cursor`, oldest first. Each side
/// reads one row more than it shows, to know whether there is more.
pub async fn page(db: &DbPool, room_id: i64, cursor: Cursor, size: i64) -> AppResult<Page> {
    let size = size.max(1);
    let trim_front = |mut rows: Vec<Message>, n: i64| {
        let more = rows.len() as i64 > n;
        if more {
            rows.remove(0);
        }
        (rows, more)
    };
    let trim_back = |mut rows: Vec<Message>, n: i64| {
        let more = rows.len() as i64 > n;
        rows.truncate(n as usize);
        (rows, more)
    };
    let (messages, has_older, has_newer) = match cursor {
        Cursor::Latest => {
            let (rows, o) = trim_front(older(db, room_id, i64::MAX, size + 1).await?, size);
            (rows, o, false)
        }
        Cursor::Before(id) => {
            let (rows, o) = trim_front(older(db, room_id, id, size + 1).await?, size);
            (rows, o, true)
        }
        Cursor::After(id) => {
            let (rows, n) = trim_back(newer(db, room_id, id, size + 1).await?, size);
            (rows, true, n)
        }
        Cursor::Around(id) => {
            let half = (size / 2).max(1);
            let (mut rows, o) = trim_front(older(db, room_id, id, half + 1).await?, half);
            let (after, n) = trim_back(
                newer(db, room_id, id.saturating_sub(1), size - half + 1).await?,
                size - half,
            );
            rows.extend(after);
            (rows, o, n)
        }
    };
    Ok(Page {
        messages,
        has_older,
        has_newer,
    })
}

/// The ids of the room members among `names` (lower-case usernames).
async fn members_named(
    conn: &mut AnyConnection,
    room_id: i64,
    names: &[String],
) -> AppResult<Vec<i64>> {
    let mut ids = Vec::new();
    for name in names {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT u.id FROM users u JOIN chat_members m ON m.user_id = u.id AND m.room_id = $1 \
             WHERE lower(u.username) = $2",
        )
        .bind(room_id)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
        ids.extend(id);
    }
    Ok(ids)
}

async fn store_mentions(
    conn: &mut AnyConnection,
    room_id: i64,
    message_id: i64,
    author: i64,
    names: &[String],
) -> AppResult<()> {
    sqlx::query("DELETE FROM chat_mentions WHERE message_id = $1")
        .bind(message_id)
        .execute(&mut *conn)
        .await?;
    for user_id in members_named(conn, room_id, names).await? {
        if user_id == author {
            continue;
        }
        sqlx::query("INSERT INTO chat_mentions (message_id, user_id, room_id) VALUES ($1, $2, $3)")
            .bind(message_id)
            .bind(user_id)
            .bind(room_id)
            .execute(&mut *conn)
            .await?;
        super::notices::mentioned(conn, room_id, message_id, author, user_id).await?;
    }
    Ok(())
}

/// Post a message (its author's read position moves past it), replying to
/// message `reply_to` (0: none; the caller checked it is in the room).
/// Returns the message id and its event id.
pub async fn post(
    db: &DbPool,
    room_id: i64,
    user_id: i64,
    body: &str,
    mentions: &[String],
    reply_to: i64,
) -> AppResult<(i64, i64)> {
    let mut tx = begin_chat(db).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO chat_messages (room_id, user_id, body, created_at, reply_to) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(room_id)
    .bind(user_id)
    .bind(body)
    .bind(now())
    .bind(reply_to)
    .fetch_one(&mut *tx)
    .await?;
    store_mentions(&mut tx, room_id, id, user_id, mentions).await?;
    sqlx::query("UPDATE chat_members SET last_read_id = $1 WHERE room_id = $2 AND user_id = $3")
        .bind(id)
        .bind(room_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let event = record_event(&mut tx, room_id, Kind::Message, id, 0).await?;
    tx.commit().await?;
    Ok((id, event))
}

/// Replace the body of a message that is not deleted. None when it is.
pub async fn edit(
    db: &DbPool,
    message: &Message,
    body: &str,
    mentions: &[String],
) -> AppResult<Option<i64>> {
    let mut tx = begin_chat(db).await?;
    let r = sqlx::query(
        "UPDATE chat_messages SET body = $1, edited_at = $2 WHERE id = $3 AND deleted_at = 0",
    )
    .bind(body)
    .bind(now())
    .bind(message.id)
    .execute(&mut *tx)
    .await?;
    if crate::db::affected(&r) == 0 {
        return Ok(None);
    }
    store_mentions(
        &mut tx,
        message.room_id,
        message.id,
        message.user_id,
        mentions,
    )
    .await?;
    let event = record_event(&mut tx, message.room_id, Kind::Edit, message.id, 0).await?;
    tx.commit().await?;
    Ok(Some(event))
}

/// Delete a message: its text is erased, its place kept ("deleted").
/// None when it was deleted already.
pub async fn delete(db: &DbPool, message: &Message) -> AppResult<Option<i64>> {
    let mut tx = begin_chat(db).await?;
    let r = sqlx::query(
        "UPDATE chat_messages SET body = '', deleted_at = $1 WHERE id = $2 AND deleted_at = 0",
    )
    .bind(now())
    .bind(message.id)
    .execute(&mut *tx)
    .await?;
    if crate::db::affected(&r) == 0 {
        return Ok(None);
    }
    sqlx::query("DELETE FROM chat_mentions WHERE message_id = $1")
        .bind(message.id)
        .execute(&mut *tx)
        .await?;
    let event = record_event(&mut tx, message.room_id, Kind::Delete, message.id, 0).await?;
    tx.commit().await?;
    Ok(Some(event))
}

/// The mentioned usernames (lower-case) of each of `ids`.
pub async fn mentions_of(db: &DbPool, ids: &[i64]) -> AppResult<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = crate::db::id_list(ids);
    let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
        "SELECT n.message_id, lower(u.username) FROM chat_mentions n \
         JOIN users u ON u.id = n.user_id WHERE n.message_id IN ({list})"
    ))
    .fetch_all(&db.pool)
    .await?;
    for (id, name) in rows {
        out.entry(id).or_default().push(name);
    }
    Ok(out)
}
