//! The profile page's data in one round trip: the user's row (with whether
//! two-step sign-in is on and how many passkeys they have) joined with their
//! live sessions (with when each last proved who it is) and their linked
//! sign-in providers.

use crate::accounts::repo::User;
use crate::db::{now, DbPool};
use crate::error::AppResult;
use crate::session::SessionRow;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    username: String,
    email: String,
    password_hash: Option<String>,
    role: String,
    display_name: String,
    bio: String,
    avatar_url: String,
    email_verified: i64,
    disabled: i64,
    created_at: i64,
    time_zone: String,
    two_step: i64,
    passkeys: i64,
    x_tag: Option<String>,
    s_id: Option<i64>,
    s_created_at: Option<i64>,
    s_last_seen_at: Option<i64>,
    s_expires_at: Option<i64>,
    s_user_agent: Option<String>,
    s_ip: Option<String>,
    s_kind: Option<String>,
    s_reauth_at: Option<i64>,
}

/// A sign-in provider linked to the account.
#[derive(Debug, Clone)]
pub struct Linked {
    pub provider: String,
    pub email: String,
    pub created_at: i64,
}

/// What the profile page shows of an account.
#[derive(Debug, Clone)]
pub struct Profile {
    pub user: User,
    /// The member's time zone (an IANA name).
    pub time_zone: String,
    /// Live sessions, most recently used first, each with its `reauth_at`.
    pub sessions: Vec<(SessionRow, i64)>,
    /// Linked providers, oldest first.
    pub linked: Vec<Linked>,
    /// Whether two-step sign-in (an authenticator app) is on.
    pub two_step: bool,
    /// How many passkeys the member has.
    pub passkeys: i64,
}

/// The user, their live sessions and their linked providers, in one query
/// (rows of both kinds joined to the user through a `UNION ALL`, told apart
/// by `x_tag`). None: no such user. The password hash is not read: the
/// page needs only whether there is one (`Some("")`), and what it loads is
/// kept in memory (`cache.rs`).
pub async fn load(db: &DbPool, user_id: i64) -> AppResult<Option<Profile>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT u.id, u.username, u.email, \
                CASE WHEN u.password_hash IS NULL THEN NULL ELSE '' END AS password_hash, \
                u.role, u.display_name, u.bio, \
                u.avatar_url, u.email_verified, u.disabled, u.created_at, u.time_zone, \
                (SELECT COUNT(*) FROM twostep_totp t WHERE t.user_id = u.id AND t.enabled = 1) AS two_step, \
                (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys, \
                x.tag AS x_tag, \
                x.id AS s_id, x.created_at AS s_created_at, x.last_seen_at AS s_last_seen_at, \
                x.expires_at AS s_expires_at, x.user_agent AS s_user_agent, x.ip AS s_ip, \
                x.kind AS s_kind, x.reauth_at AS s_reauth_at \
         FROM users u LEFT JOIN ( \
             SELECT 's' AS tag, user_id, id, created_at, last_seen_at, expires_at, \
                    user_agent, ip, kind, reauth_at \
             FROM sessions WHERE user_id = $1 AND expires_at > $2 \
             UNION ALL \
             SELECT 'i' AS tag, user_id, id, created_at, 0, 0, provider, email, '', 0 \
             FROM identities WHERE user_id = $1 \
         ) x ON x.user_id = u.id \
         WHERE u.id = $1",
    )
    .bind(user_id)
    .bind(now())
    .fetch_all(&db.pool)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let time_zone = first.time_zone.clone();
    let (two_step, passkeys) = (first.two_step > 0, first.passkeys);
    let user = User {
        id: first.id,
        username: first.username.clone(),
        email: first.email.clone(),
        password_hash: first.password_hash.clone(),
        role: first.role.clone(),
        display_name: first.display_name.clone(),
        bio: first.bio.clone(),
        avatar_url: first.avatar_url.clone(),
        email_verified: first.email_verified,
        disabled: first.disabled,
        created_at: first.created_at,
    };
    let mut sessions = Vec::new();
    let mut linked = Vec::new();
    for r in rows {
        let (Some(tag), Some(id)) = (r.x_tag, r.s_id) else {
            continue;
        };
        let created_at = r.s_created_at.unwrap_or(0);
        if tag == "i" {
            linked.push((
                id,
                Linked {
                    provider: r.s_user_agent.unwrap_or_default(),
                    email: r.s_ip.unwrap_or_default(),
                    created_at,
                },
            ));
            continue;
        }
        let session = SessionRow {
            id,
            created_at,
            last_seen_at: r.s_last_seen_at.unwrap_or(0),
            expires_at: r.s_expires_at.unwrap_or(0),
            user_agent: r.s_user_agent.unwrap_or_default(),
            ip: r.s_ip.unwrap_or_default(),
            kind: r.s_kind.unwrap_or_default(),
        };
        sessions.push((session, r.s_reauth_at.unwrap_or(0)));
    }
    sessions.sort_by_key(|(s, _)| std::cmp::Reverse((s.last_seen_at, s.id)));
    linked.sort_by_key(|(id, _)| *id);
    let linked = linked.into_iter().map(|(_, l)| l).collect();
    Ok(Some(Profile {
        user,
        time_zone,
        sessions,
        linked,
        two_step,
        passkeys,
    }))
}
