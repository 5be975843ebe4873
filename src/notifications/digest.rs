//! The notifications mail digest: a member who chose "daily" or "weekly"
//! gets one mail per period listing their unread notifications that no
//! digest listed before, through the mail outbox.
//!
//! - It runs as the recurring job `notification_digest` on the one jobs
//!   queue, so one worker of all processes runs it at a time; and each
//!   member's mail is claimed by a conditional `UPDATE` of their
//!   `notification_digests` row (the `sent_at` and `last_id` read before)
//!   in the same transaction that queues the mail, so even two runs at once
//!   (a lease taken over) send it exactly once per period.
//! - Every mail carries an unsubscribe link that works without signing in:
//!   `/notifications/unsubscribe/<user>.<generation>.<HMAC>`, signed with a
//!   key derived from the site's secret for this one purpose. Using it
//!   turns the digest off and moves the generation on, so the link (and any
//!   older one) stops working.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Connection};

use super::kind::who;
use crate::db::{now, DbPool};
use crate::error::AppResult;
use crate::jobs::{JobError, Policy, Registry};
use crate::mail::{self, MailContent};
use crate::mail_templates;

/// The job kind.
pub const KIND: &str = "notification_digest";
/// Most members mailed per run (the next run takes the rest).
const BATCH: i64 = 100;
/// Most notifications listed in one mail.
const ITEMS: usize = 20;

/// How often a member wants the digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Off,
    Daily,
    Weekly,
}

impl Frequency {
    /// Every choice, in the order the form lists them.
    pub const ALL: [Frequency; 3] = [Frequency::Off, Frequency::Daily, Frequency::Weekly];

    /// The stored (and form) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Off => "off",
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
        }
    }

    /// The choice called `name`.
    pub fn parse(name: &str) -> Option<Frequency> {
        Frequency::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// What the form says.
    pub fn label(self) -> &'static str {
        match self {
            Frequency::Off => "No mail",
            Frequency::Daily => "A daily digest",
            Frequency::Weekly => "A weekly digest",
        }
    }
}

/// The key unsubscribe links are signed with: SHA-256 over a context
/// string and the site's secret key, so it serves this one purpose only.
#[derive(Clone)]
pub struct UnsubscribeKey([u8; 32]);

impl UnsubscribeKey {
    /// The key for `secret` (the configured `secret_key`).
    pub fn new(secret: &[u8]) -> UnsubscribeKey {
        UnsubscribeKey(
            Sha256::new()
                .chain_update(b"groundwork notifications unsubscribe v1")
                .chain_update(secret)
                .finalize()
                .into(),
        )
    }

    fn mac(&self, user_id: i64, generation: i64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(format!("{user_id}.{generation}").as_bytes());
        mac
    }

    /// The token of `user_id`'s current link.
    pub fn token(&self, user_id: i64, generation: i64) -> String {
        let sig = self.mac(user_id, generation).finalize().into_bytes();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig);
        format!("{user_id}.{generation}.{sig}")
    }

    /// The member and generation a token names, when its signature is
    /// right (compared in constant time).
    pub fn verify(&self, token: &str) -> Option<(i64, i64)> {
        let mut parts = token.splitn(3, '.');
        let user_id: i64 = parts.next()?.parse().ok()?;
        let generation: i64 = parts.next()?.parse().ok()?;
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts.next()?)
            .ok()?;
        self.mac(user_id, generation)
            .verify_slice(&sig)
            .ok()
            .map(|()| (user_id, generation))
    }
}

/// The digest setting of `user_id`.
pub async fn frequency(db: &DbPool, user_id: i64) -> AppResult<Frequency> {
    let f: Option<String> =
        sqlx::query_scalar("SELECT frequency FROM notification_digests WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(f.as_deref()
        .and_then(Frequency::parse)
        .unwrap_or(Frequency::Off))
}

