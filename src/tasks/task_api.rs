//! The tasks JSON API: `GET/POST /tasks/{project}/items`, `GET/PUT/DELETE
//! /tasks/{project}/items/{task}`, and its `move`, `complete` and
//! `reopen`; bearer tokens only, rank 1 with `ApiRequest` (pages rank 2).

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route, State};
use serde_json::{json, Value};

use super::actions::{self, may_edit_tasks, project_for, require, task_for};
use super::columns;
use super::items::{self, Saved};
use super::json::{MoveRequest, TaskJson, TaskPage, TaskRequest};
use super::model::{TaskFields, TaskInput};
use super::query::{self, Params, MAX_DEPTH};
use super::zone::{localise_all, Localise};
use super::TasksConfig;
use crate::accounts::timezone;
use crate::api::json::JsonBody;
use crate::api::{ApiRequest, ApiUser};
use crate::db::{Db, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::web::paging::PageQuery;

/// Most tasks one page of `GET /tasks/{project}/items` holds.
const PER_PAGE_MAX: i64 = 100;

/// The filters, order and page of `GET /tasks/{project}/items`, as sent.
#[derive(Debug, Default, rocket::FromForm)]
struct ListQuery<'r> {
    column_id: Option<&'r str>,
    assignee_id: Option<&'r str>,
    label_id: Option<&'r str>,
    due_before: Option<&'r str>,
    due_after: Option<&'r str>,
    overdue: Option<&'r str>,
    q: Option<&'r str>,
    sort: Option<&'r str>,
    dir: Option<&'r str>,
    page: Option<&'r str>,
    per_page: Option<&'r str>,
}

#[get("/tasks/<id>/items?<filter..>", format = "json", rank = 1)]
async fn list(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    filter: ListQuery<'_>,
) -> AppResult<Json<TaskPage>> {
    let mut errors = FieldErrors::default();
    let paging = PageQuery {
        page: filter.page,
        per_page: filter.per_page,
    };
    let paging = paging.paging(20, PER_PAGE_MAX, &mut errors);
    if paging.offset > MAX_DEPTH {
        errors.add(
            "page",
            format!("Pages reach {MAX_DEPTH} tasks deep: narrow the filters to see more."),
        );
    }
    let tz = timezone::of(db, me.0.id).await?;
    let query = Params {
        column_id: filter.column_id,
        assignee_id: filter.assignee_id,
        label_id: filter.label_id,
        due_before: filter.due_before,
        due_after: filter.due_after,
        overdue: filter.overdue,
        q: filter.q,
        sort: filter.sort,
        dir: filter.dir,
    }
    .query(&tz, &mut errors);
    project_for(db, id, me.0.id).await?;
    errors.into_result()?;
    let (mut tasks, total) = query::list(db, id, &query, paging.limit, paging.offset).await?;
    localise_all(&mut tasks, &tz);
    Ok(Json(TaskPage {
        tasks: tasks.into_iter().map(Into::into).collect(),
        page: paging.page,
        per_page: paging.limit,
        total,
    }))
}

