//! Task queries. Every one is scoped to a project the caller has checked
//! membership of; a task of another project behaves like a missing one.
//! Moves and completion: `moves.rs`.

use sqlx::AnyConnection;

use super::columns::Column;
use super::json::TaskJson;
use super::model::{priority_name, TaskInput};
use super::notices;
use crate::db::{affected, begin_write, now, DbPool};
use crate::error::AppResult;

/// The gap left between neighbouring tasks.
pub const GAP: i64 = 1024;

/// A stored task, with its assignee's username.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Task {
    pub id: i64,
    pub project_id: i64,
    pub column_id: i64,
    pub position: i64,
    pub title: String,
    pub description: String,
    pub assignee_id: Option<i64>,
    pub assignee: Option<String>,
    pub due_date: Option<String>,
    pub due_time: Option<String>,
    /// When a timed task is due (unix seconds); none for all-day or undated.
    pub due_at: Option<i64>,
    pub priority: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
    pub completed_by: Option<i64>,
    pub completed_by_name: Option<String>,
}

impl From<Task> for TaskJson {
    fn from(t: Task) -> Self {
        TaskJson {
            id: t.id,
            project_id: t.project_id,
            column_id: t.column_id,
            position: t.position,
            title: t.title,
            description: t.description,
            assignee_id: t.assignee_id,
            assignee: t.assignee,
            due_date: t.due_date,
            due_time: t.due_time,
            due_at: t.due_at.and_then(rfc3339),
            priority: priority_name(t.priority),
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
            completed_at: t.completed_at,
            completed_by: t.completed_by,
        }
    }
}

/// Unix seconds as RFC 3339 in UTC (`2026-12-31T08:30:00Z`).
fn rfc3339(at: i64) -> Option<String> {
    jiff::Timestamp::from_second(at).ok().map(|t| t.to_string())
}

/// The columns of a [`Task`] and the joins they need (`t` is the task).
pub(super) const SELECT: &str =
    "SELECT t.id, t.project_id, t.column_id, t.position, t.title, t.description, \
     t.assignee_id, a.username AS assignee, t.due_date, t.due_time, t.due_at, t.priority, t.version, \
     t.created_at, t.updated_at, t.completed_at, t.completed_by, c.username AS completed_by_name \
     FROM tasks t LEFT JOIN users a ON a.id = t.assignee_id \
     LEFT JOIN users c ON c.id = t.completed_by";

/// Task `id` of the project.
pub async fn get(db: &DbPool, project_id: i64, id: i64) -> AppResult<Option<Task>> {
    let mut conn = db.pool.acquire().await?;
    get_in(&mut conn, project_id, id).await
}

