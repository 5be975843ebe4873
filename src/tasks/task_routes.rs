//! The task pages: create, view, edit (with a version check: a stale save
//! answers 409 with both versions and nothing lost), move without
//! JavaScript (a "Move to" select or ←/→ buttons), complete, reopen and
//! delete with a confirmation step. Routes on paths the JSON API shares
//! rank 2 (see `task_api.rs`).

use rocket::http::Status;
use rocket::{get, post, routes, Route, State};

use super::actions::{self, may_edit_tasks, project_for, require, task_for};
use super::cards;
use super::columns;
use super::comments::{self, CommentForm};
use super::items::{self, Saved, Task};
use super::model::{MoveForm, TaskForm};
use super::repo::{self, Project};
use super::views::{
    form_of, ActivityView, CommentView, DeleteTaskPage, ProjectView, TaskFormPage, TaskPage,
    TaskView,
};
use super::zone::Localise;
use super::TasksConfig;
use crate::accounts::timezone;
use crate::db::{Db, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::{CsrfForm, CurrentUser, NoFields};
use crate::web::text::format_time;
use crate::web::{Ctx, Layout, Reply};

/// The task form for `project`, with what was typed and what is wrong.
async fn form_page(
    db: &DbPool,
    layout: Layout,
    project: &Project,
    id: Option<i64>,
    form: TaskForm,
    errors: FieldErrors,
) -> AppResult<TaskFormPage> {
    Ok(TaskFormPage {
        layout,
        project: ProjectView::from(project),
        id,
        form,
        errors,
        members: repo::members(db, project.id).await?,
        columns: columns::list(db, project.id).await?,
        stored: None,
    })
}

#[get("/tasks/<id>/items/new?<column>")]
async fn new_task(
    db: &Db,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    column: Option<i64>,
) -> AppResult<Reply> {
    let project = project_for(db, id, user.id).await?;
    require(may_edit_tasks(&project))?;
    let form = TaskForm {
        column: column.map(|c| c.to_string()).unwrap_or_default(),
        ..TaskForm::default()
    };
    let page = form_page(db, layout, &project, None, form, FieldErrors::default()).await?;
    Reply::page(&page)
}

#[post("/tasks/<id>/items", data = "<form>", rank = 2)]
async fn create(
    ctx: Ctx<'_>,
    cfg: &State<TasksConfig>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    form: CsrfForm<TaskForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_edit_tasks(&project))?;
    let all = columns::list(ctx.db, id).await?;
    let column = match form.column.trim().parse::<i64>() {
        Ok(c) => all.iter().find(|k| k.id == c),
        Err(_) => all.first(),
    };
    let tz = timezone::of(ctx.db, user.id).await?;
    let (task, mut errors) = match form.validate().and_then(|t| t.in_zone(&tz)) {
        Ok(t) => (Some(t), FieldErrors::default()),
        Err(e) => (None, e),
    };
    if let Some(t) = &task {
        actions::check_assignee(ctx.db, id, t, &mut errors).await?;
    }
    if column.is_none() {
        errors.add("column", "Choose a column of this project.");
    }
    match (task, column) {
        (Some(task), Some(column)) if errors.is_empty() => {
            actions::count_task(ctx.db, cfg, user.id).await?;
            let tid = items::create(ctx.db, id, column, user.id, &task).await?;
            Ok(Reply::success(
                format!("/tasks/{id}/items/{tid}"),
                "Task created.",
            ))
        }
        _ => {
            let page = form_page(ctx.db, layout, &project, None, form, errors).await?;
            Reply::page_with(Status::UnprocessableEntity, &page)
        }
    }
}

