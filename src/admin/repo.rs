//! Queries for the admin area: the user list and the dashboard figures.

use crate::db::{now, DbPool};
use crate::error::AppResult;
use crate::mail::outbox;

/// A user as admin lists show them.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub role: String,
    pub display_name: String,
    pub email_verified: i64,
    pub disabled: i64,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
}

/// How the user list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sort {
    Newest,
    Oldest,
    Username,
    Email,
    LastSeen,
}

impl Sort {
    /// Every order, as the list offers them.
    pub const ALL: [Sort; 5] = [
        Sort::Newest,
        Sort::Oldest,
        Sort::Username,
        Sort::Email,
        Sort::LastSeen,
    ];

    /// From the `sort` parameter (unknown: newest).
    pub fn parse(s: Option<&str>) -> Sort {
        Sort::ALL
            .into_iter()
            .find(|o| Some(o.as_str()) == s)
            .unwrap_or(Sort::Newest)
    }
    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
            Sort::Username => "username",
            Sort::Email => "email",
            Sort::LastSeen => "last_seen",
        }
    }
    /// What the list calls it.
    pub fn label(self) -> &'static str {
        match self {
            Sort::Newest => "Newest first",
            Sort::Oldest => "Oldest first",
            Sort::Username => "Username",
            Sort::Email => "Email",
            Sort::LastSeen => "Last active",
        }
    }
    fn sql(self) -> &'static str {
        match self {
            Sort::Newest => "u.created_at DESC, u.id DESC",
            Sort::Oldest => "u.created_at ASC, u.id ASC",
            Sort::Username => "lower(u.username) ASC, u.id ASC",
            Sort::Email => "u.email ASC, u.id ASC",
            // Postgres allows an output alias in ORDER BY only on its own,
            // not inside an expression: repeat the subquery.
            Sort::LastSeen => {
                "COALESCE((SELECT MAX(s.last_seen_at) FROM sessions s WHERE s.user_id = u.id), 0) DESC, u.id DESC"
            }
        }
    }
}

/// Users whose name, email or display name contains the text bound at $1.
fn matching(db: &DbPool) -> String {
    let [name, email, display] = ["u.username", "u.email", "u.display_name"]
        .map(|column| crate::db::contains(db.backend, column, "$1"));
    format!("({name} OR {email} OR {display})")
}

/// A page of users matching `query` by name or email, and how many match:
/// one statement (the count rides on each row as a window), and a second
/// only for a page past the last, which has no row to carry it.
pub async fn list_users(
    db: &DbPool,
    query: &str,
    sort: Sort,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<UserRow>, i64)> {
    #[derive(sqlx::FromRow)]
    struct Counted {
        #[sqlx(flatten)]
        row: UserRow,
        total: i64,
    }
    let pattern = crate::db::search_text(query);
    let matching = matching(db);
    let sql = format!(
        "SELECT u.id, u.username, u.email, u.role, u.display_name, u.email_verified, u.disabled, u.created_at, \
                (SELECT MAX(s.last_seen_at) FROM sessions s WHERE s.user_id = u.id) AS last_seen_at, \
                COUNT(*) OVER () AS total \
         FROM users u WHERE {matching} ORDER BY {} LIMIT $2 OFFSET $3",
        sort.sql()
    );
    let rows: Vec<Counted> = sqlx::query_as(&sql)
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&db.pool)
        .await?;
    let total = match rows.first() {
        Some(first) => first.total,
        None if offset == 0 => 0,
        None => {
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM users u WHERE {matching}"))
                .bind(&pattern)
                .fetch_one(&db.pool)
                .await?
        }
    };
    Ok((rows.into_iter().map(|c| c.row).collect(), total))
}

/// The figures on the dashboard.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Stats {
    pub users: i64,
    pub admins: i64,
    pub disabled: i64,
    pub signups_7d: i64,
    pub contact_total: i64,
    pub contact_unhandled: i64,
    pub mail_queued: i64,
    pub mail_retrying: i64,
    pub mail_failed: i64,
}

/// Count everything the dashboard shows.
pub async fn stats(db: &DbPool) -> AppResult<Stats> {
    // One round trip: each table's counts as a one-row subquery, joined.
    let sql = format!(
        "SELECT * FROM ( \
           SELECT COUNT(*) AS users, \
             CAST(COALESCE(SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END), 0) AS BIGINT) AS admins, \
             CAST(COALESCE(SUM(CASE WHEN disabled <> 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS disabled, \
             CAST(COALESCE(SUM(CASE WHEN created_at >= $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS signups_7d \
           FROM users) u, ( \
           SELECT COUNT(*) AS contact_total, \
             CAST(COALESCE(SUM(CASE WHEN handled = 0 AND is_spam = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS contact_unhandled \
           FROM contact_messages) c, ({}) m",
        outbox::health_sql()
    );
    Ok(sqlx::query_as(&sql)
        .bind(now() - 7 * 24 * 3600)
        .fetch_one(&db.pool)
        .await?)
}
