//! A project's columns (its statuses), left to right. Every query is
//! scoped to the project, which the caller has checked membership of.

use super::json::ColumnJson;
use super::model::COLUMNS_MAX;
use crate::db::{affected, begin_write, DbPool};
use crate::error::AppResult;

/// One column.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Column {
    pub id: i64,
    pub name: String,
    pub position: i64,
    /// 0/1: tasks moved here are complete.
    pub done: i64,
}

impl Column {
    /// True when tasks in this column are complete.
    pub fn is_done(&self) -> bool {
        self.done != 0
    }
}

impl From<&Column> for ColumnJson {
    fn from(c: &Column) -> Self {
        ColumnJson {
            id: c.id,
            name: c.name.clone(),
            position: c.position,
            done: c.is_done(),
        }
    }
}

/// The project's columns, left to right.
pub async fn list(db: &DbPool, project_id: i64) -> AppResult<Vec<Column>> {
    Ok(sqlx::query_as(
        "SELECT id, name, position, done FROM task_columns WHERE project_id = $1 \
         ORDER BY position, id",
    )
    .bind(project_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Column `id` of the project.
pub async fn get(db: &DbPool, project_id: i64, id: i64) -> AppResult<Option<Column>> {
    Ok(sqlx::query_as(
        "SELECT id, name, position, done FROM task_columns WHERE id = $1 AND project_id = $2",
    )
    .bind(id)
    .bind(project_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Add a column at the right end. None when the project has the most
/// columns it may have.
pub async fn add(db: &DbPool, project_id: i64, name: &str, done: bool) -> AppResult<Option<i64>> {
    let mut tx = begin_write(db).await?;
    let (count, last): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MAX(position) FROM task_columns WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&mut *tx)
            .await?;
    if count >= COLUMNS_MAX {
        return Ok(None);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO task_columns (project_id, name, position, done) VALUES ($1, $2, $3, $4) \
         RETURNING id",
    )
    .bind(project_id)
    .bind(name)
    .bind(last.unwrap_or(0) + 1)
    .bind(i64::from(done))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Rename a column and set whether it means done. False when there is none.
pub async fn update(
    db: &DbPool,
    project_id: i64,
    id: i64,
    name: &str,
    done: bool,
) -> AppResult<bool> {
    let r = sqlx::query(
        "UPDATE task_columns SET name = $1, done = $2 WHERE id = $3 AND project_id = $4",
    )
    .bind(name)
    .bind(i64::from(done))
    .bind(id)
    .bind(project_id)
    .execute(&db.pool)
    .await?;
    Ok(affected(&r) == 1)
}

/// Swap a column with its neighbour to the left (`step` < 0) or the
/// right. False when there is no such column; at either end nothing moves.
pub async fn shift(db: &DbPool, project_id: i64, id: i64, step: i64) -> AppResult<bool> {
    let mut tx = begin_write(db).await?;
    let all: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, position FROM task_columns WHERE project_id = $1 ORDER BY position, id",
    )
    .bind(project_id)
    .fetch_all(&mut *tx)
    .await?;
    let Some(at) = all.iter().position(|(c, _)| *c == id) else {
        return Ok(false);
    };
    let other = if step < 0 {
        at.checked_sub(1)
    } else {
        Some(at + 1).filter(|i| *i < all.len())
    };
    if let Some(other) = other {
        // Rewrite every position as its index: the two swap, and equal
        // positions left by older data cannot keep the order ambiguous.
        let mut order: Vec<i64> = all.iter().map(|(c, _)| *c).collect();
        order.swap(at, other);
        for (i, column) in order.iter().enumerate() {
            sqlx::query("UPDATE task_columns SET position = $1 WHERE id = $2")
                .bind(i as i64 + 1)
                .bind(column)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// What removing a column did.
#[derive(Debug, PartialEq, Eq)]
pub enum Removed {
    Done,
    NotFound,
    /// Refused: tasks are still in it.
    NotEmpty,
    /// Refused: a project keeps at least one column.
    LastColumn,
}

/// Remove an empty column.
pub async fn remove(db: &DbPool, project_id: i64, id: i64) -> AppResult<Removed> {
    let mut tx = begin_write(db).await?;
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM task_columns WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        return Ok(Removed::NotFound);
    }
    let columns: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM task_columns WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&mut *tx)
            .await?;
    if columns <= 1 {
        return Ok(Removed::LastColumn);
    }
    let tasks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE column_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if tasks > 0 {
        return Ok(Removed::NotEmpty);
    }
    sqlx::query("DELETE FROM task_columns WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Removed::Done)
}
