//! The projects JSON API: `GET/POST /tasks`, `GET/PUT/DELETE
//! /tasks/{project}`, its members and columns; bearer tokens only. Rank 1
//! with the `ApiRequest` guard, so a page request falls through to the HTML
//! route on the same path. Non-members get 404 for everything.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route, State};

use super::actions::{self, may_manage, project_for, require};
use super::columns::{self, Removed};
use super::json::{
    ColumnJson, ColumnRequest, MemberJson, MemberRequest, ProjectDetail, ProjectJson, ProjectPage,
    ProjectRequest,
};
use super::model::{parse_role, validate_name};
use super::repo::{self, Project};
use super::TasksConfig;
use crate::api::json::JsonBody;
use crate::api::{ApiRequest, ApiUser};
use crate::db::{Db, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::web::paging::PageQuery;

/// Most projects one page of `GET /tasks` holds.
const PER_PAGE_MAX: i64 = 100;

async fn detail(db: &DbPool, project: &Project) -> AppResult<ProjectDetail> {
    let columns = columns::list(db, project.id).await?;
    let members = repo::members(db, project.id).await?;
    Ok(ProjectDetail {
        project: project.into(),
        columns: columns.iter().map(Into::into).collect(),
        members: members.iter().map(Into::into).collect(),
    })
}

#[get("/tasks?<paging..>", format = "json", rank = 1)]
async fn list(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    paging: PageQuery<'_>,
) -> AppResult<Json<ProjectPage>> {
    let mut errors = FieldErrors::default();
    let paging = paging.paging(20, PER_PAGE_MAX, &mut errors);
    errors.into_result()?;
    let (projects, total) = repo::projects(db, me.0.id, paging.limit, paging.offset).await?;
    Ok(Json(ProjectPage {
        projects: projects.iter().map(Into::into).collect(),
        page: paging.page,
        per_page: paging.limit,
        total,
    }))
}

#[post("/tasks", data = "<body>", rank = 1)]
async fn create(
    _api: ApiRequest,
    db: &Db,
    cfg: &State<TasksConfig>,
    me: ApiUser,
    body: JsonBody<ProjectRequest>,
) -> AppResult<(Status, Json<ProjectDetail>)> {
    let mut errors = FieldErrors::default();
    let name = validate_name(body.0.name.as_deref().unwrap_or(""), &mut errors);
    errors.into_result()?;
    actions::count_project(db, cfg, me.0.id).await?;
    let id = repo::create(db, me.0.id, &name).await?;
    let project = project_for(db, id, me.0.id).await?;
    Ok((Status::Created, Json(detail(db, &project).await?)))
}

#[get("/tasks/<id>", format = "json", rank = 1)]
async fn show(_api: ApiRequest, db: &Db, me: ApiUser, id: i64) -> AppResult<Json<ProjectDetail>> {
    let project = project_for(db, id, me.0.id).await?;
    Ok(Json(detail(db, &project).await?))
}

#[put("/tasks/<id>", data = "<body>", rank = 1)]
async fn update(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    body: JsonBody<ProjectRequest>,
) -> AppResult<Json<ProjectJson>> {
    let project = project_for(db, id, me.0.id).await?;
    require(may_manage(&project))?;
    let JsonBody(b) = body;
    let mut errors = FieldErrors::default();
    let name = validate_name(b.name.as_deref().unwrap_or(&project.name), &mut errors);
    errors.into_result()?;
    repo::update(db, id, &name, b.archived.unwrap_or(project.archived)).await?;
    let saved = project_for(db, id, me.0.id).await?;
    Ok(Json((&saved).into()))
}

#[delete("/tasks/<id>", rank = 1)]
async fn remove(_api: ApiRequest, db: &Db, me: ApiUser, id: i64) -> AppResult<Status> {
    let project = project_for(db, id, me.0.id).await?;
    require(may_manage(&project))?;
    repo::delete(db, id).await?;
    Ok(Status::NoContent)
}

#[get("/tasks/<id>/members", format = "json", rank = 1)]
async fn members(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
) -> AppResult<Json<Vec<MemberJson>>> {
    project_for(db, id, me.0.id).await?;
    let all = repo::members(db, id).await?;
    Ok(Json(all.iter().map(Into::into).collect()))
}

#[post("/tasks/<id>/members", data = "<body>", rank = 1)]
async fn add_member(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    body: JsonBody<MemberRequest>,
) -> AppResult<(Status, Json<MemberJson>)> {
    let project = project_for(db, id, me.0.id).await?;
    require(may_manage(&project))?;
    let JsonBody(b) = body;
    let mut errors = FieldErrors::default();
    let role = parse_role(b.role.as_deref().unwrap_or("editor"), &mut errors);
    let who = b.who.unwrap_or_default();
    if who.trim().is_empty() {
        errors.add("who", "Give a username or email address.");
    }
    errors.into_result()?;
    let member = actions::add_member(db, id, &who, role)
        .await?
        .map_err(AppError::Validation)?;
    Ok((Status::Created, Json((&member).into())))
}

#[put("/tasks/<id>/members/<user>", data = "<body>", rank = 1)]
async fn set_role(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    user: i64,
    body: JsonBody<MemberRequest>,
) -> AppResult<Json<MemberJson>> {
    let project = project_for(db, id, me.0.id).await?;
    require(may_manage(&project))?;
    let mut errors = FieldErrors::default();
    let role = parse_role(body.0.role.as_deref().unwrap_or(""), &mut errors);
    errors.into_result()?;
    actions::member_change(repo::set_role(db, id, user, role).await?)?;
    let member = repo::member(db, id, user)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json((&member).into()))
}

