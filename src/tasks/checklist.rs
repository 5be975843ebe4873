//! A task's checklist: sub-items in order, each ticked or not. Owners and
//! editors add, tick and untick, rename, reorder and delete them; every
//! member reads them, and cards show the progress ("2/5"). The model, the
//! SQL and the JSON routes; the page's forms are in `card_routes.rs`.

use std::collections::HashMap;

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route};
use serde::{Deserialize, Serialize};

use super::actions::{may_edit_tasks, require, task_for};
use super::items::GAP;
use crate::api::json::JsonBody;
use crate::api::{ApiRequest, ApiUser};
use crate::db::{affected, begin_write, now, Db, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};

/// Longest item text, in characters.
pub const TEXT_MAX: usize = 200;
/// Most items one checklist holds.
pub const ITEMS_MAX: i64 = 100;

/// A stored checklist item.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Item {
    pub id: i64,
    pub position: i64,
    pub text: String,
    pub done: i64,
}

/// An item as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemJson {
    pub id: i64,
    pub position: i64,
    pub text: String,
    pub done: bool,
}

impl From<Item> for ItemJson {
    fn from(i: Item) -> Self {
        ItemJson {
            id: i.id,
            position: i.position,
            text: i.text,
            done: i.done != 0,
        }
    }
}

/// `POST …/checklist` and `PUT …/checklist/{item}` (fields left out keep
/// their value; `move` is "up" or "down").
#[derive(Debug, Clone, Deserialize)]
pub struct ItemRequest {
    pub text: Option<String>,
    pub done: Option<bool>,
    #[serde(rename = "move")]
    pub shift: Option<String>,
}

impl crate::api::json::Fields for ItemRequest {
    const FIELDS: &'static [&'static str] = &["text", "done", "move"];
}

/// An item's text: 1 to [`TEXT_MAX`] characters, no control characters.
pub fn validate(text: &str) -> Result<String, FieldErrors> {
    let mut errors = FieldErrors::default();
    let text = text.trim();
    let n = text.chars().count();
    if n == 0 {
        errors.add("text", "Write what needs doing.");
    } else if n > TEXT_MAX {
        errors.add(
            "text",
            format!("Use at most {TEXT_MAX} characters (you have {n})."),
        );
    } else if text.chars().any(char::is_control) {
        errors.add("text", "Remove the control characters.");
    }
    if errors.is_empty() {
        Ok(text.to_string())
    } else {
        Err(errors)
    }
}

/// "up" is -1, "down" +1; anything else a field error.
pub fn step_of(direction: &str) -> Result<i64, FieldErrors> {
    match direction {
        "up" => Ok(-1),
        "down" => Ok(1),
        _ => {
            let mut errors = FieldErrors::default();
            errors.add("move", "Use \"up\" or \"down\".");
            Err(errors)
        }
    }
}

