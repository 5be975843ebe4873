//! Comments on tasks: Markdown, written by owners and editors, read by
//! every member. The model, the SQL and the JSON routes; the page's form
//! is in `task_routes.rs`.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use serde::{Deserialize, Serialize};

use super::actions::{self, may_edit_tasks, require, task_for};
use super::TasksConfig;
use crate::api::json::JsonBody;
use crate::api::{ApiRequest, ApiUser};
use crate::db::{begin_write, now, Db, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};

/// Longest comment, in characters.
pub const COMMENT_MAX: usize = 10_000;

/// A stored comment with its author's username.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Comment {
    pub id: i64,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub body: String,
    pub created_at: i64,
}

/// A comment as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CommentJson {
    pub id: i64,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub body: String,
    pub created_at: i64,
}

impl From<Comment> for CommentJson {
    fn from(c: Comment) -> Self {
        CommentJson {
            id: c.id,
            user_id: c.user_id,
            username: c.username,
            body: c.body,
            created_at: c.created_at,
        }
    }
}

/// The comment form.
#[derive(Debug, Clone, Default, FromForm)]
pub struct CommentForm {
    #[field(default = String::new())]
    pub body: String,
}

/// `POST /tasks/{project}/items/{task}/comments`.
#[derive(Debug, Clone, Deserialize)]
pub struct CommentRequest {
    pub body: Option<String>,
}

impl crate::api::json::Fields for CommentRequest {
    const FIELDS: &'static [&'static str] = &["body"];
}

/// A comment's text: not empty, at most [`COMMENT_MAX`] characters, no NUL.
pub fn validate(body: &str) -> Result<String, FieldErrors> {
    let body = body.replace("\r\n", "\n");
    let mut errors = FieldErrors::default();
    let n = body.trim().chars().count();
    if n == 0 {
        errors.add("body", "Write something first.");
    } else if n > COMMENT_MAX {
        errors.add(
            "body",
            format!("Use at most {COMMENT_MAX} characters (you have {n})."),
        );
    }
    if body.contains('\0') {
        errors.add("body", "Remove the NUL character.");
    }
    if errors.is_empty() {
        Ok(body.trim().to_string())
    } else {
        Err(errors)
    }
}

/// A task's comments, oldest first (the latest 200).
pub async fn list(db: &DbPool, task_id: i64) -> AppResult<Vec<Comment>> {
    let mut all: Vec<Comment> = sqlx::query_as(
        "SELECT c.id, c.user_id, u.username, c.body, c.created_at FROM task_comments c \
         LEFT JOIN users u ON u.id = c.user_id WHERE c.task_id = $1 ORDER BY c.id DESC LIMIT 200",
    )
    .bind(task_id)
    .fetch_all(&db.pool)
    .await?;
    all.reverse();
    Ok(all)
}

/// Store a comment and, in the same transaction, the notifications it
/// causes (src/tasks/notices.rs); its id.
pub async fn add(db: &DbPool, task_id: i64, user_id: i64, body: &str) -> AppResult<i64> {
    let mut tx = begin_write(db).await?;
    let id = sqlx::query_scalar(
        "INSERT INTO task_comments (task_id, user_id, body, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(task_id)
    .bind(user_id)
    .bind(body)
    .bind(now())
    .fetch_one(&mut *tx)
    .await?;
    super::notices::commented(&mut tx, task_id, id, user_id).await?;
    tx.commit().await?;
    Ok(id)
}

#[get("/tasks/<id>/items/<task>/comments", format = "json", rank = 1)]
async fn api_list(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
) -> AppResult<Json<Vec<CommentJson>>> {
    let (_, task) = task_for(db, id, task, me.0.id).await?;
    let all = list(db, task.id).await?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

#[post("/tasks/<id>/items/<task>/comments", data = "<body>", rank = 1)]
async fn api_add(
    _api: ApiRequest,
    db: &Db,
    cfg: &State<TasksConfig>,
    me: ApiUser,
    id: i64,
    task: i64,
    body: JsonBody<CommentRequest>,
) -> AppResult<(Status, Json<CommentJson>)> {
    let (project, task) = task_for(db, id, task, me.0.id).await?;
    require(may_edit_tasks(&project))?;
    let text = validate(body.0.body.as_deref().unwrap_or("")).map_err(AppError::Validation)?;
    actions::count_task(db, cfg, me.0.id).await?;
    let cid = add(db, task.id, me.0.id, &text).await?;
    let saved = list(db, task.id)
        .await?
        .into_iter()
        .find(|c| c.id == cid)
        .ok_or(AppError::NotFound)?;
    Ok((Status::Created, Json(saved.into())))
}

/// The comments JSON routes.
pub fn api_routes() -> Vec<Route> {
    routes![api_list, api_add]
}
