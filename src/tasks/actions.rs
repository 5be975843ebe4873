//! Who may do what in a project, and the changes the pages and the API
//! share. Anyone who is not a member gets 404 for everything in a project
//! (as if it did not exist); a member whose role does not allow a change
//! gets 403.
//!
//! - every member reads the project, its board, tasks and members;
//! - owners and editors create, edit, move, complete and delete tasks,
//!   unless the project is archived (then it is read-only);
//! - owners rename, archive and delete the project, manage its members
//!   and columns. The last owner can neither leave nor lose the role.

use super::columns::{self, Column};
use super::items::{self, Task};
use super::model::{Role, TaskInput};
use super::moves;
use super::repo::{self, Member, MemberChange, Project};
use super::zone::Localise;
use super::TasksConfig;
use crate::accounts::timezone;
use crate::db::DbPool;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::web::ratelimit::{self, Limit};

/// The project if `user_id` is a member; 404 otherwise.
pub async fn project_for(db: &DbPool, project_id: i64, user_id: i64) -> AppResult<Project> {
    repo::project(db, project_id, user_id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The project and its task `task_id`, if `user_id` is a member; 404
/// otherwise. The task's due date and time are in the member's time zone.
pub async fn task_for(
    db: &DbPool,
    project_id: i64,
    task_id: i64,
    user_id: i64,
) -> AppResult<(Project, Task)> {
    let project = project_for(db, project_id, user_id).await?;
    let mut task = items::get(db, project_id, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    task.localise(&timezone::of(db, user_id).await?);
    Ok((project, task))
}

/// True when the member may create, edit and move tasks.
pub fn may_edit_tasks(p: &Project) -> bool {
    !p.archived && matches!(p.role, Role::Owner | Role::Editor)
}

/// True when the member may change the project, its members and columns.
pub fn may_manage(p: &Project) -> bool {
    p.role == Role::Owner
}

/// 403 unless `allowed`.
pub fn require(allowed: bool) -> AppResult<()> {
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Count one new project by `user_id` (429 beyond `projects_per_hour`).
pub async fn count_project(db: &DbPool, cfg: &TasksConfig, user_id: i64) -> AppResult<()> {
    let limit = Limit {
        max: cfg.projects_per_hour,
        window: 3600,
    };
    ratelimit::attempt(db, &format!("tasks:project:{user_id}"), limit).await?;
    Ok(())
}

/// Count one new task by `user_id` (429 beyond `tasks_per_hour`).
pub async fn count_task(db: &DbPool, cfg: &TasksConfig, user_id: i64) -> AppResult<()> {
    let limit = Limit {
        max: cfg.tasks_per_hour,
        window: 3600,
    };
    ratelimit::attempt(db, &format!("tasks:task:{user_id}"), limit).await?;
    Ok(())
}

/// A message beside `assignee` unless it is nobody or a member.
pub async fn check_assignee(
    db: &DbPool,
    project_id: i64,
    task: &TaskInput,
    errors: &mut FieldErrors,
) -> AppResult<()> {
    if let Some(a) = task.assignee_id {
        if repo::member(db, project_id, a).await?.is_none() {
            errors.add("assignee", "Choose a member of the project, or nobody.");
        }
    }
    Ok(())
}

/// Add the account named by `who` (username or email) with `role`; a
/// field error when there is no such account or it is a member already.
pub async fn add_member(
    db: &DbPool,
    project_id: i64,
    who: &str,
    role: Role,
) -> AppResult<Result<Member, FieldErrors>> {
    let mut errors = FieldErrors::default();
    let Some(user_id) = repo::find_user(db, who).await? else {
        errors.add("who", "No account has that username or email address.");
        return Ok(Err(errors));
    };
    if !repo::add_member(db, project_id, user_id, role).await? {
        errors.add("who", "They are a member of this project already.");
        return Ok(Err(errors));
    }
    let member = repo::member(db, project_id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Ok(member))
}

/// The refusal for a change that would leave the project without an owner.
pub fn last_owner() -> AppError {
    AppError::Conflict(
        "A project needs an owner: make someone else an owner first, or delete the project.".into(),
    )
}

/// Turn a member change into an answer: 404 for a non-member, 409 for
/// the last owner.
pub fn member_change(change: MemberChange) -> AppResult<()> {
    match change {
        MemberChange::Done => Ok(()),
        MemberChange::NotMember => Err(AppError::NotFound),
        MemberChange::LastOwner => Err(last_owner()),
    }
}

/// The column `column_id` of the project, or a field error beside `column`.
pub async fn column_of(db: &DbPool, project_id: i64, column_id: i64) -> AppResult<Column> {
    columns::get(db, project_id, column_id)
        .await?
        .ok_or_else(|| {
            let mut errors = FieldErrors::default();
            errors.add("column", "Choose a column of this project.");
            AppError::Validation(errors)
        })
}

/// Move a task into `to` (before task `before`, or at the end).
pub async fn move_task(
    db: &DbPool,
    task: &Task,
    to: &Column,
    before: Option<i64>,
    user_id: i64,
) -> AppResult<()> {
    let from = column_of(db, task.project_id, task.column_id).await?;
    if !moves::move_to(db, task, &from, to, before, user_id).await? {
        let mut errors = FieldErrors::default();
        errors.add("before_id", "Choose a task of the column you move to.");
        return Err(AppError::Validation(errors));
    }
    Ok(())
}

/// The column left (`step` -1) or right (+1) of the task's own, if any.
pub async fn neighbour(db: &DbPool, task: &Task, step: i64) -> AppResult<Option<Column>> {
    let all = columns::list(db, task.project_id).await?;
    let Some(at) = all.iter().position(|c| c.id == task.column_id) else {
        return Ok(None);
    };
    let other = if step < 0 {
        at.checked_sub(1)
    } else {
        Some(at + 1)
    };
    Ok(other.and_then(|i| all.get(i).cloned()))
}

/// Complete a task: moved to the first done column when it is not in one,
/// otherwise only marked complete.
pub async fn complete(db: &DbPool, task: &Task, user_id: i64) -> AppResult<()> {
    let all = columns::list(db, task.project_id).await?;
    let here = all.iter().find(|c| c.id == task.column_id);
    match all.iter().find(|c| c.is_done()) {
        Some(done) if !here.is_some_and(Column::is_done) => {
            move_task(db, task, done, None, user_id).await
        }
        _ => moves::set_completed(db, task, true, user_id).await,
    }
}

/// Reopen a task: moved to the first column that is not done when it is
/// in a done one, otherwise only marked open.
pub async fn reopen(db: &DbPool, task: &Task, user_id: i64) -> AppResult<()> {
    let all = columns::list(db, task.project_id).await?;
    let here = all.iter().find(|c| c.id == task.column_id);
    match all.iter().find(|c| !c.is_done()) {
        Some(open) if here.is_some_and(Column::is_done) => {
            move_task(db, task, open, None, user_id).await
        }
        _ => moves::set_completed(db, task, false, user_id).await,
    }
}