/// [`get`] inside the caller's transaction.
async fn get_in(conn: &mut AnyConnection, project_id: i64, id: i64) -> AppResult<Option<Task>> {
    Ok(
        sqlx::query_as(&format!("{SELECT} WHERE t.id = $1 AND t.project_id = $2"))
            .bind(id)
            .bind(project_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The first `limit` tasks of a column, in order, and how many it holds.
pub async fn in_column(db: &DbPool, column_id: i64, limit: i64) -> AppResult<(Vec<Task>, i64)> {
    let tasks = sqlx::query_as(&format!(
        "{SELECT} WHERE t.column_id = $1 ORDER BY t.position, t.id LIMIT $2"
    ))
    .bind(column_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    let count = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE column_id = $1")
        .bind(column_id)
        .fetch_one(&db.pool)
        .await?;
    Ok((tasks, count))
}

/// Write an activity line for a task; its id.
pub(super) async fn log(
    conn: &mut AnyConnection,
    task_id: i64,
    user_id: i64,
    kind: &str,
    detail: &str,
) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO task_activity (task_id, user_id, kind, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(task_id)
    .bind(user_id)
    .bind(kind)
    .bind(detail)
    .bind(now())
    .fetch_one(&mut *conn)
    .await?)
}

/// The position at the end of a column, leaving out task `except`.
pub(super) async fn end_of(
    conn: &mut AnyConnection,
    column_id: i64,
    except: i64,
) -> AppResult<i64> {
    let last: Option<i64> =
        sqlx::query_scalar("SELECT MAX(position) FROM tasks WHERE column_id = $1 AND id <> $2")
            .bind(column_id)
            .bind(except)
            .fetch_one(&mut *conn)
            .await?;
    Ok(last.unwrap_or(0) + GAP)
}

/// Create a task at the end of `column` (done columns complete it).
pub async fn create(
    db: &DbPool,
    project_id: i64,
    column: &Column,
    user_id: i64,
    task: &TaskInput,
) -> AppResult<i64> {
    let mut tx = begin_write(db).await?;
    let t = now();
    let position = end_of(&mut tx, column.id, 0).await?;
    let (completed_at, completed_by) = if column.is_done() {
        (Some(t), Some(user_id))
    } else {
        (None, None)
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tasks (project_id, column_id, position, title, description, assignee_id, \
         due_date, due_time, priority, version, created_by, created_at, updated_at, \
         completed_at, completed_by, due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $11, $12, $13, $14) RETURNING id",
    )
    .bind(project_id)
    .bind(column.id)
    .bind(position)
    .bind(&task.title)
    .bind(&task.description)
    .bind(task.assignee_id)
    .bind(&task.due_date)
    .bind(&task.due_time)
    .bind(task.priority)
    .bind(user_id)
    .bind(t)
    .bind(completed_at)
    .bind(completed_by)
    .bind(task.due_at)
    .fetch_one(&mut *tx)
    .await?;
    let created = log(&mut tx, id, user_id, "created", &column.name).await?;
    if let Some(a) = task.assignee_id {
        notices::assigned(&mut tx, project_id, id, &task.title, a, user_id, created).await?;
    }
    super::reminders::task_changed(&mut tx, id, None, Some(user_id)).await?;
    tx.commit().await?;
    Ok(id)
}

/// What an edit did.
#[derive(Debug)]
pub enum Saved {
    /// Stored; the task's new version.
    Version(i64),
    /// Someone saved first: the task as it is now.
    Conflict(Box<Task>),
    /// No such task in the project.
    NotFound,
}

/// "2026-12-31 09:30", "2026-12-31" or "none".
pub fn due_label(date: Option<&str>, time: Option<&str>) -> String {
    match (date, time) {
        (Some(d), Some(t)) => format!("{d} {t}"),
        (Some(d), None) => d.to_string(),
        _ => "none".into(),
    }
}

/// Save `task` over version `expected`. The version check and the write
/// are one UPDATE, so two edits from the same version cannot both win.
pub async fn update(
    db: &DbPool,
    project_id: i64,
    id: i64,
    expected: i64,
    task: &TaskInput,
    user_id: i64,
) -> AppResult<Saved> {
    let mut tx = begin_write(db).await?;
    let Some(before) = get_in(&mut tx, project_id, id).await? else {
        return Ok(Saved::NotFound);
    };
    let done = sqlx::query(
        "UPDATE tasks SET title = $1, description = $2, assignee_id = $3, due_date = $4, \
         due_time = $5, priority = $6, version = version + 1, updated_at = $7, due_at = $11 \
         WHERE id = $8 AND project_id = $9 AND version = $10",
    )
    .bind(&task.title)
    .bind(&task.description)
    .bind(task.assignee_id)
    .bind(&task.due_date)
    .bind(&task.due_time)
    .bind(task.priority)
    .bind(now())
    .bind(id)
    .bind(project_id)
    .bind(expected)
    .bind(task.due_at)
    .execute(&mut *tx)
    .await?;
    if affected(&done) != 1 {
        tx.rollback().await?;
        return Ok(match get(db, project_id, id).await? {
            Some(current) => Saved::Conflict(Box::new(current)),
            None => Saved::NotFound,
        });
    }
    if before.assignee_id != task.assignee_id {
        let name: Option<String> = match task.assignee_id {
            Some(a) => {
                sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
                    .bind(a)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        match (name, task.assignee_id) {
            (Some(n), Some(a)) => {
                let line = log(&mut tx, id, user_id, "assigned", &n).await?;
                notices::assigned(&mut tx, project_id, id, &task.title, a, user_id, line).await?;
            }
            _ => {
                log(&mut tx, id, user_id, "unassigned", "").await?;
            }
        }
    }
    let due_before = due_label(before.due_date.as_deref(), before.due_time.as_deref());
    let due_after = due_label(task.due_date.as_deref(), task.due_time.as_deref());
    if due_before != due_after {
        // In UTC for a timed task: the line is read by members of every zone.
        let shown = match task.due_at {
            Some(_) => format!("{due_after} UTC"),
            None => due_after,
        };
        log(&mut tx, id, user_id, "due", &shown).await?;
    }
    super::reminders::task_changed(&mut tx, id, before.assignee_id, Some(user_id)).await?;
    if before.title != task.title
        || before.description != task.description
        || before.priority != task.priority
    {
        log(&mut tx, id, user_id, "edited", "").await?;
    }
    tx.commit().await?;
    Ok(Saved::Version(expected + 1))
}

/// Delete a task of the project. False when there was none.
pub async fn delete(db: &DbPool, project_id: i64, id: i64) -> AppResult<bool> {
    let r = sqlx::query("DELETE FROM tasks WHERE id = $1 AND project_id = $2")
        .bind(id)
        .bind(project_id)
        .execute(&db.pool)
        .await?;
    Ok(affected(&r) == 1)
}

/// One line of a task's activity.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Activity {
    pub username: Option<String>,
    pub kind: String,
    pub detail: String,
    pub created_at: i64,
}

/// A task's latest activity lines, oldest first.
pub async fn activity(db: &DbPool, task_id: i64) -> AppResult<Vec<Activity>> {
    let mut lines: Vec<Activity> = sqlx::query_as(
        "SELECT u.username, a.kind, a.detail, a.created_at FROM task_activity a \
         LEFT JOIN users u ON u.id = a.user_id WHERE a.task_id = $1 ORDER BY a.id DESC LIMIT 100",
    )
    .bind(task_id)
    .fetch_all(&db.pool)
    .await?;
    lines.reverse();
    Ok(lines)
}

/// An open task assigned to someone, with its project's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Assigned {
    pub id: i64,
    pub project_id: i64,
    pub project: String,
    pub title: String,
    pub due_date: Option<String>,
    pub due_time: Option<String>,
    pub due_at: Option<i64>,
    pub priority: i64,
}

/// The open tasks assigned to `user_id` in the projects they are a member
/// of (archived ones left out), soonest due first, undated last.
pub async fn assigned_to(db: &DbPool, user_id: i64, limit: i64) -> AppResult<Vec<Assigned>> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.project_id, p.name AS project, t.title, t.due_date, t.due_time, t.due_at, \
         t.priority \
         FROM tasks t JOIN task_members m ON m.project_id = t.project_id AND m.user_id = $1 \
         JOIN task_projects p ON p.id = t.project_id \
         WHERE t.assignee_id = $1 AND t.completed_at IS NULL AND p.archived = 0 \
         ORDER BY CASE WHEN t.due_date IS NULL THEN 1 ELSE 0 END, t.due_date, \
                  CASE WHEN t.due_time IS NULL THEN 1 ELSE 0 END, t.due_time, t.id \
         LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}
