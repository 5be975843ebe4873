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
use crate::config::AppConfig;
use crate::db::{begin_write, now, Db};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::mail::{self, MailContent, Wakeup};
use crate::session::CsrfForm;
use crate::web::ratelimit::{self, Limit};
use crate::web::{ClientIp, Layout, Reply};

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

#[post("/password/forgot", data = "<form>")]
async fn forgot(
    db: &Db,
    cfg: &State<AppConfig>,
    wakeup: &State<Wakeup>,
    ip: ClientIp,
    form: CsrfForm<ForgotForm>,
) -> AppResult<Reply> {
    let ip_bucket = format!("reset:ip:{}", ip.bucket_key());
    let ip_limit = Limit {
        max: 20,
        window: 3600,
    };
    ratelimit::attempt(db, &ip_bucket, ip_limit).await?;
    let email = parse_email(&form.0.email).unwrap_or_default();
    let user = if email.is_empty() {
        None
    } else {
        repo::find_by_email(db, &email).await?
    };
    // At most three mails an hour per account; beyond that the answer is
    // the same but nothing is sent, so nobody can flood an inbox.
    let account_bucket = format!("reset:account:{email}");
    let account_limit = Limit {
        max: 3,
        window: 3600,
    };
    if let Some(user) = user.filter(|u| u.disabled == 0) {
        if ratelimit::attempt(db, &account_bucket, account_limit)
            .await
            .is_ok()
        {
            let base = cfg.base_url.trim_end_matches('/');
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
            wakeup.notify();
        }
    }
    Ok(Reply::to("/password/forgot/sent"))
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

#[allow(clippy::too_many_arguments)]
#[post("/password/reset/<token>", data = "<form>")]
async fn reset(
    db: &Db,
    cfg: &State<AppConfig>,
    wakeup: &State<Wakeup>,
    hasher: &State<Hasher>,
    layout: Layout,
    token: &str,
    form: CsrfForm<ResetForm>,
) -> AppResult<Reply> {
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
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
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
    wakeup.notify();
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
