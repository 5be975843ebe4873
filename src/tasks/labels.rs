//! Labels: per project, a name and a colour from a fixed palette (each
//! colour has white text at a contrast of at least 4.5:1, so a label reads
//! on every card; the CSP allows no inline style, so a colour is a class).
//! Owners and editors create, rename, recolour and delete them and attach
//! them to tasks; every member sees them. The model and the SQL; the JSON
//! routes are in `label_api.rs`, the pages in `card_routes.rs`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::db::{begin_write, is_unique_violation, now, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};

/// The colours a label may have: its name, and its background (CSS class
/// `label-<name>` in the stylesheet, white text).
pub const PALETTE: [(&str, &str); 9] = [
    ("grey", "#5f6b65"),
    ("red", "#b42318"),
    ("orange", "#a5460d"),
    ("yellow", "#7a5d00"),
    ("green", "#2f6b3a"),
    ("teal", "#0f6b6b"),
    ("blue", "#1d4ed8"),
    ("purple", "#6d3fc0"),
    ("pink", "#a8326e"),
];

/// Longest label name, in characters.
pub const NAME_MAX: usize = 40;
/// Most labels one project holds.
pub const PER_PROJECT_MAX: i64 = 100;

/// A stored label.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct Label {
    pub id: i64,
    pub name: String,
    pub colour: String,
}

/// The label form (create and edit).
#[derive(Debug, Clone, Default, rocket::FromForm)]
pub struct LabelForm {
    #[field(default = String::new())]
    pub name: String,
    #[field(default = String::new())]
    pub colour: String,
}

/// `POST /tasks/{project}/labels` and `PUT …/labels/{label}`.
#[derive(Debug, Clone, Deserialize)]
pub struct LabelRequest {
    pub name: Option<String>,
    pub colour: Option<String>,
}

impl crate::api::json::Fields for LabelRequest {
    const FIELDS: &'static [&'static str] = &["name", "colour"];
}

/// `PUT /tasks/{project}/items/{task}/labels`: the task's labels, all of them.
#[derive(Debug, Clone, Deserialize)]
pub struct TaskLabelsRequest {
    pub label_ids: Vec<i64>,
}

impl crate::api::json::Fields for TaskLabelsRequest {
    const FIELDS: &'static [&'static str] = &["label_ids"];
}

/// A validated name and colour.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelInput {
    pub name: String,
    pub colour: String,
}

/// Check a label's name (1 to [`NAME_MAX`] characters, no control
/// characters) and colour (a palette name; grey when left empty).
pub fn validate(name: &str, colour: &str) -> Result<LabelInput, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 {
        errors.add("name", "Give the label a name.");
    } else if n > NAME_MAX {
        errors.add(
            "name",
            format!("Use at most {NAME_MAX} characters (you have {n})."),
        );
    } else if name.chars().any(char::is_control) {
        errors.add("name", "Remove the control characters.");
    }
    let colour = match colour.trim() {
        "" => "grey",
        c => c,
    };
    if !PALETTE.iter().any(|(p, _)| *p == colour) {
        let names: Vec<&str> = PALETTE.iter().map(|(p, _)| *p).collect();
        errors.add(
            "colour",
            format!("Choose one of the colours: {}.", names.join(", ")),
        );
    }
    if errors.is_empty() {
        Ok(LabelInput {
            name: name.to_string(),
            colour: colour.to_string(),
        })
    } else {
        Err(errors)
    }
}

