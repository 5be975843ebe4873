//! The labels' JSON routes: list, create, change and delete a project's
//! labels, and read or set a task's (`labels.rs` has the rules and SQL).

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route};

use super::actions::{may_edit_tasks, project_for, require, task_for};
use super::labels::{
    create, delete, label_of, list, of_tasks, set_for_task, update, validate, Label, LabelInput,
    LabelRequest, TaskLabelsRequest,
};
use crate::api::json::JsonBody;
use crate::api::{ApiRequest, ApiUser};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};

fn input_of(body: &LabelRequest, stored: Option<&Label>) -> Result<LabelInput, FieldErrors> {
    let name = body
        .name
        .as_deref()
        .or(stored.map(|l| l.name.as_str()))
        .unwrap_or("");
    let colour = body
        .colour
        .as_deref()
        .or(stored.map(|l| l.colour.as_str()))
        .unwrap_or("");
    validate(name, colour)
}

#[get("/tasks/<id>/labels", format = "json", rank = 1)]
async fn api_list(_api: ApiRequest, db: &Db, me: ApiUser, id: i64) -> AppResult<Json<Vec<Label>>> {
    project_for(db, id, me.0.id).await?;
    Ok(Json(list(db, id).await?))
}

#[post("/tasks/<id>/labels", data = "<body>", rank = 1)]
async fn api_create(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    body: JsonBody<LabelRequest>,
) -> AppResult<(Status, Json<Label>)> {
    let project = project_for(db, id, me.0.id).await?;
    require(may_edit_tasks(&project))?;
    let input = input_of(&body.0, None).map_err(AppError::Validation)?;
    let label = create(db, id, &input)
        .await?
        .map_err(AppError::Validation)?;
    Ok((Status::Created, Json(label)))
}

#[put("/tasks/<id>/labels/<label>", data = "<body>", rank = 1)]
async fn api_update(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    label: i64,
    body: JsonBody<LabelRequest>,
) -> AppResult<Json<Label>> {
    let project = project_for(db, id, me.0.id).await?;
    let label = label_of(db, id, label).await?;
    require(may_edit_tasks(&project))?;
    let input = input_of(&body.0, Some(&label)).map_err(AppError::Validation)?;
    let label = update(db, &label, &input)
        .await?
        .map_err(AppError::Validation)?;
    Ok(Json(label))
}

#[delete("/tasks/<id>/labels/<label>", rank = 1)]
async fn api_delete(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    label: i64,
) -> AppResult<Status> {
    let project = project_for(db, id, me.0.id).await?;
    let label = label_of(db, id, label).await?;
    require(may_edit_tasks(&project))?;
    delete(db, &label).await?;
    Ok(Status::NoContent)
}

#[get("/tasks/<id>/items/<task>/labels", format = "json", rank = 1)]
async fn api_task_labels(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
) -> AppResult<Json<Vec<Label>>> {
    let (_, task) = task_for(db, id, task, me.0.id).await?;
    let mut all = of_tasks(db, &[task.id]).await?;
    Ok(Json(all.remove(&task.id).unwrap_or_default()))
}

#[put("/tasks/<id>/items/<task>/labels", data = "<body>", rank = 1)]
async fn api_set_task_labels(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    task: i64,
    body: JsonBody<TaskLabelsRequest>,
) -> AppResult<Json<Vec<Label>>> {
    let (project, task) = task_for(db, id, task, me.0.id).await?;
    require(may_edit_tasks(&project))?;
    if !set_for_task(db, id, task.id, &body.0.label_ids, me.0.id).await? {
        let mut errors = FieldErrors::default();
        errors.add("label_ids", "Choose labels of this project.");
        return Err(AppError::Validation(errors));
    }
    let mut all = of_tasks(db, &[task.id]).await?;
    Ok(Json(all.remove(&task.id).unwrap_or_default()))
}

/// The labels JSON routes.
pub fn api_routes() -> Vec<Route> {
    routes![
        api_list,
        api_create,
        api_update,
        api_delete,
        api_task_labels,
        api_set_task_labels
    ]
}
