//! What tasks tell members through the site's one notifications system
//! (src/notifications): a task assigned to them, and a comment on a task
//! assigned to them or created by them. Each is written in the transaction
//! of the change that caused it, so it exists exactly when the change does;
//! `notify` leaves out one's own actions, kinds turned off and members who
//! blocked the actor.
//!
//! Only current members of the project are told: a creator who has left
//! the project would be sent to a page they can no longer open.

use sqlx::AnyConnection;

use crate::error::AppResult;
use crate::notifications::{notify, Kind, Notice};

/// Whether `user_id` is still a member of `project_id`.
async fn is_member(conn: &mut AnyConnection, project_id: i64, user_id: i64) -> AppResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM task_members WHERE project_id = $1 AND user_id = $2",
    )
    .bind(project_id)
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

fn task_url(project_id: i64, task_id: i64) -> String {
    format!("/tasks/{project_id}/items/{task_id}")
}

/// Tell `assignee` that `actor` assigned them task `task_id`. `activity`
/// names this assignment (the activity line's id), so being assigned the
/// same task again later is a new notification, and never the same one
/// twice.
pub(super) async fn assigned(
    conn: &mut AnyConnection,
    project_id: i64,
    task_id: i64,
    title: &str,
    assignee: i64,
    actor: i64,
    activity: i64,
) -> AppResult<()> {
    if !is_member(conn, project_id, assignee).await? {
        return Ok(());
    }
    let target = format!("task:{task_id}:{activity}");
    let url = task_url(project_id, task_id);
    notify(
        conn,
        &Notice {
            recipient: assignee,
            actor,
            kind: Kind::TaskAssigned,
            target: &target,
            subject: title,
            url: &url,
        },
    )
    .await?;
    Ok(())
}

/// Tell the task's assignee and its creator (each once, never the author)
/// about comment `comment_id` by `actor`.
pub(super) async fn commented(
    conn: &mut AnyConnection,
    task_id: i64,
    comment_id: i64,
    actor: i64,
) -> AppResult<()> {
    let row: Option<(i64, String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT project_id, title, assignee_id, created_by FROM tasks WHERE id = $1",
    )
    .bind(task_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((project_id, title, assignee, creator)) = row else {
        return Ok(());
    };
    let target = format!("task_comment:{comment_id}");
    let url = format!("{}#comment-{comment_id}", task_url(project_id, task_id));
    let mut told = Vec::new();
    for recipient in [assignee, creator].into_iter().flatten() {
        if recipient == actor || told.contains(&recipient) {
            continue;
        }
        told.push(recipient);
        if !is_member(conn, project_id, recipient).await? {
            continue;
        }
        notify(
            conn,
            &Notice {
                recipient,
                actor,
                kind: Kind::TaskComment,
                target: &target,
                subject: &title,
                url: &url,
            },
        )
        .await?;
    }
    Ok(())
}
