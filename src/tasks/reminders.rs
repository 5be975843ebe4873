//! Reminders by mail, as jobs on the one queue (`crate::jobs`) and mail
//! through the outbox: on the morning a task assigned to a member is due
//! (at `tasks.reminder_hour` in their time zone), and when someone else
//! assigns a task to them, each only if they asked for it.
//!
//! Every change to a task queues a *plan* job; the plan (which knows the
//! settings) drops the task's waiting morning reminder and queues the one
//! that fits the task now, so a re-dated task's reminder moves and a done,
//! deleted or unassigned task's goes away. A reminder checks the task again
//! when it runs and mails only if it still fits; the mail and the row in
//! `task_reminders_sent` that marks it sent are one transaction, and that
//! row is unique, so it goes out once however many workers run.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::zone;
use crate::accounts::timezone;
use crate::db::{begin_write, now, DbPool};
use crate::error::{AppError, AppResult};
use crate::jobs::{self, JobError, NewJob, Policy, Registry};
use crate::mail::{self, MailContent};
use crate::mail_templates;

/// Recomputes a task's morning reminder.
pub const PLAN: &str = "task_reminder_plan";
/// Mails a morning reminder.
pub const DUE: &str = "task_due_reminder";
/// Mails "assigned to you".
pub const ASSIGNED: &str = "task_assigned_mail";

const POLICY: Policy = Policy {
    max_attempts: 5,
    retry_base: 10.0,
    retry_max: 600.0,
};