/// Choose the digest of `user_id`. A new choice starts counting from now:
/// notifications older than the choice are not mailed.
pub async fn set_frequency(db: &DbPool, user_id: i64, f: Frequency) -> AppResult<()> {
    let newest: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM notifications WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&db.pool)
            .await?;
    sqlx::query(
        "INSERT INTO notification_digests (user_id, frequency, sent_at, last_id, generation) \
         VALUES ($1, $2, 0, $3, 0) \
         ON CONFLICT (user_id) DO UPDATE SET frequency = excluded.frequency",
    )
    .bind(user_id)
    .bind(f.as_str())
    .bind(newest.unwrap_or(0))
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Turn the digest off for the member a valid `token` names, when the
/// token is of the current generation; the generation moves on, so the
/// link works once. Returns the member's username.
pub async fn unsubscribe(
    db: &DbPool,
    key: &UnsubscribeKey,
    token: &str,
) -> AppResult<Option<String>> {
    let Some((user_id, generation)) = key.verify(token) else {
        return Ok(None);
    };
    let done = sqlx::query(
        "UPDATE notification_digests SET frequency = 'off', generation = generation + 1 \
         WHERE user_id = $1 AND generation = $2",
    )
    .bind(user_id)
    .bind(generation)
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// One line of the digest.
pub struct DigestItem {
    pub text: String,
    pub url: String,
}

/// The digest mail.
pub struct DigestMail {
    pub username: String,
    pub items: Vec<DigestItem>,
    pub more: i64,
    pub site_url: String,
    pub unsubscribe_url: String,
}
mail_templates!(
    DigestMail,
    "email/notification_digest.txt",
    "email/notification_digest.html"
);

impl MailContent for DigestMail {
    const NAME: &'static str = "notification_digest";
    fn subject(&self) -> String {
        let n = self.items.len() as i64 + self.more;
        if n == 1 {
            "1 new notification".into()
        } else {
            format!("{n} new notifications")
        }
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

const POLICY: Policy = Policy {
    max_attempts: 3,
    retry_base: 10.0,
    retry_max: 60.0,
};

/// Register the recurring digest job (every `every_secs`).
pub fn register(registry: &Registry, every_secs: i64, site_url: String, key: UnsubscribeKey) {
    registry.recurring(KIND, every_secs, POLICY, move |conn, _job| {
        let site_url = site_url.clone();
        let key = key.clone();
        Box::pin(async move {
            let n = run(conn, &site_url, &key)
                .await
                .map_err(|e| JobError::retry(e.to_string()))?;
            if n > 0 {
                log::info!("notification digest: {n} mail(s) queued");
            }
            Ok(())
        })
    });
}

/// The digest's period, in seconds.
const PERIOD: &str = "CASE d.frequency WHEN 'daily' THEN 86400 ELSE 604800 END";

/// Kinds this digest leaves out because their app mails them itself: a
/// chat mention goes out in chat's mention digest (src/chat/digest.rs) as
/// soon as the member is away, and one mention should make one mail.
const MAILED_BY_THEIR_APP: &str = "'chat_mention'";

/// Queue the digests due now; how many.
pub async fn run(
    conn: &mut AnyConnection,
    site_url: &str,
    key: &UnsubscribeKey,
) -> AppResult<usize> {
    let t = now();
    let due: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT d.user_id, MAX(n.id) FROM notification_digests d \
         JOIN notifications n ON n.user_id = d.user_id \
         JOIN users u ON u.id = d.user_id \
         WHERE d.frequency IN ('daily', 'weekly') AND u.disabled = 0 \
           AND d.sent_at <= $1 - {PERIOD} AND n.id > d.last_id \
           AND n.kind NOT IN ({MAILED_BY_THEIR_APP}) \
           AND n.id > COALESCE((SELECT r.last_read_id FROM notification_reads r \
                                WHERE r.user_id = d.user_id), 0) \
         GROUP BY d.user_id ORDER BY d.user_id LIMIT $2"
    ))
    .bind(t)
    .bind(BATCH)
    .fetch_all(&mut *conn)
    .await?;
    let mut sent = 0;
    for (user_id, newest) in due {
        if send_one(conn, site_url, key, user_id, newest, t).await? {
            sent += 1;
        }
    }
    Ok(sent)
}

/// Claim and queue one member's digest in one transaction: false when
/// another run claimed it first.
async fn send_one(
    conn: &mut AnyConnection,
    site_url: &str,
    key: &UnsubscribeKey,
    user_id: i64,
    newest: i64,
    t: i64,
) -> AppResult<bool> {
    // SQLite: take the write lock at once (a deferred transaction that
    // reads then writes fails outright when another writer got in).
    let mut tx = if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        conn.begin_with("BEGIN IMMEDIATE").await?
    } else {
        conn.begin().await?
    };
    let (frequency, sent_at, previous, generation): (String, i64, i64, i64) = sqlx::query_as(
        "SELECT frequency, sent_at, last_id, generation FROM notification_digests \
         WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    let period = match Frequency::parse(&frequency) {
        Some(Frequency::Daily) => 86_400,
        Some(Frequency::Weekly) => 7 * 86_400,
        _ => return Ok(false),
    };
    if sent_at > t - period || previous >= newest {
        return Ok(false);
    }
    // Claimed only if nobody changed the row since it was read.
    let claimed = sqlx::query(
        "UPDATE notification_digests SET sent_at = $1, last_id = $2 \
         WHERE user_id = $3 AND sent_at = $4 AND last_id = $5 AND frequency = $6",
    )
    .bind(t)
    .bind(newest)
    .bind(user_id)
    .bind(sent_at)
    .bind(previous)
    .bind(&frequency)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(false);
    }
    let (username, email): (String, String) =
        sqlx::query_as("SELECT username, email FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
    let rows: Vec<(String, String, i64, String, String)> = sqlx::query_as(&format!(
        "SELECT kind, actor_ids, actor_count, subject, url FROM notifications \
         WHERE user_id = $1 AND id > $2 AND id <= $3 AND kind NOT IN ({MAILED_BY_THEIR_APP}) \
           AND id > COALESCE((SELECT r.last_read_id FROM notification_reads r \
                              WHERE r.user_id = $1), 0) \
         ORDER BY id DESC"
    ))
    .bind(user_id)
    .bind(previous)
    .bind(newest)
    .fetch_all(&mut *tx)
    .await?;
    let base = site_url.trim_end_matches('/');
    let total = rows.len() as i64;
    let mut items = Vec::new();
    for (kind, actor_ids, count, subject, url) in rows.into_iter().take(ITEMS) {
        let Some(kind) = super::Kind::parse(&kind) else {
            continue;
        };
        let latest: Option<i64> = actor_ids.split(',').next().and_then(|s| s.parse().ok());
        let name: Option<String> = match latest {
            Some(id) => {
                sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let names: Vec<String> = name.into_iter().collect();
        let mut text = format!("{} {}", who(&names, count), kind.verb());
        if !subject.is_empty() {
            text = format!("{text} {subject}");
        }
        items.push(DigestItem {
            text,
            url: format!("{base}{url}"),
        });
    }
    let content = DigestMail {
        username,
        more: (total - ITEMS as i64).max(0),
        items,
        site_url: base.to_string(),
        unsubscribe_url: format!(
            "{base}/notifications/unsubscribe/{}",
            key.token(user_id, generation)
        ),
    };
    let email = content.to(&email, None)?;
    mail::enqueue(
        &mut tx,
        base,
        &email,
        Some(("notification_digest", user_id)),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_member_and_nothing_else() {
        let key = UnsubscribeKey::new(b"secret");
        let token = key.token(42, 3);
        assert_eq!(key.verify(&token), Some((42, 3)));
        assert_eq!(key.verify(&token.replacen("42.", "43.", 1)), None);
        assert_eq!(key.verify(&token.replacen(".3.", ".4.", 1)), None);
        assert_eq!(UnsubscribeKey::new(b"other").verify(&token), None);
        assert_eq!(key.verify("garbage"), None);
    }
}
