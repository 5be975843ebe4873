//! Blocks and mutes between members, and the checks other features ask.
//!
//! - A **block** is seen by the blocked member in its effects: they can no
//!   longer follow the blocker, comment on the blocker's articles, reach
//!   them with a notification (a mention stays text), or see whom the
//!   blocker favourited. Blocking ends follows both ways.
//! - A **mute** is never seen by the muted member: their articles and
//!   comments are left out of the muter's lists and article pages.

use sqlx::AnyConnection;

use crate::db::{begin_write, now, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};

/// An enabled member found by username.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: i64,
    pub username: String,
}

/// The enabled member called `username` (any case), or 404.
pub async fn member(db: &DbPool, username: &str) -> AppResult<Member> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, username FROM users WHERE lower(username) = $1 AND disabled = 0",
    )
    .bind(username.to_lowercase())
    .fetch_optional(&db.pool)
    .await?;
    row.map(|(id, username)| Member { id, username })
        .ok_or(AppError::NotFound)
}

/// How `viewer` stands to another member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relation {
    /// The viewer blocked them.
    pub blocked: bool,
    /// The viewer muted them.
    pub muted: bool,
}

/// How `viewer` stands to `other`.
pub async fn relation(db: &DbPool, viewer: i64, other: i64) -> AppResult<Relation> {
    let (blocked, muted): (i64, i64) = sqlx::query_as(
        "SELECT \
           CASE WHEN EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2) \
             THEN 1 ELSE 0 END, \
           CASE WHEN EXISTS (SELECT 1 FROM mutes WHERE muter_id = $1 AND muted_id = $2) \
             THEN 1 ELSE 0 END",
    )
    .bind(viewer)
    .bind(other)
    .fetch_one(&db.pool)
    .await?;
    Ok(Relation {
        blocked: blocked != 0,
        muted: muted != 0,
    })
}

/// Whether `blocker` blocked `blocked` (inside any transaction).
pub async fn has_blocked(conn: &mut AnyConnection, blocker: i64, blocked: i64) -> AppResult<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(blocker)
            .bind(blocked)
            .fetch_one(&mut *conn)
            .await?;
    Ok(n > 0)
}

fn not_yourself(what: &str) -> AppError {
    let mut errors = FieldErrors::default();
    errors.add("username", format!("You cannot {what} yourself."));
    AppError::Validation(errors)
}

/// `me` blocks (`on`) or unblocks `other`. A block ends the follows
/// between them both ways, in the same transaction.
pub async fn set_block(db: &DbPool, me: i64, other: i64, on: bool) -> AppResult<()> {
    if me == other {
        return Err(not_yourself("block"));
    }
    let mut tx = begin_write(db).await?;
    if on {
        sqlx::query(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(me)
        .bind(other)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM follows WHERE (follower_id = $1 AND followee_id = $2) \
             OR (follower_id = $2 AND followee_id = $1)",
        )
        .bind(me)
        .bind(other)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(me)
            .bind(other)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    // Pages kept per member (the blog's list) show follows and hide
    // what a member blocked or muted: both members' pages change.
    crate::session::user_changed(db, me).await?;
    crate::session::user_changed(db, other).await?;
    Ok(())
}

/// `me` mutes (`on`) or unmutes `other`.
pub async fn set_mute(db: &DbPool, me: i64, other: i64, on: bool) -> AppResult<()> {
    if me == other {
        return Err(not_yourself("mute"));
    }
    if on {
        sqlx::query(
            "INSERT INTO mutes (muter_id, muted_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(me)
        .bind(other)
        .bind(now())
        .execute(&db.pool)
        .await?;
    } else {
        sqlx::query("DELETE FROM mutes WHERE muter_id = $1 AND muted_id = $2")
            .bind(me)
            .bind(other)
            .execute(&db.pool)
            .await?;
    }
    crate::session::user_changed(db, me).await?;
    Ok(())
}

/// SQL that is true when the member whose id is `column` is muted by the
/// viewer `$1`: for list queries to leave them out.
pub fn muted_by_viewer(column: &str) -> String {
    format!("{column} IN (SELECT m.muted_id FROM mutes m WHERE m.muter_id = $1)")
}