/// The project's labels, by name.
pub async fn list(db: &DbPool, project_id: i64) -> AppResult<Vec<Label>> {
    Ok(sqlx::query_as(
        "SELECT id, name, colour FROM task_labels WHERE project_id = $1 ORDER BY LOWER(name), id",
    )
    .bind(project_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Label `id` of the project.
pub async fn get(db: &DbPool, project_id: i64, id: i64) -> AppResult<Option<Label>> {
    Ok(
        sqlx::query_as(
            "SELECT id, name, colour FROM task_labels WHERE id = $1 AND project_id = $2",
        )
        .bind(id)
        .bind(project_id)
        .fetch_optional(&db.pool)
        .await?,
    )
}

fn taken() -> FieldErrors {
    let mut errors = FieldErrors::default();
    errors.add("name", "The project has a label of that name already.");
    errors
}

/// Store a new label; a field error when the name is taken or the project
/// has [`PER_PROJECT_MAX`] labels.
pub async fn create(
    db: &DbPool,
    project_id: i64,
    input: &LabelInput,
) -> AppResult<Result<Label, FieldErrors>> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM task_labels WHERE project_id = $1")
        .bind(project_id)
        .fetch_one(&db.pool)
        .await?;
    if count >= PER_PROJECT_MAX {
        let mut errors = FieldErrors::default();
        errors.add(
            "name",
            format!("A project has at most {PER_PROJECT_MAX} labels."),
        );
        return Ok(Err(errors));
    }
    let r = sqlx::query_scalar(
        "INSERT INTO task_labels (project_id, name, colour, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(project_id)
    .bind(&input.name)
    .bind(&input.colour)
    .bind(now())
    .fetch_one(&db.pool)
    .await;
    match r {
        Ok(id) => Ok(Ok(Label {
            id,
            name: input.name.clone(),
            colour: input.colour.clone(),
        })),
        Err(e) if is_unique_violation(&e) => Ok(Err(taken())),
        Err(e) => Err(e.into()),
    }
}

/// Rename and recolour a label; a field error when the name is taken.
pub async fn update(
    db: &DbPool,
    label: &Label,
    input: &LabelInput,
) -> AppResult<Result<Label, FieldErrors>> {
    let r = sqlx::query("UPDATE task_labels SET name = $1, colour = $2 WHERE id = $3")
        .bind(&input.name)
        .bind(&input.colour)
        .bind(label.id)
        .execute(&db.pool)
        .await;
    match r {
        Ok(_) => Ok(Ok(Label {
            id: label.id,
            name: input.name.clone(),
            colour: input.colour.clone(),
        })),
        Err(e) if is_unique_violation(&e) => Ok(Err(taken())),
        Err(e) => Err(e.into()),
    }
}

/// Delete a label (it leaves every task it was on).
pub async fn delete(db: &DbPool, label: &Label) -> AppResult<()> {
    let mut tx = begin_write(db).await?;
    sqlx::query("DELETE FROM task_label_links WHERE label_id = $1")
        .bind(label.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM task_labels WHERE id = $1")
        .bind(label.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The labels of each of `task_ids`, by name (one query).
pub async fn of_tasks(db: &DbPool, task_ids: &[i64]) -> AppResult<HashMap<i64, Vec<Label>>> {
    let mut out: HashMap<i64, Vec<Label>> = HashMap::new();
    if task_ids.is_empty() {
        return Ok(out);
    }
    let ids = crate::db::id_list(task_ids);
    // The ids are integers formatted here, never text from a request.
    let sql = format!(
        "SELECT k.task_id, l.id, l.name, l.colour FROM task_label_links k \
         JOIN task_labels l ON l.id = k.label_id WHERE k.task_id IN ({ids}) \
         ORDER BY LOWER(l.name), l.id"
    );
    let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(&sql).fetch_all(&db.pool).await?;
    for (task, id, name, colour) in rows {
        out.entry(task)
            .or_default()
            .push(Label { id, name, colour });
    }
    Ok(out)
}

/// Set a task's labels to `label_ids` (labels of its own project only);
/// false when one of them is not a label of the project. One activity line
/// says what changed.
pub async fn set_for_task(
    db: &DbPool,
    project_id: i64,
    task_id: i64,
    label_ids: &[i64],
    user_id: i64,
) -> AppResult<bool> {
    let all = list(db, project_id).await?;
    let mut wanted: Vec<i64> = label_ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.iter().any(|id| !all.iter().any(|l| l.id == *id)) {
        return Ok(false);
    }
    let mut tx = begin_write(db).await?;
    let before: Vec<i64> =
        sqlx::query_scalar("SELECT label_id FROM task_label_links WHERE task_id = $1")
            .bind(task_id)
            .fetch_all(&mut *tx)
            .await?;
    let name = |id: &i64| {
        all.iter()
            .find(|l| l.id == *id)
            .map(|l| l.name.clone())
            .unwrap_or_default()
    };
    let added: Vec<String> = wanted
        .iter()
        .filter(|id| !before.contains(id))
        .map(name)
        .collect();
    let removed: Vec<i64> = before
        .iter()
        .filter(|id| !wanted.contains(id))
        .copied()
        .collect();
    for id in wanted.iter().filter(|id| !before.contains(id)) {
        sqlx::query("INSERT INTO task_label_links (task_id, label_id) VALUES ($1, $2)")
            .bind(task_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    for id in &removed {
        sqlx::query("DELETE FROM task_label_links WHERE task_id = $1 AND label_id = $2")
            .bind(task_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let removed: Vec<String> = removed.iter().map(name).collect();
    if !added.is_empty() || !removed.is_empty() {
        let mut parts = Vec::new();
        if !added.is_empty() {
            parts.push(format!("added {}", added.join(", ")));
        }
        if !removed.is_empty() {
            parts.push(format!("removed {}", removed.join(", ")));
        }
        log(&mut tx, task_id, user_id, &parts.join("; ")).await?;
    }
    tx.commit().await?;
    Ok(true)
}

async fn log(conn: &mut AnyConnection, task_id: i64, user_id: i64, detail: &str) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO task_activity (task_id, user_id, kind, detail, created_at) \
         VALUES ($1, $2, 'labels', $3, $4)",
    )
    .bind(task_id)
    .bind(user_id)
    .bind(detail)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The label `id` of the project, or 404.
pub async fn label_of(db: &DbPool, project_id: i64, id: i64) -> AppResult<Label> {
    get(db, project_id, id).await?.ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn names_and_colours_are_checked() {
        assert_eq!(validate(" Bug ", "").unwrap().colour, "grey");
        assert_eq!(validate("Bug", "red").unwrap().name, "Bug");
        assert!(validate("", "red").is_err());
        assert!(validate("Bug", "#ff0000").is_err());
        assert!(validate(&"x".repeat(41), "red").is_err());
        assert!(validate("a\u{0}b", "red").is_err());
    }
}
