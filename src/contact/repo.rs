//! Contact message queries.

use sqlx::AnyConnection;

use super::model::NewMessage;
use crate::db::{now, DbPool};
use crate::error::AppResult;
use crate::events;

/// A stored contact message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub subject: String,
    pub message: String,
    pub ip: String,
    pub is_spam: i64,
    pub handled: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, name, email, subject, message, ip, is_spam, handled, created_at";

/// Store a message (inside the caller's transaction). Returns its id.
pub async fn insert(
    conn: &mut AnyConnection,
    m: &NewMessage,
    ip: &str,
    user_agent: &str,
    spam: bool,
) -> AppResult<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO contact_messages (name, email, subject, message, ip, user_agent, is_spam, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&m.name)
    .bind(&m.email)
    .bind(&m.subject)
    .bind(&m.message)
    .bind(ip)
    .bind(user_agent)
    .bind(i64::from(spam))
    .bind(now())
    .fetch_one(&mut *conn)
    .await?;
    events::publish_in(conn, events::COUNTS, "contact").await?;
    Ok(id)
}

/// The email addresses of every enabled admin.
pub async fn admin_emails(conn: &mut AnyConnection) -> AppResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT email FROM users WHERE role = 'admin' AND disabled = 0 ORDER BY id",
    )
    .fetch_all(conn)
    .await?)
}

/// Which messages the inbox shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    Unhandled,
    Handled,
    Spam,
    All,
}

impl Filter {
    /// From the `show` query parameter (unknown values: unhandled).
    pub fn parse(s: Option<&str>) -> Filter {
        match s {
            Some("handled") => Filter::Handled,
            Some("spam") => Filter::Spam,
            Some("all") => Filter::All,
            _ => Filter::Unhandled,
        }
    }
    /// The query parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Filter::Unhandled => "unhandled",
            Filter::Handled => "handled",
            Filter::Spam => "spam",
            Filter::All => "all",
        }
    }
    fn sql(self) -> &'static str {
        match self {
            Filter::Unhandled => "is_spam = 0 AND handled = 0",
            Filter::Handled => "is_spam = 0 AND handled = 1",
            Filter::Spam => "is_spam = 1",
            Filter::All => "1 = 1",
        }
    }
}

/// Messages whose sender, address, subject or text contains the text
/// bound at $1.
fn search(db: &DbPool) -> String {
    let [name, email, subject, message] = ["name", "email", "subject", "message"]
        .map(|column| crate::db::contains(db.backend, column, "$1"));
    format!("({name} OR {email} OR {subject} OR {message})")
}

/// One page of messages, newest first, and the total that match.
pub async fn list(
    db: &DbPool,
    filter: Filter,
    query: &str,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<Message>, i64)> {
    let pattern = crate::db::search_text(query);
    let search = search(db);
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM contact_messages WHERE {} AND {search}",
        filter.sql()
    ))
    .bind(&pattern)
    .fetch_one(&db.pool)
    .await?;
    let rows = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM contact_messages WHERE {} AND {search} ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        filter.sql()
    ))
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    Ok((rows, total))
}

/// One message.
pub async fn get(db: &DbPool, id: i64) -> AppResult<Option<Message>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM contact_messages WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Mark a message handled (by `admin`) or not.
pub async fn set_handled(db: &DbPool, id: i64, handled: bool, admin: i64) -> AppResult<bool> {
    let r = sqlx::query(
        "UPDATE contact_messages SET handled = $1, handled_at = $2, handled_by = $3 WHERE id = $4",
    )
    .bind(i64::from(handled))
    .bind(handled.then(now))
    .bind(handled.then_some(admin))
    .bind(id)
    .execute(&db.pool)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    events::publish(db, events::COUNTS, "contact").await?;
    Ok(true)
}
