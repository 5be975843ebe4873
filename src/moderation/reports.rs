//! Reports of content and members, and what an admin does with them.
//!
//! Members report an article, a comment or a profile with a reason. The
//! content belongs to an app this module never imports: each app registers
//! a [`ReportTarget`] per kind of content in the [`ReportTargets`]
//! registry when it starts (the blog registers `article` and `comment`),
//! which shows the content in the queue and hides it. Profiles are
//! handled here. An outcome is audited and told to the reporter.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::audit::{self, Actor};
use crate::db::{begin_write, id_list, now, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::notifications::{notify, Kind, Notice};
use crate::session;

/// Longest reason, in characters.
pub const REASON_MAX: usize = 1000;
/// Longest suspension, in days.
pub const SUSPEND_MAX_DAYS: i64 = 3650;

/// Reported content as the queue shows it.
#[derive(Debug, Clone)]
pub struct Reported {
    pub author_id: i64,
    pub author_name: String,
    /// A title or a short label ("comment on Title").
    pub title: String,
    /// The text reported (or its start).
    pub text: String,
    /// Where it is on the site.
    pub url: String,
    /// Why a moderator hid it, when hidden.
    pub hidden_reason: Option<String>,
}

/// One kind of reportable content, provided by the app that owns it.
#[rocket::async_trait]
pub trait ReportTarget: Send + Sync + 'static {
    /// The content with each of `ids` that exists (one query for the lot:
    /// the queue shows up to a hundred reports).
    async fn describe(&self, db: &DbPool, ids: &[i64]) -> AppResult<HashMap<i64, Reported>>;
    /// Hide content `id` from everyone but its author, saying `reason`.
    async fn hide(&self, db: &DbPool, id: i64, reason: &str) -> AppResult<()>;
}

/// The kinds of content that can be reported (managed state).
#[derive(Default, Clone)]
pub struct ReportTargets(Arc<RwLock<HashMap<&'static str, Arc<dyn ReportTarget>>>>);

impl ReportTargets {
    /// Register `target` for content kind `kind` (an app, when it starts).
    pub fn register(&self, kind: &'static str, target: Arc<dyn ReportTarget>) {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(kind, target);
    }

    fn get(&self, kind: &str) -> Option<Arc<dyn ReportTarget>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(kind)
            .cloned()
    }

    /// Content `id` of `kind` (`profile` included), if it exists.
    pub async fn describe(&self, db: &DbPool, kind: &str, id: i64) -> AppResult<Option<Reported>> {
        Ok(self.describe_all(db, kind, &[id]).await?.remove(&id))
    }

    /// The content of `kind` with each of `ids` that exists, in one query.
    pub async fn describe_all(
        &self,
        db: &DbPool,
        kind: &str,
        ids: &[i64],
    ) -> AppResult<HashMap<i64, Reported>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        if kind == "profile" {
            let rows: Vec<(i64, String, String)> = sqlx::query_as(&format!(
                "SELECT id, username, bio FROM users WHERE id IN ({}) AND disabled = 0",
                id_list(ids)
            ))
            .fetch_all(&db.pool)
            .await?;
            return Ok(rows
                .into_iter()
                .map(|(id, name, bio)| {
                    let reported = Reported {
                        author_id: id,
                        title: format!("profile of {name}"),
                        url: format!("/blog/author/{}", crate::web::enc(&name)),
                        author_name: name,
                        text: bio,
                        hidden_reason: None,
                    };
                    (id, reported)
                })
                .collect());
        }
        match self.get(kind) {
            Some(t) => t.describe(db, ids).await,
            None => Ok(HashMap::new()),
        }
    }
}

/// A report read back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Report {
    pub id: i64,
    pub reporter_id: i64,
    pub reporter_name: String,
    pub target_kind: String,
    pub target_id: i64,
    pub reason: String,
    pub status: String,
    pub created_at: i64,
}

fn field_error(field: &'static str, message: &str) -> AppError {
    let mut errors = FieldErrors::default();
    errors.add(field, message.to_string());
    AppError::Validation(errors)
}

/// File a report by `reporter` about content `id` of `kind`. 422 for an
/// empty or too long reason, an unknown kind, missing content or one's own.
pub async fn file(
    db: &DbPool,
    targets: &ReportTargets,
    reporter: i64,
    kind: &str,
    id: i64,
    reason: &str,
) -> AppResult<i64> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(field_error("reason", "Say what is wrong."));
    }
    if reason.chars().count() > REASON_MAX {
        return Err(field_error("reason", "Use at most 1000 characters."));
    }
    let Some(content) = targets.describe(db, kind, id).await? else {
        return Err(field_error("id", "There is no such content to report."));
    };
    if content.author_id == reporter {
        return Err(field_error("id", "You cannot report yourself."));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO reports (reporter_id, target_kind, target_id, reported_user_id, reason, \
         status, created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6) RETURNING id",
    )
    .bind(reporter)
    .bind(kind)
    .bind(id)
    .bind(content.author_id)
    .bind(reason)
    .bind(now())
    .fetch_one(&db.pool)
    .await?;
    Ok(id)
}

