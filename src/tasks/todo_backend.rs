//! A member's personal quick list in the Todo-Backend shape
//! (todobackend.com), at `/todo-backend/{secret}/todos`: `GET` lists,
//! `POST {title, order?}` creates, `DELETE` empties; each todo's absolute
//! `url` answers `GET`, `PATCH` (title, completed, order) and `DELETE`.
//! The todos are the member's tasks in their "Inbox" project, so they show
//! on its board too. The secret in the address is the only credential (no
//! cookies are read, so no CSRF token is asked for), and CORS is open on
//! these paths alone, with preflight.

use rocket::http::{Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::{delete, get, options, patch, post, routes, Route, State};
use serde_json::{json, Value};
use sqlx::AnyConnection;

use super::actions;
use super::columns;
use super::items::{self, log};
use super::model::{TaskFields, TaskInput};
use super::repo;
use crate::config::AppConfig;
use crate::db::{begin_write, now, Db, DbPool};
use crate::error::{AppError, AppResult};
use crate::session::{hash_token, random_token};

/// An answer with CORS open to every origin.
pub struct TodoReply(Status, Option<Value>);

impl<'r> Responder<'r, 'static> for TodoReply {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = match self.1 {
            Some(v) => rocket::response::status::Custom(self.0, rocket::serde::json::Json(v))
                .respond_to(req)?,
            None => Response::build().status(self.0).finalize(),
        };
        res.set_header(Header::new("Access-Control-Allow-Origin", "*"));
        res.set_header(Header::new(
            "Access-Control-Allow-Methods",
            "GET, POST, PATCH, DELETE, OPTIONS",
        ));
        let asked = req
            .headers()
            .get_one("Access-Control-Request-Headers")
            .unwrap_or("Content-Type");
        res.set_header(Header::new(
            "Access-Control-Allow-Headers",
            asked.to_string(),
        ));
        res.set_header(Header::new("Access-Control-Max-Age", "600"));
        Ok(res)
    }
}

fn error(status: Status, code: &str, message: &str) -> TodoReply {
    TodoReply(status, Some(json!({"error": code, "message": message})))
}

/// A result as a reply: errors as JSON with their status.
fn reply(r: AppResult<TodoReply>) -> TodoReply {
    match r {
        Ok(r) => r,
        Err(AppError::NotFound) => error(Status::NotFound, "not_found", "No such list or todo."),
        Err(AppError::Forbidden) => error(Status::Forbidden, "forbidden", "The list is read-only."),
        Err(AppError::Validation(f)) => TodoReply(
            Status::UnprocessableEntity,
            Some(json!({"error": "validation", "message": "Check the fields.", "fields": f})),
        ),
        Err(e) => {
            rocket::error!("todo-backend: {e}");
            error(
                Status::InternalServerError,
                "internal",
                "Something went wrong.",
            )
        }
    }
}

/// The owner of a list and its Inbox project.
struct List {
    user_id: i64,
    project_id: i64,
    base: String,
}

async fn list_of(db: &DbPool, app: &AppConfig, secret: &str) -> AppResult<List> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT user_id, inbox_project_id FROM task_user_settings WHERE todo_hash = $1",
    )
    .bind(hash_token(secret))
    .fetch_optional(&db.pool)
    .await?;
    let Some((user_id, Some(project_id))) = row else {
        return Err(AppError::NotFound);
    };
    Ok(List {
        user_id,
        project_id,
        base: format!(
            "{}/todo-backend/{secret}/todos",
            app.base_url.trim_end_matches('/')
        ),
    })
}

#[derive(sqlx::FromRow)]
struct Todo {
    id: i64,
    title: String,
    completed_at: Option<i64>,
    todo_order: Option<i64>,
}

impl Todo {
    fn json(&self, base: &str) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "completed": self.completed_at.is_some(),
            "order": self.todo_order,
            "url": format!("{base}/{}", self.id),
        })
    }
}

const TODO: &str = "SELECT id, title, completed_at, todo_order FROM tasks";

async fn todo(db: &DbPool, list: &List, id: i64) -> AppResult<Todo> {
    sqlx::query_as(&format!("{TODO} WHERE id = $1 AND project_id = $2"))
        .bind(id)
        .bind(list.project_id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound)
}

