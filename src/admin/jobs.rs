//! `/admin/jobs`: background jobs by state, with each one's last error, and
//! a retry for jobs that were given up.

use askama::Template;
use rocket::{get, post, routes, Route, State};

use super::cache::JobsCache;
use crate::audit::{self, Actor};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::jobs::queue::{self, JobRow, STATES};
use crate::jobs::Wakeup;
use crate::session::{AdminUser, CsrfForm, NoFields};
use crate::web::text::format_time;
use crate::web::{ClientIp, Layout, Reply};

const PAGE_SIZE: i64 = 50;

/// A job as the page shows it.
pub struct JobLine {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: String,
    /// When it runs next (waiting), runs until (running) or last changed.
    pub when: String,
    pub lease_owner: String,
    pub last_error: String,
    pub can_retry: bool,
}

impl From<JobRow> for JobLine {
    fn from(j: JobRow) -> Self {
        let when = match j.state.as_str() {
            "queued" => format!("due {}", format_time(j.run_at)),
            "running" => format!(
                "leased until {}",
                format_time(j.lease_until.unwrap_or(j.run_at))
            ),
            _ => format_time(j.updated_at),
        };
        JobLine {
            id: j.id,
            payload: j.payload.chars().take(200).collect(),
            attempts: match j.max_attempts {
                Some(max) => format!("{} of {max}", j.attempts),
                None => j.attempts.to_string(),
            },
            when,
            lease_owner: j.lease_owner.unwrap_or_default(),
            last_error: j.last_error.unwrap_or_default(),
            can_retry: j.state == "dead",
            kind: j.kind,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    layout: Layout,
    state: &'static str,
    counts: Vec<(&'static str, i64)>,
    rows: Vec<JobLine>,
    page: i64,
    pages: i64,
}

#[get("/admin/jobs?<state>&<page>")]
async fn list(
    db: &Db,
    cache: &State<JobsCache>,
    _admin: AdminUser,
    layout: Layout,
    state: Option<&str>,
    page: Option<i64>,
) -> AppResult<Reply> {
    let state = STATES
        .into_iter()
        .find(|s| Some(*s) == state)
        .unwrap_or("dead");
    let page = page.unwrap_or(1).max(1);
    let kept = cache
        .page(db, state, (PAGE_SIZE, (page - 1) * PAGE_SIZE))
        .await?;
    let (counts, rows) = &*kept;
    let total = counts
        .iter()
        .find(|(s, _)| *s == state)
        .map_or(0, |(_, n)| *n);
    Reply::page(&JobsPage {
        layout,
        state,
        counts: counts.clone(),
        rows: rows.iter().cloned().map(JobLine::from).collect(),
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
    })
}

#[post("/admin/jobs/<id>/retry", data = "<_form>")]
async fn retry(
    db: &Db,
    admin: AdminUser,
    ip: ClientIp,
    wakeup: &State<Wakeup>,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let back = "/admin/jobs?state=dead";
    match queue::retry_now(db, id).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::NotFound),
        Err(AppError::Conflict(message)) => return Ok(Reply::failure(back, message)),
        Err(e) => return Err(e),
    }
    wakeup.notify();
    let actor = Actor {
        id: admin.0.id,
        name: admin.0.username.clone(),
        ip: ip.label(),
    };
    audit::record(db, &actor, "job.retry", None, &format!("job {id}")).await?;
    Ok(Reply::success(
        back,
        format!("Job {id} is queued to run again."),
    ))
}

/// The routes of this page.
pub fn routes() -> Vec<Route> {
    routes![list, retry]
}
