//! The tasks pages' template structs.

use askama::Template;

use super::actions::{may_edit_tasks, may_manage};
use super::cards::{Extras, TaskExtras};
use super::columns::Column;
use super::comments::Comment;
use super::items::{due_label, Activity, Assigned, Task};
use super::labels::Label;
use super::model::{priority_name, MemberForm, TaskForm, PRIORITIES};
use super::query::{Assignee, ListQuery};
use super::repo::{Member, Project};
use crate::error::FieldErrors;
use crate::web::markdown::render_markdown;
use crate::web::paging::Pager;
use crate::web::text::format_time;
use crate::web::{enc, Layout};

/// A project as the pages show it, with what the viewer may do.
pub struct ProjectView {
    pub id: i64,
    pub name: String,
    pub archived: bool,
    pub role: &'static str,
    pub can_edit: bool,
    pub can_manage: bool,
}

impl From<&Project> for ProjectView {
    fn from(p: &Project) -> Self {
        ProjectView {
            id: p.id,
            name: p.name.clone(),
            archived: p.archived,
            role: p.role.as_str(),
            can_edit: may_edit_tasks(p),
            can_manage: may_manage(p),
        }
    }
}

/// A task as a card or a list row shows it.
pub struct TaskView {
    pub id: i64,
    pub title: String,
    pub assignee: Option<String>,
    /// "2026-12-31 09:30", or empty.
    pub due: String,
    pub priority: &'static str,
    pub completed: bool,
    /// The description rendered from Markdown and sanitised: safe for `|safe`
    /// (only filled for the task's own page).
    pub html: String,
}

impl TaskView {
    /// For a card or row (no rendered description).
    pub fn summary(t: &Task) -> TaskView {
        let due = match due_label(t.due_date.as_deref(), t.due_time.as_deref()).as_str() {
            "none" => String::new(),
            d => d.to_string(),
        };
        TaskView {
            id: t.id,
            title: t.title.clone(),
            assignee: t.assignee.clone(),
            due,
            priority: priority_name(t.priority),
            completed: t.completed_at.is_some(),
            html: String::new(),
        }
    }

    /// For the task's own page.
    pub fn full(t: &Task) -> TaskView {
        TaskView {
            html: render_markdown(&t.description),
            ..TaskView::summary(t)
        }
    }
}

/// `/tasks`: the member's projects and the form for a new one.
#[derive(Template)]
#[template(path = "tasks/projects.html")]
pub struct ProjectsPage {
    pub layout: Layout,
    pub projects: Vec<ProjectView>,
    pub name: String,
    pub errors: FieldErrors,
    pub pager: Pager,
}

/// One column of the board.
pub struct ColumnView {
    pub id: i64,
    pub name: String,
    pub done: bool,
    pub tasks: Vec<TaskView>,
    /// How many tasks the column holds (it shows at most a limit).
    pub count: i64,
    /// How many of them the board leaves out.
    pub more: i64,
    /// The columns to the left and right, for the arrow buttons.
    pub left: Option<String>,
    pub right: Option<String>,
}

/// `/tasks/<project>`: the board.
#[derive(Template)]
#[template(path = "tasks/board.html")]
pub struct BoardPage {
    pub layout: Layout,
    pub project: ProjectView,
    pub columns: Vec<ColumnView>,
    /// Every column's id and name, for the "Move to" selects.
    pub targets: Vec<(i64, String)>,
    /// Each card's labels and checklist progress.
    pub extras: Extras,
}

/// `/tasks/<project>/settings`: name, members and columns.
#[derive(Template)]
#[template(path = "tasks/settings.html")]
pub struct SettingsPage {
    pub layout: Layout,
    pub project: ProjectView,
    pub me: i64,
    pub members: Vec<Member>,
    pub columns: Vec<Column>,
    /// The rename form's text and errors.
    pub name: String,
    pub name_errors: FieldErrors,
    /// The add-member form's input and errors.
    pub member: MemberForm,
    pub member_errors: FieldErrors,
    /// The add-column form's text and errors.
    pub column_name: String,
    pub column_errors: FieldErrors,
}

