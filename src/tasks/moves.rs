//! Moving tasks and completing them. Order within a column is a gapped
//! `position`, so a move writes the one task moved (plus its activity
//! line); only when two neighbours leave no room between them is the
//! column renumbered.

use sqlx::AnyConnection;

use super::columns::Column;
use super::items::{end_of, log, Task, GAP};
use crate::db::{begin_write, now, DbPool};
use crate::error::AppResult;

/// Renumber a column's tasks `GAP` apart, in their order, leaving out `except`.
async fn renumber(conn: &mut AnyConnection, column_id: i64, except: i64) -> AppResult<()> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM tasks WHERE column_id = $1 AND id <> $2 ORDER BY position, id",
    )
    .bind(column_id)
    .bind(except)
    .fetch_all(&mut *conn)
    .await?;
    for (i, task) in ids.iter().enumerate() {
        sqlx::query("UPDATE tasks SET position = $1 WHERE id = $2")
            .bind((i as i64 + 1) * GAP)
            .bind(task)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The position just before task `before` in `column_id`, or None when
/// that task is not in the column. Renumbers the column when its
/// neighbours leave no room.
async fn position_before(
    conn: &mut AnyConnection,
    column_id: i64,
    before: i64,
    moving: i64,
) -> AppResult<Option<i64>> {
    for _ in 0..2 {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM tasks WHERE id = $1 AND column_id = $2 AND id <> $3",
        )
        .bind(before)
        .bind(column_id)
        .bind(moving)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(at) = at else { return Ok(None) };
        let prev: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(position) FROM tasks WHERE column_id = $1 AND position < $2 AND id <> $3",
        )
        .bind(column_id)
        .bind(at)
        .bind(moving)
        .fetch_one(&mut *conn)
        .await?;
        let lo = prev.unwrap_or(at - 2 * GAP);
        if at - lo >= 2 {
            return Ok(Some(lo + (at - lo) / 2));
        }
        renumber(conn, column_id, moving).await?;
    }
    Ok(None)
}

/// Move `task` into `column`, before task `before` or at the end; moving
/// into a done column completes it, out of one reopens it. False when
/// `before` is not a task of that column.
pub async fn move_to(
    db: &DbPool,
    task: &Task,
    from: &Column,
    to: &Column,
    before: Option<i64>,
    user_id: i64,
) -> AppResult<bool> {
    let mut tx = begin_write(db).await?;
    let position = match before {
        Some(b) => match position_before(&mut tx, to.id, b, task.id).await? {
            Some(p) => p,
            None => return Ok(false),
        },
        None if from.id == to.id => task.position.max(end_of(&mut tx, to.id, task.id).await?),
        None => end_of(&mut tx, to.id, task.id).await?,
    };
    let t = now();
    let completing = to.is_done() && task.completed_at.is_none();
    let reopening = !to.is_done() && task.completed_at.is_some();
    sqlx::query(
        "UPDATE tasks SET column_id = $1, position = $2, updated_at = $3, \
         completed_at = CASE WHEN $4 = 1 THEN $3 WHEN $5 = 1 THEN NULL ELSE completed_at END, \
         completed_by = CASE WHEN $4 = 1 THEN $6 WHEN $5 = 1 THEN NULL ELSE completed_by END \
         WHERE id = $7",
    )
    .bind(to.id)
    .bind(position)
    .bind(t)
    .bind(i64::from(completing))
    .bind(i64::from(reopening))
    .bind(user_id)
    .bind(task.id)
    .execute(&mut *tx)
    .await?;
    if from.id != to.id {
        let detail = format!("{} → {}", from.name, to.name);
        log(&mut tx, task.id, user_id, "moved", &detail).await?;
    }
    if completing {
        log(&mut tx, task.id, user_id, "completed", "").await?;
    }
    if reopening {
        log(&mut tx, task.id, user_id, "reopened", "").await?;
    }
    if completing || reopening {
        super::reminders::task_changed(&mut tx, task.id, task.assignee_id, None).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Mark a task complete or not without moving it (when the project has no
/// column to move it to).
pub async fn set_completed(db: &DbPool, task: &Task, done: bool, user_id: i64) -> AppResult<()> {
    if done == task.completed_at.is_some() {
        return Ok(());
    }
    let mut tx = begin_write(db).await?;
    let t = now();
    sqlx::query(
        "UPDATE tasks SET completed_at = $1, completed_by = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(done.then_some(t))
    .bind(done.then_some(user_id))
    .bind(t)
    .bind(task.id)
    .execute(&mut *tx)
    .await?;
    let kind = if done { "completed" } else { "reopened" };
    log(&mut tx, task.id, user_id, kind, "").await?;
    super::reminders::task_changed(&mut tx, task.id, task.assignee_id, None).await?;
    tx.commit().await?;
    Ok(())
}