/// Remove a member (owners), or leave (anyone, their own id).
#[delete("/tasks/<id>/members/<user>", rank = 1)]
async fn remove_member(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    user: i64,
) -> AppResult<Status> {
    let project = project_for(db, id, me.0.id).await?;
    require(may_manage(&project) || user == me.0.id)?;
    actions::member_change(repo::remove_member(db, id, user).await?)?;
    Ok(Status::NoContent)
}

#[get("/tasks/<id>/columns", format = "json", rank = 1)]
async fn list_columns(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
) -> AppResult<Json<Vec<ColumnJson>>> {
    project_for(db, id, me.0.id).await?;
    let all = columns::list(db, id).await?;
    Ok(Json(all.iter().map(Into::into).collect()))
}

#[post("/tasks/<id>/columns", data = "<body>", rank = 1)]
async fn add_column(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    body: JsonBody<ColumnRequest>,
) -> AppResult<(Status, Json<ColumnJson>)> {
    let project = project_for(db, id, me.0.id).await?;
    require(may_manage(&project))?;
    let JsonBody(b) = body;
    let mut errors = FieldErrors::default();
    let name = validate_name(b.name.as_deref().unwrap_or(""), &mut errors);
    errors.into_result()?;
    let Some(column) = columns::add(db, id, &name, b.done.unwrap_or(false)).await? else {
        let mut errors = FieldErrors::default();
        errors.add("name", "A project has at most 20 columns.");
        return Err(AppError::Validation(errors));
    };
    let column = columns::get(db, id, column)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((Status::Created, Json((&column).into())))
}

#[put("/tasks/<id>/columns/<column>", data = "<body>", rank = 1)]
async fn update_column(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    column: i64,
    body: JsonBody<ColumnRequest>,
) -> AppResult<Json<ColumnJson>> {
    let project = project_for(db, id, me.0.id).await?;
    require(may_manage(&project))?;
    let current = columns::get(db, id, column)
        .await?
        .ok_or(AppError::NotFound)?;
    let JsonBody(b) = body;
    let mut errors = FieldErrors::default();
    let name = validate_name(b.name.as_deref().unwrap_or(&current.name), &mut errors);
    errors.into_result()?;
    let done = b.done.unwrap_or(current.is_done());
    columns::update(db, id, column, &name, done).await?;
    let saved = columns::get(db, id, column)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json((&saved).into()))
}

/// Remove an empty column: 409 while it holds tasks or is the last one.
#[delete("/tasks/<id>/columns/<column>", rank = 1)]
async fn remove_column(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    column: i64,
) -> AppResult<Status> {
    let project = project_for(db, id, me.0.id).await?;
    require(may_manage(&project))?;
    match columns::remove(db, id, column).await? {
        Removed::Done => Ok(Status::NoContent),
        Removed::NotFound => Err(AppError::NotFound),
        Removed::NotEmpty => Err(AppError::Conflict(
            "Only an empty column can be removed: move its tasks elsewhere first.".into(),
        )),
        Removed::LastColumn => Err(AppError::Conflict(
            "A project keeps at least one column.".into(),
        )),
    }
}

/// The projects JSON routes.
pub fn routes() -> Vec<Route> {
    routes![
        list,
        create,
        show,
        update,
        remove,
        members,
        add_member,
        set_role,
        remove_member,
        list_columns,
        add_column,
        update_column,
        remove_column
    ]
}
