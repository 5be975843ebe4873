//! Reporting: the form members reach from a "Report" link (`/report`),
//! the JSON API (`POST /reports`), and the admins' queue
//! (`/admin/reports`: the reported content in context; dismiss, hide,
//! suspend).

use std::collections::HashMap;

use askama::Template;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use serde::Deserialize;
use serde_json::{json, Value};

use super::reports::{self, Decision, ReportTargets, Reported};
use crate::api::json::{Fields, JsonBody};
use crate::api::{ApiRequest, ApiUser};
use crate::audit::Actor;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::{AdminUser, CsrfForm, CurrentUser};
use crate::web::text::format_time;
use crate::web::{ClientIp, Layout, Reply};

/// Most open reports the queue shows at once.
const QUEUE_MAX: i64 = 100;

/// `/report`: what is reported and the reason.
#[derive(Template)]
#[template(path = "moderation/report.html")]
pub struct ReportPage {
    pub layout: Layout,
    pub kind: String,
    pub id: i64,
    pub content: Reported,
    pub reason: String,
    pub errors: FieldErrors,
}

#[get("/report?<kind>&<id>")]
async fn report_form(
    db: &Db,
    targets: &State<ReportTargets>,
    _user: CurrentUser,
    layout: Layout,
    kind: &str,
    id: i64,
) -> AppResult<Reply> {
    let content = targets
        .describe(db, kind, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Reply::page(&ReportPage {
        layout,
        kind: kind.to_string(),
        id,
        content,
        reason: String::new(),
        errors: FieldErrors::default(),
    })
}

/// The report form's fields.
#[derive(Debug, FromForm)]
struct ReportForm {
    kind: String,
    id: i64,
    #[field(default = String::new())]
    reason: String,
}

#[post("/report", data = "<form>")]
async fn submit(
    db: &Db,
    targets: &State<ReportTargets>,
    user: CurrentUser,
    layout: Layout,
    form: CsrfForm<ReportForm>,
) -> AppResult<Reply> {
    let CsrfForm(f) = form;
    match reports::file(db, targets, user.id, &f.kind, f.id, &f.reason).await {
        Ok(_) => {
            let content = targets.describe(db, &f.kind, f.id).await?;
            let back = content.map_or_else(|| "/".to_string(), |c| c.url);
            Ok(Reply::success(
                back,
                "Thank you: a moderator will look at your report.",
            ))
        }
        Err(AppError::Validation(errors)) => {
            let content = targets
                .describe(db, &f.kind, f.id)
                .await?
                .ok_or(AppError::NotFound)?;
            Reply::page_with(
                Status::UnprocessableEntity,
                &ReportPage {
                    layout,
                    kind: f.kind,
                    id: f.id,
                    content,
                    reason: f.reason,
                    errors,
                },
            )
        }
        Err(e) => Err(e),
    }
}

/// `POST /reports`.
#[derive(Debug, Deserialize)]
pub struct ReportRequest {
    pub kind: Option<String>,
    pub id: Option<i64>,
    pub reason: Option<String>,
}

impl Fields for ReportRequest {
    const FIELDS: &'static [&'static str] = &["kind", "id", "reason"];
}

#[post("/reports", data = "<body>", rank = 1)]
async fn api_report(
    _api: ApiRequest,
    db: &Db,
    targets: &State<ReportTargets>,
    me: ApiUser,
    body: JsonBody<ReportRequest>,
) -> AppResult<(Status, Json<Value>)> {
    let JsonBody(b) = body;
    let kind = b.kind.unwrap_or_default();
    let id = b.id.unwrap_or(0);
    let report = reports::file(
        db,
        targets,
        me.0.id,
        &kind,
        id,
        b.reason.as_deref().unwrap_or(""),
    )
    .await?;
    Ok((
        Status::Created,
        Json(json!({ "id": report, "kind": kind, "target_id": id, "status": "open" })),
    ))
}

/// One open report with its content, as the queue shows it.
pub struct QueueItem {
    pub id: i64,
    pub reporter: String,
    pub kind: String,
    pub reason: String,
    pub when: String,
    /// None when the content was deleted meanwhile.
    pub content: Option<Reported>,
}

