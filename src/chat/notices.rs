//! A chat mention in the site's one notifications system
//! (src/notifications), written in the transaction that stores the
//! message. A member whose room is set to "none" is not told (the room's
//! choice says nothing of it should reach them); an edit that keeps a
//! mention does not tell them again (one entry per message).
//!
//! Chat's own mention digest (`digest.rs`) mails unread mentions to a
//! member who is away, so the notifications digest leaves this kind out
//! (`notifications::digest`): a mention is mailed once.

use sqlx::AnyConnection;

use crate::error::AppResult;
use crate::notifications::{notify, Kind, Notice};

/// Tell `user_id` that `author` mentioned them in message `message_id`.
pub(super) async fn mentioned(
    conn: &mut AnyConnection,
    room_id: i64,
    message_id: i64,
    author: i64,
    user_id: i64,
) -> AppResult<()> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT r.name, r.kind, m.notify FROM chat_rooms r \
         JOIN chat_members m ON m.room_id = r.id AND m.user_id = $2 WHERE r.id = $1",
    )
    .bind(room_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((name, kind, choice)) = row else {
        return Ok(());
    };
    if choice == "none" {
        return Ok(());
    }
    let subject = if kind == "direct" {
        "a direct message".to_string()
    } else {
        format!("#{name}")
    };
    let target = format!("chat_message:{message_id}");
    let url = format!("/chat/rooms/{room_id}?around={message_id}#m{message_id}");
    notify(
        conn,
        &Notice {
            recipient: user_id,
            actor: author,
            kind: Kind::ChatMention,
            target: &target,
            subject: &subject,
            url: &url,
        },
    )
    .await?;
    Ok(())
}
