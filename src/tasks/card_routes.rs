//! The pages' forms for labels and checklists: the project's labels page
//! (create, rename and recolour, delete with a confirmation step), the
//! task page's label checkboxes, and its checklist (add, tick and untick,
//! rename, move up or down, delete). Every member reads; owners and
//! editors change. Routes on paths the JSON API shares rank 2.

use askama::Template;
use rocket::http::{ContentType, Status};
use rocket::{get, post, routes, FromForm, Route};

use super::actions::{may_edit_tasks, project_for, require, task_for};
use super::checklist::{self, step_of};
use super::labels::{self, Label, LabelForm, PALETTE};
use super::repo::Project;
use super::task_routes::task_page;
use super::views::ProjectView;
use crate::db::{Db, DbPool};
use crate::error::{AppResult, FieldErrors};
use crate::session::{CsrfForm, CurrentUser, NoFields};
use crate::web::{Ctx, Layout, Reply};

/// `/tasks/<project>/labels`.
#[derive(Template)]
#[template(path = "tasks/labels.html")]
pub struct LabelsPage {
    pub layout: Layout,
    pub project: ProjectView,
    pub labels: Vec<Label>,
    /// The new-label form's input and errors.
    pub form: LabelForm,
    pub errors: FieldErrors,
    /// The label whose edit failed, with what was typed and what is wrong.
    pub editing: Option<(i64, LabelForm, FieldErrors)>,
}

impl LabelsPage {
    /// The palette, for the selects.
    pub fn palette(&self) -> &'static [(&'static str, &'static str)] {
        &PALETTE
    }

    /// The name field of label `l` (what was typed, when its edit failed).
    pub fn name_of<'a>(&'a self, l: &'a Label) -> &'a str {
        match &self.editing {
            Some((id, form, _)) if *id == l.id => &form.name,
            _ => &l.name,
        }
    }

    /// The error of label `l`'s edit, if that one failed.
    pub fn error_of(&self, l: &Label) -> Option<String> {
        match &self.editing {
            Some((id, _, errors)) if *id == l.id => errors
                .get("name")
                .or(errors.get("colour"))
                .map(str::to_string),
            _ => None,
        }
    }
}

/// `/tasks/<project>/labels/<label>/delete`: the confirmation step.
#[derive(Template)]
#[template(path = "tasks/delete_label.html")]
pub struct DeleteLabelPage {
    pub layout: Layout,
    pub project: ProjectView,
    pub label: Label,
    /// How many tasks carry it.
    pub tasks: i64,
}

async fn labels_page(db: &DbPool, layout: Layout, project: &Project) -> AppResult<LabelsPage> {
    Ok(LabelsPage {
        layout,
        project: ProjectView::from(project),
        labels: labels::list(db, project.id).await?,
        form: LabelForm::default(),
        errors: FieldErrors::default(),
        editing: None,
    })
}

#[get("/tasks/<id>/labels", rank = 2)]
async fn list(db: &Db, user: CurrentUser, layout: Layout, id: i64) -> AppResult<Reply> {
    let project = project_for(db, id, user.id).await?;
    Reply::page(&labels_page(db, layout, &project).await?)
}

#[post("/tasks/<id>/labels", data = "<form>", rank = 2)]
async fn create(
    ctx: Ctx<'_>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    form: CsrfForm<LabelForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let project = project_for(ctx.db, id, user.id).await?;
    require(may_edit_tasks(&project))?;
    let saved = match labels::validate(&form.name, &form.colour) {
        Ok(input) => labels::create(ctx.db, id, &input).await?,
        Err(e) => Err(e),
    };
    match saved {
        Ok(label) => Ok(Reply::success(
            format!("/tasks/{id}/labels"),
            format!("Label “{}” created.", label.name),
        )),
        Err(errors) => {
            let mut page = labels_page(ctx.db, layout, &project).await?;
            page.form = form;
            page.errors = errors;
            Reply::page_with(Status::UnprocessableEntity, &page)
        }
    }
}

#[post("/tasks/<id>/labels/<label>/edit", data = "<form>")]
async fn edit(
    ctx: Ctx<'_>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    label: i64,
    form: CsrfForm<LabelForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let project = project_for(ctx.db, id, user.id).await?;
    let label = labels::label_of(ctx.db, id, label).await?;
    require(may_edit_tasks(&project))?;
    let saved = match labels::validate(&form.name, &form.colour) {
        Ok(input) => labels::update(ctx.db, &label, &input).await?,
        Err(e) => Err(e),
    };
    match saved {
        Ok(l) => Ok(Reply::success(
            format!("/tasks/{id}/labels"),
            format!("Label “{}” saved.", l.name),
        )),
        Err(errors) => {
            let mut page = labels_page(ctx.db, layout, &project).await?;
            page.editing = Some((label.id, form, errors));
            Reply::page_with(Status::UnprocessableEntity, &page)
        }
    }
}

#[get("/tasks/<id>/labels/<label>/delete")]
async fn confirm_delete(
    db: &Db,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    label: i64,
) -> AppResult<Reply> {
    let project = project_for(db, id, user.id).await?;
    let label = labels::label_of(db, id, label).await?;
    require(may_edit_tasks(&project))?;
    let tasks = sqlx::query_scalar("SELECT COUNT(*) FROM task_label_links WHERE label_id = $1")
        .bind(label.id)
        .fetch_one(&db.pool)
        .await?;
    Reply::page(&DeleteLabelPage {
        layout,
        project: ProjectView::from(&project),
        label,
        tasks,
    })
}

