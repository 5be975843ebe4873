//! Email verification and email change: links mailed through the outbox,
//! confirmed with a POST (a GET never changes anything).

use askama::Template;
use rocket::form::FromForm;
use rocket::{get, post, routes, Route, State};

use super::claim::{self, How};
use super::mails::{ChangeEmailMail, EmailChangedNotice, VerifyMail};
use super::model::parse_email;
use super::repo::{self, User};
use super::tokens::{self, Purpose};
use super::Hasher;
use crate::accounts::credentials::{self, Confirmation};
use crate::config::AppConfig;
use crate::db::{begin_write, is_unique_violation, now, Db, DbPool};
use crate::error::{AppError, AppResult};
use crate::mail::{self, MailContent, Wakeup};
use crate::session::CurrentUser;
use crate::session::{CsrfForm, NoFields};
use crate::web::ratelimit::{self, Limit};
use crate::web::{Layout, Reply};

/// The page a mailed link opens: one button that confirms.
#[derive(Template)]
#[template(path = "accounts/confirm_link.html")]
pub struct ConfirmLinkPage {
    pub layout: Layout,
    pub title: &'static str,
    pub text: String,
    pub action: String,
    pub button: &'static str,
}

/// How many mails of one kind a member may have the site send in an hour
/// when they ask for them (a new confirmation link, a change of address):
/// enough for a typo and a second try, too few to use the site to mail
/// strangers.
pub const MAILS_PER_HOUR: Limit = Limit {
    max: 3,
    window: 3600,
};

fn invalid_link() -> AppError {
    AppError::BadRequest(
        "This link is invalid, was already used, or has expired. Sign in and ask for a new one from your profile.".into(),
    )
}

/// Queue a verification mail for `user_id` on `conn` (inside the caller's transaction).
pub async fn queue_verification(
    conn: &mut sqlx::AnyConnection,
    cfg: &AppConfig,
    user_id: i64,
    username: &str,
    email: &str,
) -> AppResult<()> {
    let base = cfg.base_url.trim_end_matches('/');
    let token = tokens::issue(conn, user_id, Purpose::VerifyEmail, None).await?;
    let mail = VerifyMail {
        username: username.into(),
        link: format!("{base}/verify-email/{token}"),
    };
    mail::enqueue(conn, base, &mail.to(email, None)?, Some(("user", user_id))).await?;
    Ok(())
}

#[get("/verify-email/<token>")]
async fn verify_page(db: &Db, layout: Layout, token: &str) -> AppResult<Reply> {
    let mut conn = db.pool.acquire().await?;
    let valid = tokens::check(&mut conn, token, Purpose::VerifyEmail)
        .await?
        .ok_or_else(invalid_link)?;
    let user = repo::find_by_id(db, valid.user_id)
        .await?
        .ok_or_else(invalid_link)?;
    Reply::page(&ConfirmLinkPage {
        layout,
        title: "Confirm your email address",
        text: format!(
            "Confirm that {} is the email address of {}.",
            user.email, user.username
        ),
        action: format!("/verify-email/{token}"),
        button: "Confirm my email address",
    })
}

/// Confirm the address. Sign-in accounts connected while it was not
/// confirmed are dropped ([`claim`]).
#[post("/verify-email/<token>", data = "<_form>")]
async fn verify(
    db: &Db,
    cfg: &State<AppConfig>,
    wakeup: &State<Wakeup>,
    token: &str,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let mut tx = begin_write(db).await?;
    let valid = tokens::check(&mut tx, token, Purpose::VerifyEmail)
        .await?
        .ok_or_else(invalid_link)?;
    if !tokens::consume(&mut tx, valid.id).await? {
        return Err(invalid_link());
    }
    let claimed = claim::address_proved(&mut tx, cfg, valid.user_id, How::ConfirmationLink).await?;
    tx.commit().await?;
    crate::session::user_changed(db, valid.user_id).await?;
    wakeup.notify();
    Ok(Reply::success(
        "/",
        format!(
            "Thank you: your email address is confirmed.{}",
            claimed.message()
        ),
    ))
}

#[post("/verify-email/resend", data = "<_form>")]
async fn resend(
    db: &Db,
    cfg: &State<AppConfig>,
    wakeup: &State<Wakeup>,
    me: CurrentUser,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    if me.email_verified {
        return Ok(Reply::success(
            "/profile",
            "Your email address is already confirmed.",
        ));
    }
    ratelimit::attempt(db, &format!("verify-resend:{}", me.id), MAILS_PER_HOUR).await?;
    let mut tx = begin_write(db).await?;
    queue_verification(&mut tx, cfg, me.id, &me.username, &me.email).await?;
    tx.commit().await?;
    wakeup.notify();
    Ok(Reply::success(
        "/profile",
        format!("We sent a new confirmation link to {}.", me.email),
    ))
}

/// The change-email form on the profile page.
#[derive(Debug, FromForm)]
pub struct ChangeEmailForm {
    #[field(default = String::new())]
    pub new_email: String,
    #[field(default = String::new())]
    pub password: String,
}