/// The task's page, with the comment form's text and message.
pub(super) async fn task_page(
    db: &DbPool,
    layout: Layout,
    project: &Project,
    task: &Task,
    comment: String,
    comment_error: Option<String>,
) -> AppResult<TaskPage> {
    let all = columns::list(db, project.id).await?;
    let column = all
        .iter()
        .find(|c| c.id == task.column_id)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let activity = items::activity(db, task.id).await?;
    let completed = task.completed_at.map(|at| {
        let who = task
            .completed_by_name
            .clone()
            .unwrap_or_else(|| "a former member".into());
        format!("{who}, {}", format_time(at))
    });
    Ok(TaskPage {
        layout,
        project: ProjectView::from(project),
        task: TaskView::full(task),
        column,
        created: format_time(task.created_at),
        completed,
        targets: all.iter().map(|c| (c.id, c.name.clone())).collect(),
        column_id: task.column_id,
        activity: activity.iter().map(ActivityView::from).collect(),
        comments: comments::list(db, task.id)
            .await?
            .iter()
            .map(CommentView::from)
            .collect(),
        comment,
        comment_error,
        extras: cards::for_task(db, project.id, task.id).await?,
    })
}

#[get("/tasks/<id>/items/<task>", rank = 2)]
async fn show(db: &Db, user: CurrentUser, layout: Layout, id: i64, task: i64) -> AppResult<Reply> {
    let (project, task) = task_for(db, id, task, user.id).await?;
    Reply::page(&task_page(db, layout, &project, &task, String::new(), None).await?)
}

/// Comment from the task page; invalid text comes back with 422, kept.
#[post("/tasks/<id>/items/<task>/comments", data = "<form>", rank = 2)]
async fn comment(
    ctx: Ctx<'_>,
    cfg: &State<TasksConfig>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    task: i64,
    form: CsrfForm<CommentForm>,
) -> AppResult<Reply> {
    let (project, task) = task_for(ctx.db, id, task, user.id).await?;
    require(may_edit_tasks(&project))?;
    match comments::validate(&form.0.body) {
        Ok(body) => {
            actions::count_task(ctx.db, cfg, user.id).await?;
            comments::add(ctx.db, task.id, user.id, &body).await?;
            Ok(Reply::success(
                format!("/tasks/{}/items/{}#comments", project.id, task.id),
                "Comment added.",
            ))
        }
        Err(errors) => {
            let message = errors.get("body").map(str::to_string);
            let page = task_page(ctx.db, layout, &project, &task, form.0.body, message).await?;
            Reply::page_with(Status::UnprocessableEntity, &page)
        }
    }
}

#[get("/tasks/<id>/items/<task>/edit")]
async fn edit(db: &Db, user: CurrentUser, layout: Layout, id: i64, task: i64) -> AppResult<Reply> {
    let (project, task) = task_for(db, id, task, user.id).await?;
    require(may_edit_tasks(&project))?;
    let form = form_of(&task);
    let page = form_page(
        db,
        layout,
        &project,
        Some(task.id),
        form,
        FieldErrors::default(),
    )
    .await?;
    Reply::page(&page)
}

/// Save an edit. A save from a stale page (someone saved since) answers
/// 409 with both versions and nothing stored; the form then carries the
/// stored version, so saving again is a deliberate overwrite.
#[post("/tasks/<id>/items/<task>/edit", data = "<form>")]
async fn save(
    ctx: Ctx<'_>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    task: i64,
    form: CsrfForm<TaskForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let (project, current) = task_for(ctx.db, id, task, user.id).await?;
    require(may_edit_tasks(&project))?;
    let tz = timezone::of(ctx.db, user.id).await?;
    let (input, mut errors) = match form.validate().and_then(|t| t.in_zone(&tz)) {
        Ok(t) => (Some(t), FieldErrors::default()),
        Err(e) => (None, e),
    };
    if let Some(t) = &input {
        actions::check_assignee(ctx.db, id, t, &mut errors).await?;
    }
    let input = match input {
        Some(t) if errors.is_empty() => t,
        _ => {
            let page = form_page(ctx.db, layout, &project, Some(task), form, errors).await?;
            return Reply::page_with(Status::UnprocessableEntity, &page);
        }
    };
    match items::update(ctx.db, id, current.id, form.version, &input, user.id).await? {
        Saved::Version(_) => Ok(Reply::success(
            format!("/tasks/{id}/items/{task}"),
            "Task saved.",
        )),
        Saved::NotFound => Err(AppError::NotFound),
        Saved::Conflict(mut stored) => {
            stored.localise(&tz);
            let form = TaskForm {
                version: stored.version,
                ..form
            };
            let mut page = form_page(
                ctx.db,
                layout,
                &project,
                Some(task),
                form,
                FieldErrors::default(),
            )
            .await?;
            page.stored = Some(*stored);
            Reply::page_with(Status::Conflict, &page)
        }
    }
}