#[derive(Debug, Serialize, Deserialize)]
struct PlanJob {
    task_id: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct DueJob {
    task_id: i64,
    user_id: i64,
    /// The due day in the member's zone, `YYYY-MM-DD`.
    day: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct AssignedJob {
    task_id: i64,
    user_id: i64,
    by: i64,
}

/// A task changed (created, edited, moved, completed, reopened): queue the
/// plan of its reminder, and the "assigned to you" mail when the assignee
/// is new and someone else made the change. On the caller's transaction,
/// so nothing is queued for a change that rolls back.
pub async fn task_changed(
    conn: &mut AnyConnection,
    task_id: i64,
    assignee_before: Option<i64>,
    actor: Option<i64>,
) -> AppResult<()> {
    jobs::enqueue(&mut *conn, &NewJob::new(PLAN, &PlanJob { task_id })?).await?;
    let assignee: Option<i64> = sqlx::query_scalar("SELECT assignee_id FROM tasks WHERE id = $1")
        .bind(task_id)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    if let (Some(user_id), Some(by)) = (assignee, actor) {
        if assignee != assignee_before && user_id != by {
            let job = AssignedJob {
                task_id,
                user_id,
                by,
            };
            jobs::enqueue(&mut *conn, &NewJob::new(ASSIGNED, &job)?).await?;
        }
    }
    Ok(())
}

/// Plan every open task assigned to `user_id` again (after they changed
/// what they want to be reminded of).
pub async fn user_changed(conn: &mut AnyConnection, user_id: i64) -> AppResult<()> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM tasks WHERE assignee_id = $1 AND completed_at IS NULL \
         AND due_date IS NOT NULL",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    for task_id in ids {
        jobs::enqueue(&mut *conn, &NewJob::new(PLAN, &PlanJob { task_id })?).await?;
    }
    sqlx::query("DELETE FROM jobs WHERE kind = $1 AND state = 'queued' AND unique_key LIKE $2")
        .bind(DUE)
        .bind(format!("task-due:%:{user_id}:%"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A task as its reminders see it, with its assignee and their settings.
#[derive(Debug, sqlx::FromRow)]
struct Subject {
    id: i64,
    project_id: i64,
    project: String,
    archived: i64,
    title: String,
    due_date: Option<String>,
    due_at: Option<i64>,
    completed_at: Option<i64>,
    assignee_id: Option<i64>,
    username: Option<String>,
    email: Option<String>,
    disabled: Option<i64>,
    time_zone: Option<String>,
    remind_due: i64,
    remind_assigned: i64,
}

impl Subject {
    /// The assignee's zone.
    fn zone(&self) -> jiff::tz::TimeZone {
        timezone::zone(self.time_zone.as_deref().unwrap_or(timezone::DEFAULT))
    }

    /// The day it is due in the assignee's zone, and the time when timed.
    fn due_local(&self) -> Option<(String, Option<String>)> {
        match self.due_at {
            Some(at) => zone::wall_clock(at, &self.zone()).map(|(d, t)| (d, Some(t))),
            None => self.due_date.clone().map(|d| (d, None)),
        }
    }

    /// Whether its assignee `user_id` can still be reminded of it.
    fn open_for(&self, user_id: i64) -> bool {
        self.assignee_id == Some(user_id)
            && self.completed_at.is_none()
            && self.archived == 0
            && self.disabled == Some(0)
    }
}

async fn subject(conn: &mut AnyConnection, task_id: i64) -> AppResult<Option<Subject>> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.project_id, p.name AS project, p.archived, t.title, t.due_date, t.due_at, \
         t.completed_at, t.assignee_id, u.username, u.email, u.disabled, u.time_zone, \
         COALESCE(s.remind_due, 0) AS remind_due, COALESCE(s.remind_assigned, 0) AS remind_assigned \
         FROM tasks t JOIN task_projects p ON p.id = t.project_id \
         LEFT JOIN users u ON u.id = t.assignee_id \
         LEFT JOIN task_user_settings s ON s.user_id = t.assignee_id \
         WHERE t.id = $1",
    )
    .bind(task_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// When the morning reminder of a task due on `day` (in `tz`) is sent:
/// `hour`:00 that day in `tz`, or now if that has passed on the day
/// itself; none once the day is over.
pub fn morning_of(day: &str, tz: &jiff::tz::TimeZone, hour: i64, now: i64) -> Option<i64> {
    let today = zone::wall_clock(now, tz)?.0;
    if day < today.as_str() {
        return None;
    }
    let at = zone::instant(day, &format!("{hour:02}:00"), tz)?;
    Some(at.max(now))
}

/// Drop the task's waiting morning reminder and queue the one that fits it now.
async fn plan(conn: &mut AnyConnection, task_id: i64, hour: i64) -> AppResult<()> {
    sqlx::query("DELETE FROM jobs WHERE kind = $1 AND state = 'queued' AND unique_key LIKE $2")
        .bind(DUE)
        .bind(format!("task-due:{task_id}:%"))
        .execute(&mut *conn)
        .await?;
    let Some(s) = subject(conn, task_id).await? else {
        return Ok(());
    };
    let (Some(user_id), Some((day, _))) = (s.assignee_id, s.due_local()) else {
        return Ok(());
    };
    if !s.open_for(user_id) || s.remind_due == 0 {
        return Ok(());
    }
    let Some(at) = morning_of(&day, &s.zone(), hour, now()) else {
        return Ok(());
    };
    let key = format!("task-due:{task_id}:{user_id}:{day}");
    let job = DueJob {
        task_id,
        user_id,
        day,
    };
    jobs::enqueue(&mut *conn, &NewJob::new(DUE, &job)?.at(at).unique(&key)).await?;
    Ok(())
}

/// "Due today".
pub struct DueMail {
    pub username: String,
    pub title: String,
    pub project: String,
    /// "today" or "today at 14:30".
    pub when: String,
    pub link: String,
}
mail_templates!(DueMail, "email/task_due.txt", "email/task_due.html");

impl MailContent for DueMail {
    const NAME: &'static str = "task_due";
    fn subject(&self) -> String {
        format!("Due {}: {}", self.when, self.title)
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

/// "Assigned to you".
pub struct AssignedMail {
    pub username: String,
    pub by: String,
    pub title: String,
    pub project: String,
    pub link: String,
}
mail_templates!(
    AssignedMail,
    "email/task_assigned.txt",
    "email/task_assigned.html"
);

impl MailContent for AssignedMail {
    const NAME: &'static str = "task_assigned";
    fn subject(&self) -> String {
        format!("Assigned to you: {}", self.title)
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

/// Mark a reminder sent; false when it already was.
async fn mark_sent(
    conn: &mut AnyConnection,
    task_id: i64,
    user_id: i64,
    kind: &str,
    occasion: &str,
) -> AppResult<bool> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO task_reminders_sent (task_id, user_id, kind, occasion, sent_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(task_id)
    .bind(user_id)
    .bind(kind)
    .bind(occasion)
    .bind(now())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id.is_some())
}

fn render(mail: &impl MailContent, to: &str) -> AppResult<mail::Email> {
    mail.to(to, None)
        .map_err(|e| AppError::Internal(format!("reminder mail: {e}")))
}

/// Send the morning reminder if the task is still due that day, open and
/// assigned to the member, and they still want it; plan again otherwise.
async fn send_due(db: &DbPool, base: &str, job: DueJob, hour: i64) -> AppResult<()> {
    let mut tx = begin_write(db).await?;
    let Some(s) = subject(&mut tx, job.task_id).await? else {
        return Ok(());
    };
    let due = s.due_local();
    let fits = s.open_for(job.user_id)
        && s.remind_due != 0
        && due.as_ref().is_some_and(|(d, _)| *d == job.day);
    if !fits {
        // Re-dated or moved to another zone since it was planned.
        plan(&mut tx, job.task_id, hour).await?;
        tx.commit().await?;
        return Ok(());
    }
    if mark_sent(&mut tx, s.id, job.user_id, "due", &job.day).await? {
        let when = match due.and_then(|(_, t)| t) {
            Some(t) => format!("today at {t}"),
            None => "today".into(),
        };
        let m = DueMail {
            username: s.username.clone().unwrap_or_default(),
            title: s.title.clone(),
            project: s.project.clone(),
            when,
            link: format!("{base}/tasks/{}/items/{}", s.project_id, s.id),
        };
        let email = render(&m, s.email.as_deref().unwrap_or_default())?;
        mail::enqueue(&mut tx, base, &email, Some(("task", s.id))).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Mail "assigned to you" if the task is still theirs and they want it.
async fn send_assigned(db: &DbPool, base: &str, job: AssignedJob, job_id: i64) -> AppResult<()> {
    let mut tx = begin_write(db).await?;
    let Some(s) = subject(&mut tx, job.task_id).await? else {
        return Ok(());
    };
    if !s.open_for(job.user_id) || s.remind_assigned == 0 {
        return Ok(());
    }
    if mark_sent(&mut tx, s.id, job.user_id, "assigned", &job_id.to_string()).await? {
        let by: Option<String> = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
            .bind(job.by)
            .fetch_optional(&mut *tx)
            .await?;
        let m = AssignedMail {
            username: s.username.clone().unwrap_or_default(),
            by: by.unwrap_or_else(|| "A former member".into()),
            title: s.title.clone(),
            project: s.project.clone(),
            link: format!("{base}/tasks/{}/items/{}", s.project_id, s.id),
        };
        let email = render(&m, s.email.as_deref().unwrap_or_default())?;
        mail::enqueue(&mut tx, base, &email, Some(("task", s.id))).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Register the three job kinds (the tasks stage does, when the app starts).
pub fn register(registry: &Registry, db: DbPool, base_url: &str, hour: i64) {
    let base = base_url.trim_end_matches('/').to_string();
    let pool = db.clone();
    registry.register(PLAN, POLICY, move |_conn, job| {
        let db = pool.clone();
        Box::pin(async move {
            let p: PlanJob = job.payload().map_err(JobError::permanent)?;
            let mut tx = begin_write(&db).await.map_err(JobError::from)?;
            plan(&mut tx, p.task_id, hour).await?;
            tx.commit().await.map_err(JobError::from)?;
            Ok(())
        })
    });
    let (pool, b) = (db.clone(), base.clone());
    registry.register(DUE, POLICY, move |_conn, job| {
        let (db, base) = (pool.clone(), b.clone());
        Box::pin(async move {
            let d: DueJob = job.payload().map_err(JobError::permanent)?;
            send_due(&db, &base, d, hour).await?;
            Ok(())
        })
    });
    registry.register(ASSIGNED, POLICY, move |_conn, job| {
        let (db, base) = (db.clone(), base.clone());
        Box::pin(async move {
            let a: AssignedJob = job.payload().map_err(JobError::permanent)?;
            send_assigned(&db, &base, a, job.id).await?;
            Ok(())
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_morning_is_the_members_across_daylight_saving() {
        let berlin = jiff::tz::db().get("Europe/Berlin").unwrap();
        let early = 1_800_000_000; // 2027-01-15
                                   // 08:00 in Berlin: 07:00 UTC in winter, 06:00 UTC after 2027-03-28.
        assert_eq!(
            morning_of("2027-03-27", &berlin, 8, early),
            Some(1_806_130_800)
        );
        assert_eq!(
            morning_of("2027-03-28", &berlin, 8, early),
            Some(1_806_213_600)
        );
        // A day that is over has no reminder; today's after the hour is now.
        assert_eq!(morning_of("2027-01-14", &berlin, 8, early), None);
        let now_at_noon = zone::instant("2027-01-15", "12:00", &berlin).unwrap();
        assert_eq!(
            morning_of("2027-01-15", &berlin, 8, now_at_noon),
            Some(now_at_noon)
        );
    }
}
