//! The project pages: the list of one's projects, the board, the settings
//! (name, archive, members, columns) and deletion with a confirmation
//! step. Routes on paths the JSON API shares rank 2 (see `api.rs`).

use rocket::http::Status;
use rocket::{get, post, routes, Route, State};

use super::actions::{self, may_manage, project_for, require};
use super::cards;
use super::columns::{self, Removed};
use super::items;
use super::model::{parse_role, validate_name, ColumnForm, MemberForm, NameForm, RoleForm};
use super::query;
use super::repo::{self, MemberChange, Project};
use super::views::{
    BoardPage, ColumnView, DeleteProjectPage, ProjectView, ProjectsPage, SettingsPage, TaskView,
};
use super::zone::localise_all;
use super::TasksConfig;
use crate::accounts::timezone;
use crate::db::{Db, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::{CsrfForm, CurrentUser, NoFields};
use crate::web::paging::{Pager, Paging};
use crate::web::{Ctx, Layout, Reply};

/// Projects per page of the list.
pub const PAGE_SIZE: i64 = 50;

async fn projects_page(
    db: &DbPool,
    user: &CurrentUser,
    layout: Layout,
    page: Option<i64>,
) -> AppResult<ProjectsPage> {
    let paging = Paging::page(page, PAGE_SIZE);
    let (projects, total) = repo::projects(db, user.id, paging.limit, paging.offset).await?;
    Ok(ProjectsPage {
        layout,
        projects: projects.iter().map(ProjectView::from).collect(),
        name: String::new(),
        errors: FieldErrors::default(),
        pager: Pager::new("/tasks", paging, total),
    })
}

#[get("/tasks?<page>", rank = 2)]
async fn list(db: &Db, user: CurrentUser, layout: Layout, page: Option<i64>) -> AppResult<Reply> {
    Reply::page(&projects_page(db, &user, layout, page).await?)
}

#[post("/tasks", data = "<form>", rank = 2)]
async fn create(
    ctx: Ctx<'_>,
    cfg: &State<TasksConfig>,
    user: CurrentUser,
    layout: Layout,
    form: CsrfForm<NameForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let mut errors = FieldErrors::default();
    let name = validate_name(&form.name, &mut errors);
    if !errors.is_empty() {
        let mut page = projects_page(ctx.db, &user, layout, None).await?;
        page.name = form.name;
        page.errors = errors;
        return Reply::page_with(Status::UnprocessableEntity, &page);
    }
    actions::count_project(ctx.db, cfg, user.id).await?;
    let id = repo::create(ctx.db, user.id, &name).await?;
    Ok(Reply::success(format!("/tasks/{id}"), "Project created."))
}

#[get("/tasks/<id>", rank = 2)]
async fn board(
    db: &Db,
    cfg: &State<TasksConfig>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
) -> AppResult<Reply> {
    let project = project_for(db, id, user.id).await?;
    let all = columns::list(db, id).await?;
    let tz = timezone::of(db, user.id).await?;
    let mut views = Vec::with_capacity(all.len());
    for (i, c) in all.iter().enumerate() {
        let (mut tasks, count) = items::in_column(db, c.id, cfg.board_column_limit).await?;
        localise_all(&mut tasks, &tz);
        views.push(ColumnView {
            more: count - tasks.len() as i64,
            id: c.id,
            name: c.name.clone(),
            done: c.is_done(),
            tasks: tasks.iter().map(TaskView::summary).collect(),
            count,
            left: i.checked_sub(1).map(|l| all[l].name.clone()),
            right: all.get(i + 1).map(|r| r.name.clone()),
        });
    }
    let ids: Vec<i64> = views
        .iter()
        .flat_map(|c| c.tasks.iter().map(|t| t.id))
        .collect();
    Reply::page(&BoardPage {
        layout,
        project: ProjectView::from(&project),
        targets: all.iter().map(|c| (c.id, c.name.clone())).collect(),
        columns: views,
        extras: cards::load(db, &ids).await?,
    })
}

async fn settings_page(
    db: &DbPool,
    layout: Layout,
    project: &Project,
    me: i64,
) -> AppResult<SettingsPage> {
    Ok(SettingsPage {
        layout,
        project: ProjectView::from(project),
        me,
        members: repo::members(db, project.id).await?,
        columns: columns::list(db, project.id).await?,
        name: project.name.clone(),
        name_errors: FieldErrors::default(),
        member: MemberForm {
            who: String::new(),
            role: "editor".into(),
        },
        member_errors: FieldErrors::default(),
        column_name: String::new(),
        column_errors: FieldErrors::default(),
    })
}

#[get("/tasks/<id>/settings")]
async fn settings(db: &Db, user: CurrentUser, layout: Layout, id: i64) -> AppResult<Reply> {
    let project = project_for(db, id, user.id).await?;
    Reply::page(&settings_page(db, layout, &project, user.id).await?)
}

#[post("/tasks/<id>/rename", data = "<form>")]
async fn rename(
    ctx: Ctx<'_>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    form: CsrfForm<NameForm>,
) -> AppResult<Reply> {
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_manage(&project))?;
    let mut errors = FieldErrors::default();
    let name = validate_name(&form.0.name, &mut errors);
    if !errors.is_empty() {
        let mut page = settings_page(ctx.db, layout, &project, user.id).await?;
        page.name = form.0.name;
        page.name_errors = errors;
        return Reply::page_with(Status::UnprocessableEntity, &page);
    }
    repo::update(ctx.db, id, &name, project.archived).await?;
    Ok(Reply::success(
        format!("/tasks/{id}/settings"),
        "Project renamed.",
    ))
}