#[post("/tasks/<id>/labels/<label>/delete", data = "<_form>")]
async fn delete(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    label: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let project = project_for(ctx.db, id, user.id).await?;
    let label = labels::label_of(ctx.db, id, label).await?;
    require(may_edit_tasks(&project))?;
    labels::delete(ctx.db, &label).await?;
    Ok(Reply::success(
        format!("/tasks/{id}/labels"),
        format!("Label “{}” deleted.", label.name),
    ))
}

/// The task page's label checkboxes: every label ticked is kept or added,
/// every other one removed.
#[derive(Debug, Default, FromForm)]
struct TaskLabelsForm {
    label: Vec<String>,
}

#[post("/tasks/<id>/items/<task>/labels", data = "<form>", rank = 2)]
async fn set_task_labels(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    task: i64,
    form: CsrfForm<TaskLabelsForm>,
) -> AppResult<Reply> {
    let (project, task) = task_for(ctx.db, id, task, user.id).await?;
    require(may_edit_tasks(&project))?;
    let back = format!("/tasks/{id}/items/{}#labels", task.id);
    let ids: Result<Vec<i64>, _> = form.0.label.iter().map(|l| l.trim().parse()).collect();
    let stored = match ids {
        Ok(ids) => labels::set_for_task(ctx.db, id, task.id, &ids, user.id).await?,
        Err(_) => false,
    };
    Ok(if stored {
        Reply::success(back, "Labels saved.")
    } else {
        Reply::failure(back, "Choose labels of this project.")
    })
}

/// The checklist forms: the text of a new or renamed item, a tick, a move.
#[derive(Debug, Default, FromForm)]
struct ItemForm {
    #[field(default = String::new())]
    text: String,
    #[field(default = String::new())]
    done: String,
    #[field(default = String::new())]
    to: String,
}

#[post("/tasks/<id>/items/<task>/checklist", data = "<form>", rank = 2)]
async fn add_item(
    ctx: Ctx<'_>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    task: i64,
    form: CsrfForm<ItemForm>,
) -> AppResult<Reply> {
    let (project, task) = task_for(ctx.db, id, task, user.id).await?;
    require(may_edit_tasks(&project))?;
    let added = match checklist::validate(&form.0.text) {
        Ok(text) => checklist::add(ctx.db, task.id, &text).await?.map(|_| ()),
        Err(e) => Err(e),
    };
    match added {
        Ok(()) => Ok(Reply::success(
            format!("/tasks/{id}/items/{}#checklist", task.id),
            "Item added.",
        )),
        Err(errors) => {
            let mut page = task_page(ctx.db, layout, &project, &task, String::new(), None).await?;
            page.extras.text = form.0.text;
            page.extras.errors = errors;
            Reply::page_with(Status::UnprocessableEntity, &page)
        }
    }
}

#[post("/tasks/<id>/items/<task>/checklist/<item>", data = "<form>")]
async fn change_item(
    ctx: Ctx<'_>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    task: i64,
    item: i64,
    form: CsrfForm<ItemForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let (project, task) = task_for(ctx.db, id, task, user.id).await?;
    let item = checklist::item_of(ctx.db, task.id, item).await?;
    require(may_edit_tasks(&project))?;
    let back = format!("/tasks/{id}/items/{}#checklist", task.id);
    if !form.done.is_empty() {
        let done = form.done == "1";
        checklist::set_done(ctx.db, &item, done).await?;
        let what = if done { "ticked" } else { "unticked" };
        return Ok(Reply::success(back, format!("“{}” {what}.", item.text)));
    }
    if !form.to.is_empty() {
        let Ok(step) = step_of(&form.to) else {
            return Ok(Reply::failure(back, "Move an item up or down."));
        };
        checklist::shift(ctx.db, task.id, &item, step).await?;
        return Ok(Reply::success(back, "Checklist reordered."));
    }
    match checklist::validate(&form.text) {
        Ok(text) => {
            checklist::rename(ctx.db, &item, &text).await?;
            Ok(Reply::success(back, "Item renamed."))
        }
        Err(errors) => {
            let mut page = task_page(ctx.db, layout, &project, &task, String::new(), None).await?;
            let mut e = FieldErrors::default();
            if let Some(m) = errors.get("text") {
                e.add("rename", m.to_string());
            }
            page.extras.errors = e;
            page.extras.renaming = Some((item.id, form.text));
            Reply::page_with(Status::UnprocessableEntity, &page)
        }
    }
}

#[post("/tasks/<id>/items/<task>/checklist/<item>/delete", data = "<_form>")]
async fn delete_item(
    ctx: Ctx<'_>,
    user: CurrentUser,
    id: i64,
    task: i64,
    item: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let (project, task) = task_for(ctx.db, id, task, user.id).await?;
    let item = checklist::item_of(ctx.db, task.id, item).await?;
    require(may_edit_tasks(&project))?;
    checklist::remove(ctx.db, &item).await?;
    Ok(Reply::success(
        format!("/tasks/{id}/items/{}#checklist", task.id),
        format!("“{}” deleted.", item.text),
    ))
}

/// The board's drag and drop (progressive enhancement of the move forms).
#[get("/static/js/tasks-board.js")]
fn script() -> (ContentType, &'static str) {
    (
        ContentType::JavaScript,
        include_str!("../../static/js/tasks-board.js"),
    )
}

/// The label and checklist pages, and the board's script.
pub fn routes() -> Vec<Route> {
    routes![
        list,
        create,
        edit,
        confirm_delete,
        delete,
        set_task_labels,
        add_item,
        change_item,
        delete_item,
        script
    ]
}