/// A task's checklist, in order.
pub async fn list(db: &DbPool, task_id: i64) -> AppResult<Vec<Item>> {
    Ok(sqlx::query_as(
        "SELECT id, position, text, done FROM task_checklist WHERE task_id = $1 \
         ORDER BY position, id",
    )
    .bind(task_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Item `id` of the task.
pub async fn get(db: &DbPool, task_id: i64, id: i64) -> AppResult<Option<Item>> {
    Ok(sqlx::query_as(
        "SELECT id, position, text, done FROM task_checklist WHERE id = $1 AND task_id = $2",
    )
    .bind(id)
    .bind(task_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Item `id` of the task, or 404.
pub async fn item_of(db: &DbPool, task_id: i64, id: i64) -> AppResult<Item> {
    get(db, task_id, id).await?.ok_or(AppError::NotFound)
}

/// Add an item at the end; a field error when the list is full.
pub async fn add(db: &DbPool, task_id: i64, text: &str) -> AppResult<Result<i64, FieldErrors>> {
    let mut tx = begin_write(db).await?;
    let (count, last): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MAX(position) FROM task_checklist WHERE task_id = $1")
            .bind(task_id)
            .fetch_one(&mut *tx)
            .await?;
    if count >= ITEMS_MAX {
        let mut errors = FieldErrors::default();
        errors.add(
            "text",
            format!("A checklist holds at most {ITEMS_MAX} items."),
        );
        return Ok(Err(errors));
    }
    let id = sqlx::query_scalar(
        "INSERT INTO task_checklist (task_id, position, text, done, created_at) \
         VALUES ($1, $2, $3, 0, $4) RETURNING id",
    )
    .bind(task_id)
    .bind(last.unwrap_or(0) + GAP)
    .bind(text)
    .bind(now())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Tick or untick an item.
pub async fn set_done(db: &DbPool, item: &Item, done: bool) -> AppResult<()> {
    sqlx::query("UPDATE task_checklist SET done = $1 WHERE id = $2")
        .bind(i64::from(done))
        .bind(item.id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Change an item's text.
pub async fn rename(db: &DbPool, item: &Item, text: &str) -> AppResult<()> {
    sqlx::query("UPDATE task_checklist SET text = $1 WHERE id = $2")
        .bind(text)
        .bind(item.id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Swap an item with its neighbour above (`step` -1) or below (+1); at
/// either end nothing changes.
pub async fn shift(db: &DbPool, task_id: i64, item: &Item, step: i64) -> AppResult<()> {
    let mut tx = begin_write(db).await?;
    let sql = if step < 0 {
        "SELECT id, position, text, done FROM task_checklist WHERE task_id = $1 \
         AND (position < $2 OR (position = $2 AND id < $3)) ORDER BY position DESC, id DESC LIMIT 1"
    } else {
        "SELECT id, position, text, done FROM task_checklist WHERE task_id = $1 \
         AND (position > $2 OR (position = $2 AND id > $3)) ORDER BY position, id LIMIT 1"
    };
    let other: Option<Item> = sqlx::query_as(sql)
        .bind(task_id)
        .bind(item.position)
        .bind(item.id)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(other) = other {
        // Equal positions (never written here) would make a swap a no-op.
        let (a, b) = if other.position == item.position {
            (other.position + step, item.position)
        } else {
            (other.position, item.position)
        };
        for (id, pos) in [(item.id, a), (other.id, b)] {
            sqlx::query("UPDATE task_checklist SET position = $1 WHERE id = $2")
                .bind(pos)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Delete an item.
pub async fn remove(db: &DbPool, item: &Item) -> AppResult<bool> {
    let r = sqlx::query("DELETE FROM task_checklist WHERE id = $1")
        .bind(item.id)
        .execute(&db.pool)
        .await?;
    Ok(affected(&r) == 1)
}

/// (ticked, total) of each of `task_ids` that has a checklist (one query).
pub async fn progress(db: &DbPool, task_ids: &[i64]) -> AppResult<HashMap<i64, (i64, i64)>> {
    if task_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ids = crate::db::id_list(task_ids);
    // The ids are integers formatted here, never text from a request.
    let sql = format!(
        "SELECT task_id, CAST(SUM(done) AS BIGINT), COUNT(*) FROM task_checklist \
         WHERE task_id IN ({ids}) GROUP BY task_id"
    );
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(&sql).fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(|(t, d, n)| (t, (d, n))).collect())
}

async fn items_json(db: &DbPool, task_id: i64) -> AppResult<Json<Vec<ItemJson>>> {
    let all = list(db, task_id).await?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

#[get("/tasks/<id>/items/<task>/checklist", format = "json", rank = 1)]
async fn api_list(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
) -> AppResult<Json<Vec<ItemJson>>> {
    let (_, task) = task_for(db, id, task, me.0.id).await?;
    items_json(db, task.id).await
}

#[post("/tasks/<id>/items/<task>/checklist", data = "<body>", rank = 1)]
async fn api_add(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
    body: JsonBody<ItemRequest>,
) -> AppResult<(Status, Json<ItemJson>)> {
    let (project, task) = task_for(db, id, task, me.0.id).await?;
    require(may_edit_tasks(&project))?;
    let text = validate(body.0.text.as_deref().unwrap_or("")).map_err(AppError::Validation)?;
    let item = add(db, task.id, &text)
        .await?
        .map_err(AppError::Validation)?;
    if body.0.done == Some(true) {
        set_done(db, &item_of(db, task.id, item).await?, true).await?;
    }
    Ok((
        Status::Created,
        Json(item_of(db, task.id, item).await?.into()),
    ))
}

#[put("/tasks/<id>/items/<task>/checklist/<item>", data = "<body>", rank = 1)]
async fn api_update(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
    item: i64,
    body: JsonBody<ItemRequest>,
) -> AppResult<Json<ItemJson>> {
    let (project, task) = task_for(db, id, task, me.0.id).await?;
    let item = item_of(db, task.id, item).await?;
    require(may_edit_tasks(&project))?;
    let JsonBody(b) = body;
    let text = b
        .text
        .as_deref()
        .map(validate)
        .transpose()
        .map_err(AppError::Validation)?;
    let step = b
        .shift
        .as_deref()
        .map(step_of)
        .transpose()
        .map_err(AppError::Validation)?;
    if let Some(text) = text {
        rename(db, &item, &text).await?;
    }
    if let Some(done) = b.done {
        set_done(db, &item, done).await?;
    }
    if let Some(step) = step {
        shift(db, task.id, &item, step).await?;
    }
    Ok(Json(item_of(db, task.id, item.id).await?.into()))
}

#[delete("/tasks/<id>/items/<task>/checklist/<item>", rank = 1)]
async fn api_delete(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
    item: i64,
) -> AppResult<Status> {
    let (project, task) = task_for(db, id, task, me.0.id).await?;
    let item = item_of(db, task.id, item).await?;
    require(may_edit_tasks(&project))?;
    remove(db, &item).await?;
    Ok(Status::NoContent)
}

/// The checklist JSON routes.
pub fn api_routes() -> Vec<Route> {
    routes![api_list, api_add, api_update, api_delete]
}

#[cfg(test)]
mod tests {
    use super::{step_of, validate};

    #[test]
    fn item_text_and_directions_are_checked() {
        assert_eq!(validate("  Buy milk ").unwrap(), "Buy milk");
        assert!(validate(" ").is_err());
        assert!(validate(&"x".repeat(201)).is_err());
        assert!(validate("a\nb").is_err());
        assert_eq!(step_of("up").unwrap(), -1);
        assert_eq!(step_of("down").unwrap(), 1);
        assert!(step_of("sideways").is_err());
    }
}