/// `/admin/reports`.
#[derive(Template)]
#[template(path = "moderation/queue.html")]
pub struct QueuePage {
    pub layout: Layout,
    pub items: Vec<QueueItem>,
}

#[get("/admin/reports")]
async fn queue(
    db: &Db,
    targets: &State<ReportTargets>,
    _admin: AdminUser,
    layout: Layout,
) -> AppResult<Reply> {
    let open = reports::open(db, QUEUE_MAX).await?;
    // One query per kind of content, not one per report.
    let mut ids: HashMap<&str, Vec<i64>> = HashMap::new();
    for r in &open {
        ids.entry(r.target_kind.as_str())
            .or_default()
            .push(r.target_id);
    }
    let mut described = HashMap::new();
    for (kind, ids) in ids {
        described.insert(
            kind.to_string(),
            targets.describe_all(db, kind, &ids).await?,
        );
    }
    let mut items = Vec::new();
    for r in open {
        let content = described
            .get(&r.target_kind)
            .and_then(|found| found.get(&r.target_id))
            .cloned();
        items.push(QueueItem {
            id: r.id,
            reporter: r.reporter_name,
            kind: r.target_kind,
            reason: r.reason,
            when: format_time(r.created_at),
            content,
        });
    }
    Reply::page(&QueuePage { layout, items })
}

/// A decision's form: the reason (hide, suspend) and the days (suspend).
#[derive(Debug, FromForm)]
struct DecisionForm {
    #[field(default = String::new())]
    reason: String,
    days: Option<i64>,
}

async fn decide(
    db: &Db,
    targets: &ReportTargets,
    admin: &AdminUser,
    ip: &ClientIp,
    id: i64,
    decision: Decision,
) -> AppResult<Reply> {
    let actor = Actor {
        id: admin.0.id,
        name: admin.0.username.clone(),
        ip: ip.label(),
    };
    match reports::decide(db, targets, &actor, id, decision).await {
        Ok(()) => Ok(Reply::success("/admin/reports", "Report decided.")),
        Err(AppError::Validation(errors)) => {
            let message = ["reason", "days"]
                .iter()
                .find_map(|f| errors.get(f))
                .unwrap_or("Check the form.")
                .to_string();
            Ok(Reply::failure("/admin/reports", message))
        }
        Err(AppError::Conflict(message)) => Ok(Reply::failure("/admin/reports", message)),
        Err(e) => Err(e),
    }
}

#[post("/admin/reports/<id>/dismiss", data = "<_form>")]
async fn dismiss(
    db: &Db,
    targets: &State<ReportTargets>,
    admin: AdminUser,
    ip: ClientIp,
    id: i64,
    _form: CsrfForm<DecisionForm>,
) -> AppResult<Reply> {
    decide(db, targets, &admin, &ip, id, Decision::Dismiss).await
}

#[post("/admin/reports/<id>/hide", data = "<form>")]
async fn hide(
    db: &Db,
    targets: &State<ReportTargets>,
    admin: AdminUser,
    ip: ClientIp,
    id: i64,
    form: CsrfForm<DecisionForm>,
) -> AppResult<Reply> {
    let reason = form.0.reason;
    decide(db, targets, &admin, &ip, id, Decision::Hide { reason }).await
}

#[post("/admin/reports/<id>/suspend", data = "<form>")]
async fn suspend(
    db: &Db,
    targets: &State<ReportTargets>,
    admin: AdminUser,
    ip: ClientIp,
    id: i64,
    form: CsrfForm<DecisionForm>,
) -> AppResult<Reply> {
    let CsrfForm(f) = form;
    let decision = Decision::Suspend {
        days: f.days.unwrap_or(0),
        reason: f.reason,
    };
    decide(db, targets, &admin, &ip, id, decision).await
}

/// The report pages and the admins' queue.
pub fn routes() -> Vec<Route> {
    routes![report_form, submit, queue, dismiss, hide, suspend]
}

/// The JSON API routes.
pub fn api_routes() -> Vec<Route> {
    routes![api_report]
}
