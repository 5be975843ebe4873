//! The mention digest: a member who is away gets one mail listing the
//! unread messages that mention them, once they are `digest_delay_secs`
//! old, and never more than one mail per `digest_interval_secs`.
//!
//! - "Away": none of their sessions was seen within the delay (sessions'
//!   `last_seen_at`, written by the session cache in batches), and the
//!   mentions are still unread (a member reading the room clears them).
//! - Mentions in rooms set to "none" are never mailed; a mention is mailed
//!   at most once (`chat_digests.last_mention_id`).
//! - It runs as the recurring job `chat_digest` on the one jobs queue, so
//!   one worker of all processes runs it at a time; and each member's mail
//!   is claimed by a conditional `UPDATE` of their `chat_digests` row in the
//!   same transaction that queues the mail in the outbox, so even two runs
//!   at once (a lease taken over) send it exactly once.

use sqlx::{AnyConnection, Connection};

use super::model::excerpt;
use super::ChatConfig;
use crate::db::now;
use crate::error::AppResult;
use crate::jobs::{JobError, Policy, Registry};
use crate::mail::{self, MailContent};
use crate::mail_templates;

/// The job kind.
pub const KIND: &str = "chat_digest";
/// Most members mailed per run (the next run takes the rest).
const BATCH: i64 = 100;
/// Most mentions listed in one mail.
const ITEMS: i64 = 20;

/// One mention in the digest.
pub struct DigestItem {
    pub room: String,
    pub author: String,
    pub excerpt: String,
    pub url: String,
}

/// The digest mail.
pub struct DigestMail {
    pub username: String,
    pub items: Vec<DigestItem>,
    pub more: i64,
    pub site_url: String,
}
mail_templates!(
    DigestMail,
    "email/chat_digest.txt",
    "email/chat_digest.html"
);

impl MailContent for DigestMail {
    const NAME: &'static str = "chat_digest";
    fn subject(&self) -> String {
        let n = self.items.len() as i64 + self.more;
        if n == 1 {
            "You were mentioned in chat".into()
        } else {
            format!("You were mentioned {n} times in chat")
        }
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

/// The retry policy: the next run comes soon anyway.
const POLICY: Policy = Policy {
    max_attempts: 3,
    retry_base: 10.0,
    retry_max: 60.0,
};

/// Register the recurring digest job.
pub fn register(registry: &Registry, cfg: &ChatConfig, site_url: String) {
    let cfg = cfg.clone();
    registry.recurring(KIND, cfg.digest_check_secs, POLICY, move |conn, _job| {
        let cfg = cfg.clone();
        let site_url = site_url.clone();
        Box::pin(async move {
            let n = run(conn, &cfg, &site_url)
                .await
                .map_err(|e| JobError::retry(e.to_string()))?;
            if n > 0 {
                log::info!("chat digest: {n} mail(s) queued");
            }
            Ok(())
        })
    });
}

/// Queue the digests due now; how many.
pub async fn run(conn: &mut AnyConnection, cfg: &ChatConfig, site_url: &str) -> AppResult<usize> {
    let t = now();
    let settled = t - cfg.digest_delay_secs;
    let due: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT n.user_id, MAX(n.message_id) FROM chat_mentions n \
         JOIN chat_members m ON m.room_id = n.room_id AND m.user_id = n.user_id \
         JOIN chat_messages x ON x.id = n.message_id \
         JOIN users u ON u.id = n.user_id \
         LEFT JOIN chat_digests d ON d.user_id = n.user_id \
         WHERE n.message_id > m.last_read_id AND m.notify <> 'none' AND x.deleted_at = 0 \
           AND x.created_at <= $1 AND u.disabled = 0 \
           AND n.message_id > COALESCE(d.last_mention_id, 0) \
           AND COALESCE(d.sent_at, 0) <= $2 \
           AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = n.user_id \
                           AND s.last_seen_at > $1 AND s.expires_at > $3) \
         GROUP BY n.user_id ORDER BY n.user_id LIMIT $4",
    )
    .bind(settled)
    .bind(t - cfg.digest_interval_secs)
    .bind(t)
    .bind(BATCH)
    .fetch_all(&mut *conn)
    .await?;
    let mut sent = 0;
    for (user_id, newest) in due {
        if send_one(conn, cfg, site_url, user_id, newest, t).await? {
            sent += 1;
        }
    }
    Ok(sent)
}

/// Claim and queue one member's digest, in one transaction: false when
/// another run claimed it first.
async fn send_one(
    conn: &mut AnyConnection,
    cfg: &ChatConfig,
    site_url: &str,
    user_id: i64,
    newest: i64,
    t: i64,
) -> AppResult<bool> {
    let mut tx = conn.begin().await?;
    sqlx::query(
        "INSERT INTO chat_digests (user_id, sent_at, last_mention_id) VALUES ($1, 0, 0) \
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    let previous: i64 =
        sqlx::query_scalar("SELECT last_mention_id FROM chat_digests WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
    let claimed = sqlx::query(
        "UPDATE chat_digests SET sent_at = $1, last_mention_id = $2 \
         WHERE user_id = $3 AND sent_at <= $4 AND last_mention_id = $5 AND last_mention_id < $2",
    )
    .bind(t)
    .bind(newest)
    .bind(user_id)
    .bind(t - cfg.digest_interval_secs)
    .bind(previous)
    .execute(&mut *tx)
    .await?;
    if crate::db::affected(&claimed) == 0 {
        return Ok(false);
    }
    let (username, email): (String, String) =
        sqlx::query_as("SELECT username, email FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
    let rows: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT x.id, x.room_id, r.name, a.username, x.body FROM chat_mentions n \
         JOIN chat_members m ON m.room_id = n.room_id AND m.user_id = n.user_id \
         JOIN chat_messages x ON x.id = n.message_id \
         JOIN chat_rooms r ON r.id = n.room_id \
         JOIN users a ON a.id = x.user_id \
         WHERE n.user_id = $1 AND n.message_id > m.last_read_id AND n.message_id > $2 \
           AND n.message_id <= $3 AND m.notify <> 'none' AND x.deleted_at = 0 \
         ORDER BY x.id",
    )
    .bind(user_id)
    .bind(previous)
    .bind(newest)
    .fetch_all(&mut *tx)
    .await?;
    let base = site_url.trim_end_matches('/');
    let total = rows.len() as i64;
    let items = rows
        .into_iter()
        .take(ITEMS as usize)
        .map(|(id, room_id, room, author, body)| DigestItem {
            room,
            author,
            excerpt: excerpt(&body),
            url: format!("{base}/chat/rooms/{room_id}?around={id}#m{id}"),
        })
        .collect();
    let content = DigestMail {
        username,
        items,
        more: (total - ITEMS).max(0),
        site_url: base.to_string(),
    };
    let email = content.to(&email, None)?;
    mail::enqueue(&mut tx, base, &email, Some(("chat_digest", user_id))).await?;
    tx.commit().await?;
    Ok(true)
}
