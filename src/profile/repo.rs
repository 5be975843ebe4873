//! The profile page's data in one round trip: the user's row and their
//! live sessions (with when each last proved who it is), joined.

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
    s_id: Option<i64>,
    s_created_at: Option<i64>,
    s_last_seen_at: Option<i64>,
    s_expires_at: Option<i64>,
    s_user_agent: Option<String>,
    s_ip: Option<String>,
    s_kind: Option<String>,
    s_reauth_at: Option<i64>,
}

/// The user, their live sessions (most recently used first) and the
/// `reauth_at` of each, by session id. None: no such user.
pub async fn user_and_sessions(
    db: &DbPool,
    user_id: i64,
) -> AppResult<Option<(User, Vec<(SessionRow, i64)>)>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT u.id, u.username, u.email, u.password_hash, u.role, u.display_name, u.bio, \
                u.avatar_url, u.email_verified, u.disabled, u.created_at, \
                s.id AS s_id, s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at, \
                s.expires_at AS s_expires_at, s.user_agent AS s_user_agent, s.ip AS s_ip, \
                s.kind AS s_kind, s.reauth_at AS s_reauth_at \
         FROM users u LEFT JOIN sessions s ON s.user_id = u.id AND s.expires_at > $2 \
         WHERE u.id = $1 ORDER BY s.last_seen_at DESC, s.id DESC",
    )
    .bind(user_id)
    .bind(now())
    .fetch_all(&db.pool)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
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
    let sessions = rows
        .into_iter()
        .filter_map(|r| {
            Some((
                SessionRow {
                    id: r.s_id?,
                    created_at: r.s_created_at.unwrap_or(0),
                    last_seen_at: r.s_last_seen_at.unwrap_or(0),
                    expires_at: r.s_expires_at.unwrap_or(0),
                    user_agent: r.s_user_agent.unwrap_or_default(),
                    ip: r.s_ip.unwrap_or_default(),
                    kind: r.s_kind.unwrap_or_default(),
                },
                r.s_reauth_at.unwrap_or(0),
            ))
        })
        .collect();
    Ok(Some((user, sessions)))
}