impl SettingsPage {
    /// The roles, for the selects.
    pub fn roles(&self) -> &'static [&'static str] {
        &["owner", "editor", "viewer"]
    }
}

/// `/tasks/<project>/delete`: the confirmation step.
#[derive(Template)]
#[template(path = "tasks/delete_project.html")]
pub struct DeleteProjectPage {
    pub layout: Layout,
    pub project: ProjectView,
    pub tasks: i64,
}

/// The create and edit form of a task; with `stored`, the 409 page of a
/// stale save that shows the stored task next to the person's own.
#[derive(Template)]
#[template(path = "tasks/form.html")]
pub struct TaskFormPage {
    pub layout: Layout,
    pub project: ProjectView,
    /// None for a new task.
    pub id: Option<i64>,
    pub form: TaskForm,
    pub errors: FieldErrors,
    pub members: Vec<Member>,
    pub columns: Vec<Column>,
    pub stored: Option<Task>,
}

impl TaskFormPage {
    /// Where the form posts.
    pub fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/tasks/{}/items/{id}/edit", self.project.id),
            None => format!("/tasks/{}/items", self.project.id),
        }
    }

    /// The priorities, for the select.
    pub fn priorities(&self) -> &'static [&'static str] {
        &PRIORITIES
    }

    /// The stored task's due date, as the 409 page shows it.
    pub fn stored_due(&self) -> String {
        self.stored.as_ref().map_or_else(String::new, |s| {
            due_label(s.due_date.as_deref(), s.due_time.as_deref())
        })
    }

    /// The stored task's priority name.
    pub fn stored_priority(&self) -> &'static str {
        self.stored
            .as_ref()
            .map_or("none", |s| priority_name(s.priority))
    }
}

/// The form filled from a stored task.
pub fn form_of(t: &Task) -> TaskForm {
    TaskForm {
        title: t.title.clone(),
        description: t.description.clone(),
        assignee: t.assignee_id.map(|a| a.to_string()).unwrap_or_default(),
        due_date: t.due_date.clone().unwrap_or_default(),
        due_time: t.due_time.clone().unwrap_or_default(),
        priority: priority_name(t.priority).to_string(),
        column: t.column_id.to_string(),
        version: t.version,
    }
}

/// An activity line as people read it.
pub struct ActivityView {
    pub who: String,
    pub what: String,
    pub when: String,
}

impl From<&Activity> for ActivityView {
    fn from(a: &Activity) -> Self {
        let what = match a.kind.as_str() {
            "created" => format!("created the task in {}", a.detail),
            "moved" => format!("moved it: {}", a.detail),
            "assigned" => format!("assigned it to {}", a.detail),
            "unassigned" => "removed the assignee".into(),
            "due" if a.detail == "none" => "removed the due date".into(),
            "due" => format!("set the due date to {}", a.detail),
            "completed" => "completed it".into(),
            "reopened" => "reopened it".into(),
            "labels" => format!("changed the labels: {}", a.detail),
            _ => "edited it".into(),
        };
        ActivityView {
            who: a
                .username
                .clone()
                .unwrap_or_else(|| "A former member".into()),
            what,
            when: format_time(a.created_at),
        }
    }
}

/// `/tasks/<project>/items/<task>`.
#[derive(Template)]
#[template(path = "tasks/show.html")]
pub struct TaskPage {
    pub layout: Layout,
    pub project: ProjectView,
    pub task: TaskView,
    pub column: String,
    pub created: String,
    /// "alice, 2026-12-07 10:00 UTC" when complete.
    pub completed: Option<String>,
    pub targets: Vec<(i64, String)>,
    pub column_id: i64,
    pub activity: Vec<ActivityView>,
    pub comments: Vec<CommentView>,
    /// The comment form's text, and what is wrong with it.
    pub comment: String,
    pub comment_error: Option<String>,
    /// Its labels and checklist, with their forms.
    pub extras: TaskExtras,
}

/// A comment as the task page shows it.
pub struct CommentView {
    /// The anchor a notification links to (`#comment-<id>`).
    pub id: i64,
    pub who: String,
    pub when: String,
    /// Rendered from Markdown and sanitised: safe for `|safe`.
    pub html: String,
}