#[post("/account/email", data = "<form>")]
async fn request_change(
    db: &Db,
    cfg: &State<AppConfig>,
    hasher: &State<Hasher>,
    wakeup: &State<Wakeup>,
    me: CurrentUser,
    form: CsrfForm<ChangeEmailForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let user = repo::find_by_id(db, me.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let new_email = match parse_email(&form.new_email) {
        Ok(e) if e == user.email => {
            return Ok(Reply::failure(
                "/profile",
                "That is already your email address.",
            ))
        }
        Ok(e) => e,
        Err(e) => return Ok(Reply::failure("/profile", format!("New email: {e}"))),
    };
    match credentials::confirm(db, cfg, hasher, &user, me.session_id, form.password).await? {
        Confirmation::Confirmed => {}
        Confirmation::WrongPassword => {
            return Ok(Reply::failure(
                "/profile",
                "That is not your password. Your email address has not been changed.",
            ))
        }
        Confirmation::NotRecent => {
            let action = format!("change your email address to {new_email}");
            return Ok(Reply::failure(
                "/profile",
                credentials::fresh_sign_in_needed(&action),
            ));
        }
    }
    count_change_request(db, user.id).await?;
    if let Err(message) = start_change(db, cfg, wakeup, &user, &new_email).await? {
        return Ok(Reply::failure("/profile", message));
    }
    Ok(Reply::success(
        "/profile",
        format!(
            "We sent a confirmation link to {new_email}. Your address changes when you open it."
        ),
    ))
}

/// Count a request to change `user_id`'s address, before anything about
/// the new address is looked at: each one mails an address the member
/// chose (and says whether another account has it), so a member may make
/// [`MAILS_PER_HOUR`] of them (429 beyond), whichever way they ask (the
/// profile's form or `PUT /api/user`), refused ones included.
pub async fn count_change_request(db: &DbPool, user_id: i64) -> AppResult<()> {
    ratelimit::attempt(db, &format!("email-change:{user_id}"), MAILS_PER_HOUR).await?;
    Ok(())
}

/// Start changing `user`'s address to `new_email` (already parsed): a
/// confirmation link to the new address and a notice to the old one,
/// queued in one transaction. The address changes only when the link is
/// opened. `Err` with a message when another account uses the address.
/// Callers count the request first ([`count_change_request`]).
pub async fn start_change(
    db: &DbPool,
    cfg: &AppConfig,
    wakeup: &Wakeup,
    user: &User,
    new_email: &str,
) -> AppResult<Result<(), &'static str>> {
    if repo::email_taken(db, new_email).await? {
        return Ok(Err("Another account already uses that email address."));
    }
    let base = cfg.base_url.trim_end_matches('/');
    let mut tx = begin_write(db).await?;
    let token = tokens::issue(&mut tx, user.id, Purpose::ChangeEmail, Some(new_email)).await?;
    let confirm = ChangeEmailMail {
        username: user.username.clone(),
        new_email: new_email.to_string(),
        link: format!("{base}/account/email/confirm/{token}"),
    };
    mail::enqueue(
        &mut tx,
        base,
        &confirm.to(new_email, None)?,
        Some(("user", user.id)),
    )
    .await?;
    let notice = EmailChangedNotice {
        username: user.username.clone(),
        new_email: new_email.to_string(),
        site_url: base.into(),
    };
    mail::enqueue(
        &mut tx,
        base,
        &notice.to(&user.email, None)?,
        Some(("user", user.id)),
    )
    .await?;
    tx.commit().await?;
    wakeup.notify();
    Ok(Ok(()))
}

#[get("/account/email/confirm/<token>")]
async fn confirm_change_page(db: &Db, layout: Layout, token: &str) -> AppResult<Reply> {
    let mut conn = db.pool.acquire().await?;
    let valid = tokens::check(&mut conn, token, Purpose::ChangeEmail)
        .await?
        .ok_or_else(invalid_link)?;
    let new_email = valid.new_email.unwrap_or_default();
    Reply::page(&ConfirmLinkPage {
        layout,
        title: "Confirm your new email address",
        text: format!("Make {new_email} the email address of your account."),
        action: format!("/account/email/confirm/{token}"),
        button: "Confirm the new address",
    })
}

#[post("/account/email/confirm/<token>", data = "<_form>")]
async fn confirm_change(db: &Db, token: &str, _form: CsrfForm<NoFields>) -> AppResult<Reply> {
    let mut tx = begin_write(db).await?;
    let valid = tokens::check(&mut tx, token, Purpose::ChangeEmail)
        .await?
        .ok_or_else(invalid_link)?;
    let new_email = valid.new_email.clone().ok_or_else(invalid_link)?;
    if !tokens::consume(&mut tx, valid.id).await? {
        return Err(invalid_link());
    }
    let updated = sqlx::query(
        "UPDATE users SET email = $1, email_verified = 1, updated_at = $2 WHERE id = $3",
    )
    .bind(&new_email)
    .bind(now())
    .bind(valid.user_id)
    .execute(&mut *tx)
    .await;
    match updated {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict(
                "Another account started using that email address in the meantime.".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    crate::session::user_changed(db, valid.user_id).await?;
    Ok(Reply::success(
        "/profile",
        format!("Your email address is now {new_email}."),
    ))
}

/// The routes of email verification and change.
pub fn routes() -> Vec<Route> {
    routes![
        verify_page,
        verify,
        resend,
        request_change,
        confirm_change_page,
        confirm_change
    ]
}