#[post("/tasks/<id>/archive", data = "<_form>")]
async fn archive(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_manage(&project))?;
    repo::update(ctx.db, id, &project.name, !project.archived).await?;
    let message = if project.archived {
        "Project restored: its tasks can be changed again."
    } else {
        "Project archived: it is read-only until restored."
    };
    Ok(Reply::success(format!("/tasks/{id}/settings"), message))
}

#[get("/tasks/<id>/delete")]
async fn confirm_delete(db: &Db, user: CurrentUser, layout: Layout, id: i64) -> AppResult<Reply> {
    let project = project_for(db, id, user.id).await?;
    require(may_manage(&project))?;
    let (_, tasks) = query::list(db, id, &Default::default(), 1, 0).await?;
    Reply::page(&DeleteProjectPage {
        layout,
        project: ProjectView::from(&project),
        tasks,
    })
}

#[post("/tasks/<id>/delete", data = "<_form>")]
async fn delete(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_manage(&project))?;
    repo::delete(ctx.db, id).await?;
    Ok(Reply::success("/tasks", "Project deleted."))
}

#[post("/tasks/<id>/members", data = "<form>", rank = 2)]
async fn add_member(
    ctx: Ctx<'_>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    form: CsrfForm<MemberForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_manage(&project))?;
    let mut errors = FieldErrors::default();
    let role = parse_role(&form.role, &mut errors);
    if form.who.trim().is_empty() {
        errors.add("who", "Give a username or email address.");
    }
    let added = if errors.is_empty() {
        actions::add_member(ctx.db, id, &form.who, role).await?
    } else {
        Err(errors)
    };
    match added {
        Ok(m) => Ok(Reply::success(
            format!("/tasks/{id}/settings"),
            format!("{} is now a member ({}).", m.username, m.role.as_str()),
        )),
        Err(errors) => {
            let mut page = settings_page(ctx.db, layout, &project, user.id).await?;
            page.member = form;
            page.member_errors = errors;
            Reply::page_with(Status::UnprocessableEntity, &page)
        }
    }
}