/// Move a task from the board or its page, without JavaScript: to the
/// column chosen in the select, or one column left or right. Drag and drop
/// (`static/js/tasks-board.js`) submits this same form, adding `before`.
#[post("/tasks/<id>/items/<task>/move", data = "<form>", rank = 2)]
async fn move_task(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    task: i64,
    form: CsrfForm<MoveForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let (project, task) = task_for(ctx.db, id, task, user.id).await?;
    require(may_edit_tasks(&project))?;
    let target = match form.to.as_str() {
        "left" => actions::neighbour(ctx.db, &task, -1).await?,
        "right" => actions::neighbour(ctx.db, &task, 1).await?,
        _ => match form.column.trim().parse::<i64>() {
            Ok(c) => columns::get(ctx.db, id, c).await?,
            Err(_) => None,
        },
    };
    let board = format!("/tasks/{id}#task-{}", task.id);
    let Some(target) = target else {
        return Ok(Reply::failure(
            board,
            "Choose a column to move the task to.",
        ));
    };
    let before = form.before.trim().parse::<i64>().ok();
    match actions::move_task(ctx.db, &task, &target, before, user.id).await {
        Ok(()) => {}
        Err(AppError::Validation(_)) => {
            return Ok(Reply::failure(
                board,
                "Drop the task before a task of the column you move it to.",
            ))
        }
        Err(e) => return Err(e),
    }
    Ok(Reply::success(
        board,
        format!("“{}” moved to {}.", task.title, target.name),
    ))
}

#[post("/tasks/<id>/items/<task>/complete", data = "<_form>", rank = 2)]
async fn complete(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    task: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let (project, task) = task_for(ctx.db, id, task, user.id).await?;
    require(may_edit_tasks(&project))?;
    actions::complete(ctx.db, &task, user.id).await?;
    Ok(Reply::success(
        format!("/tasks/{id}/items/{}", task.id),
        "Task completed.",
    ))
}

#[post("/tasks/<id>/items/<task>/reopen", data = "<_form>", rank = 2)]
async fn reopen(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    task: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let (project, task) = task_for(ctx.db, id, task, user.id).await?;
    require(may_edit_tasks(&project))?;
    actions::reopen(ctx.db, &task, user.id).await?;
    Ok(Reply::success(
        format!("/tasks/{id}/items/{}", task.id),
        "Task reopened.",
    ))
}

#[get("/tasks/<id>/items/<task>/delete")]
async fn confirm_delete(
    db: &Db,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    task: i64,
) -> AppResult<Reply> {
    let (project, task) = task_for(db, id, task, user.id).await?;
    require(may_edit_tasks(&project))?;
    Reply::page(&DeleteTaskPage {
        layout,
        project: ProjectView::from(&project),
        task: TaskView::summary(&task),
    })
}

#[post("/tasks/<id>/items/<task>/delete", data = "<_form>")]
async fn delete(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    task: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let (project, task) = task_for(ctx.db, id, task, user.id).await?;
    require(may_edit_tasks(&project))?;
    items::delete(ctx.db, id, task.id).await?;
    Ok(Reply::success(format!("/tasks/{id}"), "Task deleted."))
}

/// The task pages.
pub fn routes() -> Vec<Route> {
    routes![
        new_task,
        create,
        show,
        comment,
        edit,
        save,
        move_task,
        complete,
        reopen,
        confirm_delete,
        delete
    ]
}