/// Task `id` as `user_id` sees it (in their time zone).
async fn saved(db: &DbPool, project_id: i64, id: i64, user_id: i64) -> AppResult<TaskJson> {
    let mut task = items::get(db, project_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    task.localise(&timezone::of(db, user_id).await?);
    Ok(task.into())
}

#[post("/tasks/<id>/items", data = "<body>", rank = 1)]
async fn create(
    _api: ApiRequest,
    db: &Db,
    cfg: &State<TasksConfig>,
    me: ApiUser,
    id: i64,
    body: JsonBody<TaskRequest>,
) -> AppResult<(Status, Json<TaskJson>)> {
    let project = project_for(db, id, me.0.id).await?;
    require(may_edit_tasks(&project))?;
    let JsonBody(b) = body;
    let tz = timezone::of(db, me.0.id).await?;
    let task = TaskInput::validate(TaskFields {
        title: b.title.as_deref().unwrap_or(""),
        description: b.description.as_deref().unwrap_or(""),
        assignee_id: b.assignee_id.flatten(),
        due_date: b.due_date.as_ref().and_then(|d| d.as_deref()).unwrap_or(""),
        due_time: b.due_time.as_ref().and_then(|d| d.as_deref()).unwrap_or(""),
        priority: b.priority.as_deref().unwrap_or(""),
    })
    .and_then(|t| t.in_zone(&tz))
    .map_err(AppError::Validation)?;
    let mut errors = FieldErrors::default();
    actions::check_assignee(db, id, &task, &mut errors).await?;
    let all = columns::list(db, id).await?;
    let column = match b.column_id {
        Some(c) => all.iter().find(|k| k.id == c),
        None => all.first(),
    };
    let Some(column) = column else {
        errors.add("column_id", "Choose a column of this project.");
        return Err(AppError::Validation(errors));
    };
    errors.into_result()?;
    actions::count_task(db, cfg, me.0.id).await?;
    let tid = items::create(db, id, column, me.0.id, &task).await?;
    Ok((Status::Created, Json(saved(db, id, tid, me.0.id).await?)))
}

#[get("/tasks/<id>/items/<task>", format = "json", rank = 1)]
async fn show(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
) -> AppResult<Json<TaskJson>> {
    let (_, task) = task_for(db, id, task, me.0.id).await?;
    Ok(Json(task.into()))
}

/// Save over `version`. A stale version answers 409 with the stored task,
/// so the client can show both; nothing is overwritten.
#[put("/tasks/<id>/items/<task>", data = "<body>", rank = 1)]
async fn update(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
    body: JsonBody<TaskRequest>,
) -> AppResult<Result<Json<TaskJson>, Custom<Json<Value>>>> {
    let (project, current) = task_for(db, id, task, me.0.id).await?;
    require(may_edit_tasks(&project))?;
    let JsonBody(b) = body;
    let Some(version) = b.version else {
        let mut errors = FieldErrors::default();
        errors.add("version", "Send the version you are editing.");
        return Err(AppError::Validation(errors));
    };
    let pick = |sent: &Option<Option<String>>, stored: &Option<String>| match sent {
        Some(v) => v.clone().unwrap_or_default(),
        None => stored.clone().unwrap_or_default(),
    };
    let tz = timezone::of(db, me.0.id).await?;
    let due_date = pick(&b.due_date, &current.due_date);
    let due_time = pick(&b.due_time, &current.due_time);
    let priority = b
        .priority
        .clone()
        .unwrap_or_else(|| current.priority.to_string());
    let input = TaskInput::validate(TaskFields {
        title: b.title.as_deref().unwrap_or(&current.title),
        description: b.description.as_deref().unwrap_or(&current.description),
        assignee_id: b.assignee_id.unwrap_or(current.assignee_id),
        due_date: &due_date,
        due_time: &due_time,
        priority: &priority,
    })
    .and_then(|t| t.in_zone(&tz))
    .map_err(AppError::Validation)?;
    let mut errors = FieldErrors::default();
    actions::check_assignee(db, id, &input, &mut errors).await?;
    errors.into_result()?;
    match items::update(db, id, current.id, version, &input, me.0.id).await? {
        Saved::Version(_) => Ok(Ok(Json(saved(db, id, current.id, me.0.id).await?))),
        Saved::NotFound => Err(AppError::NotFound),
        Saved::Conflict(mut stored) => {
            stored.localise(&tz);
            Ok(Err(Custom(
                Status::Conflict,
                Json(json!({
                    "error": "conflict",
                    "message": "The task was changed since that version. Nothing was saved.",
                    "current": TaskJson::from(*stored),
                })),
            )))
        }
    }
}

#[delete("/tasks/<id>/items/<task>", rank = 1)]
async fn remove(_api: ApiRequest, db: &Db, me: ApiUser, id: i64, task: i64) -> AppResult<Status> {
    let (project, task) = task_for(db, id, task, me.0.id).await?;
    require(may_edit_tasks(&project))?;
    items::delete(db, id, task.id).await?;
    Ok(Status::NoContent)
}

#[post("/tasks/<id>/items/<task>/move", data = "<body>", rank = 1)]
async fn move_task(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
    body: JsonBody<MoveRequest>,
) -> AppResult<Json<TaskJson>> {
    let (project, task) = task_for(db, id, task, me.0.id).await?;
    require(may_edit_tasks(&project))?;
    let JsonBody(b) = body;
    let to = columns::get(db, id, b.column_id).await?.ok_or_else(|| {
        let mut errors = FieldErrors::default();
        errors.add("column_id", "Choose a column of this project.");
        AppError::Validation(errors)
    })?;
    actions::move_task(db, &task, &to, b.before_id, me.0.id).await?;
    Ok(Json(saved(db, id, task.id, me.0.id).await?))
}

#[post("/tasks/<id>/items/<task>/complete", rank = 1)]
async fn complete(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
) -> AppResult<Json<TaskJson>> {
    let (project, task) = task_for(db, id, task, me.0.id).await?;
    require(may_edit_tasks(&project))?;
    actions::complete(db, &task, me.0.id).await?;
    Ok(Json(saved(db, id, task.id, me.0.id).await?))
}

#[post("/tasks/<id>/items/<task>/reopen", rank = 1)]
async fn reopen(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
) -> AppResult<Json<TaskJson>> {
    let (project, task) = task_for(db, id, task, me.0.id).await?;
    require(may_edit_tasks(&project))?;
    actions::reopen(db, &task, me.0.id).await?;
    Ok(Json(saved(db, id, task.id, me.0.id).await?))
}

/// The tasks JSON routes.
pub fn routes() -> Vec<Route> {
    routes![list, create, show, update, remove, move_task, complete, reopen]
}