/// What a page says when a member change is refused.
fn member_reply(id: i64, change: MemberChange, done: &str) -> AppResult<Reply> {
    let to = format!("/tasks/{id}/settings");
    match change {
        MemberChange::Done => Ok(Reply::success(to, done)),
        MemberChange::NotMember => Err(AppError::NotFound),
        MemberChange::LastOwner => Ok(Reply::failure(to, actions::last_owner().public_message())),
    }
}

#[post("/tasks/<id>/members/<member>/role", data = "<form>")]
async fn set_role(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    member: i64,
    form: CsrfForm<RoleForm>,
) -> AppResult<Reply> {
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_manage(&project))?;
    let mut errors = FieldErrors::default();
    let role = parse_role(&form.0.role, &mut errors);
    errors.into_result()?;
    let change = repo::set_role(ctx.db, id, member, role).await?;
    member_reply(id, change, "Role changed.")
}

#[post("/tasks/<id>/members/<member>/remove", data = "<_form>")]
async fn remove_member(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    member: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_manage(&project) || member == user.id)?;
    let change = repo::remove_member(ctx.db, id, member).await?;
    if change == MemberChange::Done && member == user.id {
        return Ok(Reply::success("/tasks", "You left the project."));
    }
    member_reply(id, change, "Member removed.")
}

#[post("/tasks/<id>/columns", data = "<form>", rank = 2)]
async fn add_column(
    ctx: Ctx<'_>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    form: CsrfForm<ColumnForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_manage(&project))?;
    let mut errors = FieldErrors::default();
    let name = validate_name(&form.name, &mut errors);
    if errors.is_empty() && columns::add(ctx.db, id, &name, form.done).await?.is_some() {
        return Ok(Reply::success(
            format!("/tasks/{id}/settings"),
            "Column added.",
        ));
    }
    if errors.is_empty() {
        errors.add("name", "A project has at most 20 columns.");
    }
    let mut page = settings_page(ctx.db, layout, &project, user.id).await?;
    page.column_name = form.name;
    page.column_errors = errors;
    Reply::page_with(Status::UnprocessableEntity, &page)
}

#[post("/tasks/<id>/columns/<column>", data = "<form>")]
async fn update_column(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    column: i64,
    form: CsrfForm<ColumnForm>,
) -> AppResult<Reply> {
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_manage(&project))?;
    let mut errors = FieldErrors::default();
    let name = validate_name(&form.0.name, &mut errors);
    errors.into_result()?;
    if !columns::update(ctx.db, id, column, &name, form.0.done).await? {
        return Err(AppError::NotFound);
    }
    Ok(Reply::success(
        format!("/tasks/{id}/settings"),
        "Column saved.",
    ))
}

#[post("/tasks/<id>/columns/<column>/move", data = "<form>")]
async fn shift_column(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    column: i64,
    form: CsrfForm<super::model::MoveForm>,
) -> AppResult<Reply> {
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_manage(&project))?;
    let step = if form.0.to == "left" { -1 } else { 1 };
    if !columns::shift(ctx.db, id, column, step).await? {
        return Err(AppError::NotFound);
    }
    Ok(Reply::success(
        format!("/tasks/{id}/settings"),
        "Column moved.",
    ))
}

#[post("/tasks/<id>/columns/<column>/delete", data = "<_form>")]
async fn remove_column(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    column: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_manage(&project))?;
    let to = format!("/tasks/{id}/settings");
    match columns::remove(ctx.db, id, column).await? {
        Removed::Done => Ok(Reply::success(to, "Column removed.")),
        Removed::NotFound => Err(AppError::NotFound),
        Removed::NotEmpty => Ok(Reply::failure(
            to,
            "Only an empty column can be removed: move its tasks elsewhere first.",
        )),
        Removed::LastColumn => Ok(Reply::failure(to, "A project keeps at least one column.")),
    }
}

/// The project pages.
pub fn routes() -> Vec<Route> {
    routes![
        list,
        create,
        board,
        settings,
        rename,
        archive,
        confirm_delete,
        delete,
        add_member,
        set_role,
        remove_member,
        add_column,
        update_column,
        shift_column,
        remove_column
    ]
}