/// A title from a body, checked as a task's is.
fn title_of(v: &Value) -> AppResult<String> {
    let title = v.get("title").and_then(Value::as_str).unwrap_or("");
    let input = TaskInput::validate(TaskFields {
        title,
        description: "",
        assignee_id: None,
        due_date: "",
        due_time: "",
        priority: "",
    })
    .map_err(AppError::Validation)?;
    Ok(input.title)
}

fn body_of(body: &str) -> AppResult<Value> {
    match serde_json::from_str::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => {
            let mut f = crate::error::FieldErrors::default();
            f.add("body", "Send a JSON object.");
            Err(AppError::Validation(f))
        }
    }
}

/// An `order` from a body: a whole number, or absent/null.
fn order_of(v: &Value) -> AppResult<Option<Option<i64>>> {
    match v.get("order") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(o) => match o.as_i64().or_else(|| o.as_f64().map(|f| f as i64)) {
            Some(n) => Ok(Some(Some(n))),
            None => {
                let mut f = crate::error::FieldErrors::default();
                f.add("order", "Use a whole number.");
                Err(AppError::Validation(f))
            }
        },
    }
}

async fn set_order(conn: &mut AnyConnection, id: i64, order: Option<i64>) -> AppResult<()> {
    sqlx::query("UPDATE tasks SET todo_order = $1 WHERE id = $2")
        .bind(order)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[get("/todo-backend/<secret>/todos")]
async fn index(db: &Db, app: &State<AppConfig>, secret: &str) -> TodoReply {
    reply(
        async {
            let list = list_of(db, app, secret).await?;
            let todos: Vec<Todo> = sqlx::query_as(&format!(
            "{TODO} WHERE project_id = $1 ORDER BY CASE WHEN todo_order IS NULL THEN 1 ELSE 0 END, \
             todo_order, id"
        ))
            .bind(list.project_id)
            .fetch_all(&db.pool)
            .await?;
            let all: Vec<Value> = todos.iter().map(|t| t.json(&list.base)).collect();
            Ok(TodoReply(Status::Ok, Some(Value::Array(all))))
        }
        .await,
    )
}

#[post("/todo-backend/<secret>/todos", data = "<body>")]
async fn create(db: &Db, app: &State<AppConfig>, secret: &str, body: &str) -> TodoReply {
    reply(
        async {
            let list = list_of(db, app, secret).await?;
            let project = actions::project_for(db, list.project_id, list.user_id).await?;
            actions::require(actions::may_edit_tasks(&project))?;
            let v = body_of(body)?;
            let title = title_of(&v)?;
            let order = order_of(&v)?.flatten();
            let column = columns::list(db, list.project_id)
                .await?
                .into_iter()
                .find(|c| !c.is_done())
                .ok_or(AppError::NotFound)?;
            let input = TaskInput {
                title,
                description: String::new(),
                assignee_id: None,
                due_date: None,
                due_time: None,
                due_at: None,
                priority: 0,
            };
            let id = items::create(db, list.project_id, &column, list.user_id, &input).await?;
            let mut conn = db.pool.acquire().await?;
            set_order(&mut conn, id, order).await?;
            let t = todo(db, &list, id).await?;
            Ok(TodoReply(Status::Created, Some(t.json(&list.base))))
        }
        .await,
    )
}

#[delete("/todo-backend/<secret>/todos")]
async fn clear(db: &Db, app: &State<AppConfig>, secret: &str) -> TodoReply {
    reply(
        async {
            let list = list_of(db, app, secret).await?;
            let project = actions::project_for(db, list.project_id, list.user_id).await?;
            actions::require(actions::may_edit_tasks(&project))?;
            sqlx::query("DELETE FROM tasks WHERE project_id = $1")
                .bind(list.project_id)
                .execute(&db.pool)
                .await?;
            Ok(TodoReply(Status::NoContent, None))
        }
        .await,
    )
}

#[get("/todo-backend/<secret>/todos/<id>")]
async fn show(db: &Db, app: &State<AppConfig>, secret: &str, id: i64) -> TodoReply {
    reply(
        async {
            let list = list_of(db, app, secret).await?;
            let t = todo(db, &list, id).await?;
            Ok(TodoReply(Status::Ok, Some(t.json(&list.base))))
        }
        .await,
    )
}

#[patch("/todo-backend/<secret>/todos/<id>", data = "<body>")]
async fn change(db: &Db, app: &State<AppConfig>, secret: &str, id: i64, body: &str) -> TodoReply {
    reply(
        async {
            let list = list_of(db, app, secret).await?;
            let (project, task) = actions::task_for(db, list.project_id, id, list.user_id).await?;
            actions::require(actions::may_edit_tasks(&project))?;
            let v = body_of(body)?;
            let title = match v.get("title") {
                Some(_) => Some(title_of(&v)?),
                None => None,
            };
            let order = order_of(&v)?;
            let completed = match v.get("completed") {
                None => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => {
                    let mut f = crate::error::FieldErrors::default();
                    f.add("completed", "Use true or false.");
                    return Err(AppError::Validation(f));
                }
            };
            let mut tx = begin_write(db).await?;
            if let Some(title) = title.filter(|t| *t != task.title) {
                sqlx::query(
                "UPDATE tasks SET title = $1, version = version + 1, updated_at = $2 WHERE id = $3",
            )
            .bind(&title)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
                log(&mut tx, id, list.user_id, "edited", "").await?;
            }
            if let Some(order) = order {
                set_order(&mut tx, id, order).await?;
            }
            tx.commit().await?;
            match completed {
                Some(true) if task.completed_at.is_none() => {
                    actions::complete(db, &task, list.user_id).await?;
                }
                Some(false) if task.completed_at.is_some() => {
                    actions::reopen(db, &task, list.user_id).await?;
                }
                _ => {}
            }
            let t = todo(db, &list, id).await?;
            Ok(TodoReply(Status::Ok, Some(t.json(&list.base))))
        }
        .await,
    )
}

#[delete("/todo-backend/<secret>/todos/<id>")]
async fn remove(db: &Db, app: &State<AppConfig>, secret: &str, id: i64) -> TodoReply {
    reply(
        async {
            let list = list_of(db, app, secret).await?;
            let project = actions::project_for(db, list.project_id, list.user_id).await?;
            actions::require(actions::may_edit_tasks(&project))?;
            if !items::delete(db, list.project_id, id).await? {
                return Err(AppError::NotFound);
            }
            Ok(TodoReply(Status::NoContent, None))
        }
        .await,
    )
}

#[options("/todo-backend/<_secret>/todos")]
fn preflight_list(_secret: &str) -> TodoReply {
    TodoReply(Status::NoContent, None)
}

#[options("/todo-backend/<_secret>/todos/<_id>")]
fn preflight_todo(_secret: &str, _id: &str) -> TodoReply {
    TodoReply(Status::NoContent, None)
}

/// Turn the member's list on (making their Inbox project if they have
/// none) under a new secret, which revokes any earlier one. The list's
/// address, to be shown once.
pub async fn enable(db: &DbPool, app: &AppConfig, user_id: i64) -> AppResult<String> {
    let inbox: Option<i64> = sqlx::query_scalar(
        "SELECT s.inbox_project_id FROM task_user_settings s \
         JOIN task_members m ON m.project_id = s.inbox_project_id AND m.user_id = s.user_id \
         WHERE s.user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?
    .flatten();
    let project_id = match inbox {
        Some(p) => p,
        None => repo::create(db, user_id, "Inbox").await?,
    };
    let secret = random_token();
    let mut tx = begin_write(db).await?;
    super::preferences::ensure_row(&mut tx, user_id).await?;
    sqlx::query(
        "UPDATE task_user_settings SET todo_hash = $1, inbox_project_id = $2 WHERE user_id = $3",
    )
    .bind(hash_token(&secret))
    .bind(project_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(format!(
        "{}/todo-backend/{secret}/todos",
        app.base_url.trim_end_matches('/')
    ))
}

/// The Todo-Backend routes.
pub fn routes() -> Vec<Route> {
    routes![
        index,
        create,
        clear,
        show,
        change,
        remove,
        preflight_list,
        preflight_todo
    ]
}