impl From<&Comment> for CommentView {
    fn from(c: &Comment) -> Self {
        CommentView {
            id: c.id,
            who: c
                .username
                .clone()
                .unwrap_or_else(|| "A former member".into()),
            when: format_time(c.created_at),
            html: render_markdown(&c.body),
        }
    }
}

/// `/tasks/<project>/list`: the project's tasks, filtered, sorted and paged.
#[derive(Template)]
#[template(path = "tasks/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub project: ProjectView,
    pub tasks: Vec<TaskView>,
    pub columns: Vec<Column>,
    pub members: Vec<Member>,
    pub labels: Vec<Label>,
    /// Each row's labels and checklist progress.
    pub extras: Extras,
    /// The filters and order as chosen.
    pub form: ListForm,
    /// What could not be read in the address (ignored).
    pub errors: FieldErrors,
    pub pager: Pager,
}

impl ListPage {
    /// The sort orders, for the select: value and label.
    pub fn sorts(&self) -> [(&'static str, &'static str); 6] {
        [
            ("board", "Board order"),
            ("due", "Due date"),
            ("priority", "Priority"),
            ("created", "Created"),
            ("updated", "Last changed"),
            ("title", "Title"),
        ]
    }
}

/// The list's filter form as chosen ("" for any), and its query string.
#[derive(Debug, Clone, Default)]
pub struct ListForm {
    pub column: String,
    pub assignee: String,
    pub label: String,
    pub due_before: String,
    pub due_after: String,
    pub overdue: bool,
    pub q: String,
    pub sort: &'static str,
    pub desc: bool,
}

impl ListForm {
    /// The form showing `q`.
    pub fn of(q: &ListQuery) -> ListForm {
        ListForm {
            column: q.column_id.map(|c| c.to_string()).unwrap_or_default(),
            assignee: match q.assignee {
                Some(Assignee::Member(a)) => a.to_string(),
                Some(Assignee::Nobody) => "none".into(),
                None => String::new(),
            },
            label: q.label_id.map(|l| l.to_string()).unwrap_or_default(),
            due_before: q.due_before.clone().unwrap_or_default(),
            due_after: q.due_after.clone().unwrap_or_default(),
            overdue: q.overdue,
            q: q.q.clone(),
            sort: q.sort.as_str(),
            desc: q.desc,
        }
    }

    /// The query string of this form, without `page`.
    pub fn query_string(&self) -> String {
        format!(
            "column={}&assignee={}&label={}&due_after={}&due_before={}&overdue={}&q={}&sort={}&dir={}",
            self.column,
            enc(&self.assignee),
            self.label,
            self.due_after,
            self.due_before,
            if self.overdue { "1" } else { "" },
            enc(&self.q),
            self.sort,
            if self.desc { "desc" } else { "asc" }
        )
    }
}

/// `/tasks/<project>/items/<task>/delete`: the confirmation step.
#[derive(Template)]
#[template(path = "tasks/delete_task.html")]
pub struct DeleteTaskPage {
    pub layout: Layout,
    pub project: ProjectView,
    pub task: TaskView,
}

/// A task on "My tasks".
pub struct MineView {
    pub id: i64,
    pub project_id: i64,
    pub project: String,
    pub title: String,
    /// "2026-12-31 09:30", or empty.
    pub due: String,
    pub priority: &'static str,
}

impl From<Assigned> for MineView {
    fn from(t: Assigned) -> Self {
        let due = match due_label(t.due_date.as_deref(), t.due_time.as_deref()).as_str() {
            "none" => String::new(),
            d => d.to_string(),
        };
        MineView {
            id: t.id,
            project_id: t.project_id,
            project: t.project,
            title: t.title,
            due,
            priority: priority_name(t.priority),
        }
    }
}

/// One group of "My tasks" (overdue, today, this week, later, no date).
pub struct MineGroup {
    pub title: &'static str,
    pub tasks: Vec<MineView>,
}

/// `/tasks/mine`.
#[derive(Template)]
#[template(path = "tasks/mine.html")]
pub struct MinePage {
    pub layout: Layout,
    pub groups: Vec<MineGroup>,
    /// The member's time zone, which "today" is in.
    pub zone: String,
    pub total: usize,
    pub max: usize,
}
