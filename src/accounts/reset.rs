//! Password reset by mail. The request form answers the same whether or not
//! the address has an account; the link is single-use, expires in an hour,
//! is voided by a newer one, and using it ends every session of the account.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{get, post, routes, Route, State};

use super::claim::{self, How};
use super::mails::ResetMail;
use super::model::parse_email;
use super::tokens::{self, Purpose};
use super::{password, repo, Hasher};
use crate::db::{begin_write, now, Db, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::jobs::{self, JobError, NewJob, Policy, Registry};
use crate::mail::{self, MailContent};
use crate::session::CsrfForm;
use crate::web::ratelimit::{self, Limit};
use crate::web::{Ctx, Layout, Reply};
use serde::{Deserialize, Serialize};

#[derive(Template)]
#[template(path = "accounts/forgot.html")]
struct ForgotPage {
    layout: Layout,
    sent: bool,
}

#[derive(Template)]
#[template(path = "accounts/reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    errors: FieldErrors,
}

#[derive(Debug, FromForm)]
struct ForgotForm {
    #[field(default = String::new())]
    email: String,
}

#[derive(Debug, FromForm)]
struct ResetForm {
    #[field(default = String::new())]
    new_password: String,
}

fn invalid_link() -> AppError {
    AppError::BadRequest(
        "This password reset link is invalid, was already used, or has expired. Ask for a new one."
            .into(),
    )
}

#[get("/password/forgot")]
fn forgot_page(layout: Layout) -> AppResult<Reply> {
    Reply::page(&ForgotPage {
        layout,
        sent: false,
    })
}

#[get("/password/forgot/sent")]
fn forgot_sent(layout: Layout) -> AppResult<Reply> {
    Reply::page(&ForgotPage { layout, sent: true })
}

/// Ask for a reset link. The answer is the same whatever the address, and
/// so is the work done while answering: one queued job ([`KIND`]), which
/// looks the address up and mails a link when it has an account. Only the
/// client address's limit is counted here.
#[post("/password/forgot", data = "<form>")]
async fn forgot(ctx: Ctx<'_>, form: CsrfForm<ForgotForm>) -> AppResult<Reply> {
    let ip_bucket = format!("reset:ip:{}", ctx.ip.bucket_key());
    let ip_limit = Limit {
        max: 20,
        window: 3600,
    };
    ratelimit::attempt(ctx.db, &ip_bucket, ip_limit).await?;
    if let Ok(email) = parse_email(&form.0.email) {
        let mut conn = ctx.db.pool.acquire().await?;
        jobs::enqueue(&mut conn, &NewJob::new(KIND, &ResetRequest { email })?).await?;
        ctx.wakeup.notify();
    }
    Ok(Reply::to("/password/forgot/sent"))
}

/// The job kind that answers a reset request.
pub const KIND: &str = "password_reset";

/// A reset request, as queued.
#[derive(Debug, Serialize, Deserialize)]
struct ResetRequest {
    email: String,
}

/// Answer reset requests in this process: register the [`KIND`] job.
pub fn register_job(registry: &Registry, db: DbPool, base_url: String) {
    let policy = Policy {
        max_attempts: 5,
        retry_base: 10.0,
        retry_max: 600.0,
    };
    registry.register(KIND, policy, move |_conn, job| {
        let (db, base_url) = (db.clone(), base_url.clone());
        Box::pin(async move {
            let request: ResetRequest = job.payload().map_err(JobError::permanent)?;
            send_link(&db, &base_url, &request.email).await?;
            Ok(())
        })
    });
}

/// Mail a reset link to `email` when it belongs to an enabled account. At
/// most three an hour per account; beyond that nothing is sent, so nobody
/// can flood an inbox.
async fn send_link(db: &DbPool, base_url: &str, email: &str) -> AppResult<()> {
    let Some(user) = repo::find_by_email(db, email).await? else {
        return Ok(());
    };
    let account_limit = Limit {
        max: 3,
        window: 3600,
    };
    let bucket = format!("reset:account:{}", user.id);
    if user.disabled != 0
        || ratelimit::attempt(db, &bucket, account_limit)
            .await
            .is_err()
    {
        return Ok(());
    }
    let base = base_url.trim_end_matches('/');
    let mut tx = begin_write(db).await?;
    let token = tokens::issue(&mut tx, user.id, Purpose::ResetPassword, None).await?;
    let mail = ResetMail {
        username: user.username.clone(),
        link: format!("{base}/password/reset/{token}"),
    };
    mail::enqueue(
        &mut tx,
        base,
        &mail.to(&user.email, None)?,
        Some(("user", user.id)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[get("/password/reset/<token>")]
async fn reset_page(db: &Db, layout: Layout, token: &str) -> AppResult<Reply> {
    let mut conn = db.pool.acquire().await?;
    tokens::check(&mut conn, token, Purpose::ResetPassword)
        .await?
        .ok_or_else(invalid_link)?;
    Reply::page(&ResetPage {
        layout,
        token: token.to_string(),
        errors: FieldErrors::default(),
    })
}

#[post("/password/reset/<token>", data = "<form>")]
async fn reset(
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    layout: Layout,
    token: &str,
    form: CsrfForm<ResetForm>,
) -> AppResult<Reply> {
    let (db, cfg) = (ctx.db, ctx.cfg);
    let valid = {
        let mut conn = db.pool.acquire().await?;
        tokens::check(&mut conn, token, Purpose::ResetPassword)
            .await?
            .ok_or_else(invalid_link)?
    };
    let user = repo::find_by_id(db, valid.user_id)
        .await?
        .ok_or_else(invalid_link)?;
    let new_password = form.0.new_password;
    if let Some(problem) = password::policy_error(&new_password, &[&user.username, &user.email]) {
        let mut errors = FieldErrors::default();
        errors.add("new_password", problem);
        return Reply::page_with(
            Status::UnprocessableEntity,
            &ResetPage {
                layout,
                token: token.to_string(),
                errors,
            },
        );
    }
    let hash = hasher.hash(new_password).await?;
    let mut tx = begin_write(db).await?;
    if !tokens::consume(&mut tx, valid.id).await? {
        return Err(invalid_link());
    }
    // The link proved the person reads this address: it counts as
    // confirmed, and claims the account from whoever connected sign-in
    // accounts to it before.
    let claimed = claim::address_proved(&mut tx, cfg, user.id, How::PasswordReset).await?;
    // Browsers trusted to skip two-step sign-in are asked again, as after
    // any password change (the code itself is still needed: a reset by
    // mail never gets around the second step).
    sqlx::query(
        "UPDATE users SET password_hash = $1, updated_at = $2, trust_generation = trust_generation + 1 WHERE id = $3",
    )
        .bind(&hash)
        .bind(now())
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    crate::session::user_changed(db, user.id).await?;
    ctx.wakeup.notify();
    Ok(Reply::success(
        "/login",
        format!(
            "Your password has been reset and every session signed out. Sign in with your new password.{}",
            claimed.message()
        ),
    ))
}

/// The routes of password reset.
pub fn routes() -> Vec<Route> {
    routes![forgot_page, forgot_sent, forgot, reset_page, reset]
}