/// The open reports, oldest first (at most `limit`).
pub async fn open(db: &DbPool, limit: i64) -> AppResult<Vec<Report>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.reporter_id, u.username AS reporter_name, r.target_kind, r.target_id, \
         r.reason, r.status, r.created_at FROM reports r JOIN users u ON u.id = r.reporter_id \
         WHERE r.status = 'open' ORDER BY r.id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

async fn find(db: &DbPool, id: i64) -> AppResult<Report> {
    let r: Option<Report> = sqlx::query_as(
        "SELECT r.id, r.reporter_id, u.username AS reporter_name, r.target_kind, r.target_id, \
         r.reason, r.status, r.created_at FROM reports r JOIN users u ON u.id = r.reporter_id \
         WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    r.ok_or(AppError::NotFound)
}

/// What an admin decides about a report.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Nothing wrong.
    Dismiss,
    /// Hide the content, telling its author `reason`.
    Hide { reason: String },
    /// Suspend the author for `days`, telling them `reason`.
    Suspend { days: i64, reason: String },
}

impl Decision {
    fn status(&self) -> &'static str {
        match self {
            Decision::Dismiss => "dismissed",
            Decision::Hide { .. } => "hidden",
            Decision::Suspend { .. } => "suspended",
        }
    }

    fn outcome(&self) -> &'static str {
        match self {
            Decision::Dismiss => "no action was needed",
            Decision::Hide { .. } => "the content was hidden",
            Decision::Suspend { .. } => "its author was suspended",
        }
    }
}

/// Carry out `decision` on report `id` as `admin`: hide or suspend, close
/// the report (409 when it was already closed), tell the reporter, and
/// write the audit log.
pub async fn decide(
    db: &DbPool,
    targets: &ReportTargets,
    admin: &Actor,
    id: i64,
    decision: Decision,
) -> AppResult<()> {
    let report = find(db, id).await?;
    if report.status != "open" {
        return Err(AppError::Conflict(
            "This report was already decided.".into(),
        ));
    }
    let content = targets
        .describe(db, &report.target_kind, report.target_id)
        .await?;
    let reason = match &decision {
        Decision::Dismiss => String::new(),
        Decision::Hide { reason } | Decision::Suspend { reason, .. } => {
            let r = reason.trim().to_string();
            if r.is_empty() || r.chars().count() > REASON_MAX {
                return Err(field_error(
                    "reason",
                    "Give a reason of 1 to 1000 characters.",
                ));
            }
            r
        }
    };
    match &decision {
        Decision::Hide { .. } => {
            if report.target_kind == "profile" {
                return Err(field_error(
                    "reason",
                    "A profile cannot be hidden: suspend its member.",
                ));
            }
            let target = targets.get(&report.target_kind).ok_or(AppError::NotFound)?;
            target.hide(db, report.target_id, &reason).await?;
        }
        Decision::Suspend { days, .. } => {
            if !(1..=SUSPEND_MAX_DAYS).contains(days) {
                return Err(field_error("days", "Suspend for 1 to 3650 days."));
            }
            let author = content.as_ref().ok_or(AppError::NotFound)?.author_id;
            suspend(db, author, now() + days * 86_400, &reason).await?;
        }
        Decision::Dismiss => {}
    }
    let mut tx = begin_write(db).await?;
    let closed = sqlx::query(
        "UPDATE reports SET status = $1, resolved_at = $2, resolved_by = $3, note = $4 \
         WHERE id = $5 AND status = 'open'",
    )
    .bind(decision.status())
    .bind(now())
    .bind(admin.id)
    .bind(&reason)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if closed.rows_affected() == 0 {
        return Err(AppError::Conflict(
            "This report was already decided.".into(),
        ));
    }
    let subject = content
        .as_ref()
        .map_or_else(|| "removed content".to_string(), |c| c.title.clone());
    let subject = format!("{subject}: {}", decision.outcome());
    let target = format!("report:{id}");
    notify(
        &mut tx,
        &Notice {
            recipient: report.reporter_id,
            actor: admin.id,
            kind: Kind::Report,
            target: &target,
            subject: &subject,
            url: content
                .as_ref()
                .map_or("/notifications", |c| c.url.as_str()),
        },
    )
    .await?;
    let (author_id, author_name) = content
        .as_ref()
        .map_or((0, String::new()), |c| (c.author_id, c.author_name.clone()));
    let target = (author_id != 0).then_some((author_id, author_name.as_str()));
    let detail = format!(
        "report {id} on {} {}: {}{}",
        report.target_kind,
        report.target_id,
        decision.status(),
        match &decision {
            Decision::Suspend { days, .. } => format!(" for {days} day(s): {reason}"),
            Decision::Hide { .. } => format!(": {reason}"),
            Decision::Dismiss => String::new(),
        }
    );
    let action = format!("report.{}", decision.status());
    // The report closes, the reporter is told and the log records it
    // together.
    audit::record_in(&mut tx, admin, &action, target, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Suspend `user_id` until `until` (unix seconds): every session ends now,
/// and sign-in is refused until then with `reason`.
pub async fn suspend(db: &DbPool, user_id: i64, until: i64, reason: &str) -> AppResult<()> {
    sqlx::query("UPDATE users SET suspended_until = $1, suspension_reason = $2 WHERE id = $3")
        .bind(until)
        .bind(reason)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    session::end_all_for_user(db, user_id, None).await?;
    session::user_changed(db, user_id).await?;
    Ok(())
}
