//! Creating an account: the one place the sign-up rules live, for the form
//! and the JSON API alike.

use super::mails::SignupAttemptMail;
use super::model::{parse_email, SignupForm};
use super::{email, repo, Hasher};
use crate::db::{begin_write, is_unique_violation};
use crate::error::{AppResult, FieldErrors};
use crate::mail::{self, MailContent};
use crate::web::ratelimit::{self, Limit};
use crate::web::Ctx;

/// Why an account was not created.
pub enum Refused {
    /// A field is missing or invalid.
    Invalid(FieldErrors),
    /// The username or email belongs to another account.
    Taken(FieldErrors),
}

/// Validate `form`, and create the account with its confirmation mail
/// queued in the same transaction. The client address may make
/// `signups_per_address_per_hour` sign-ups (429 beyond), counting those
/// refused because the username or address is taken (each one tells
/// whether an account exists); forms refused as invalid do not count.
/// Returns the new user's id.
pub async fn register(
    ctx: &Ctx<'_>,
    hasher: &Hasher,
    form: &SignupForm,
) -> AppResult<Result<i64, Refused>> {
    let (db, cfg, ip) = (ctx.db, ctx.cfg, &ctx.ip);
    let limit = Limit {
        max: cfg.signups_per_address_per_hour,
        window: 3600,
    };
    let bucket = format!("signup:{}", ip.bucket_key());
    // Fail fast when the address is already over its limit; the atomic
    // count comes once the form is valid.
    ratelimit::check(db, &bucket, limit).await?;
    let account = match form.validate() {
        Ok(account) => account,
        Err(errors) => return Ok(Err(Refused::Invalid(errors))),
    };
    // Counted before looking: a burst of probes cannot run past the limit.
    let counted = ratelimit::attempt(db, &bucket, limit).await?;
    let mut errors = FieldErrors::default();
    if repo::username_taken(db, &account.username).await? {
        errors.add("username", "That username is taken. Try another.");
    }
    if repo::email_taken(db, &account.email).await? {
        errors.add(
            "email",
            "An account with this email already exists. Sign in instead?",
        );
    }
    if !errors.is_empty() {
        return Ok(Err(Refused::Taken(errors)));
    }
    let hash = hasher.hash(account.password).await?;
    let mut tx = begin_write(db).await?;
    let id = match repo::create(
        &mut tx,
        &account.username,
        &account.email,
        Some(&hash),
        "user",
        false,
    )
    .await
    {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            ratelimit::forgive(db, counted).await?;
            errors.add(
                "username",
                "That username or email was taken a moment ago. Try another.",
            );
            return Ok(Err(Refused::Taken(errors)));
        }
        Err(e) => return Err(e.into()),
    };
    email::queue_verification(&mut tx, cfg, id, &account.username, &account.email).await?;
    tx.commit().await?;
    ctx.wakeup.notify();
    Ok(Ok(id))
}

/// The sign-up form's answer when the address already has an account: the
/// page says what it says after a real sign-up (so the form tells nobody
/// which addresses have accounts), and the owner gets a mail saying
/// someone tried, with where to sign in or reset the password. At most
/// [`NOTICES_PER_HOUR`] such mails an hour per account, so nobody can flood
/// an inbox through the form; beyond that the answer is the same and
/// nothing is sent. A password is hashed as a real sign-up hashes one, so
/// the answer takes as long.
pub async fn address_taken(ctx: &Ctx<'_>, hasher: &Hasher, form: &SignupForm) -> AppResult<()> {
    let _ = hasher.hash(form.password.clone()).await?;
    let Some(owner) =
        repo::find_by_email(ctx.db, &parse_email(&form.email).unwrap_or_default()).await?
    else {
        return Ok(());
    };
    let bucket = format!("signup-notice:{}", owner.id);
    if ratelimit::attempt(ctx.db, &bucket, NOTICES_PER_HOUR)
        .await
        .is_err()
    {
        return Ok(());
    }
    let base = ctx.cfg.base_url.trim_end_matches('/');
    let notice = SignupAttemptMail {
        username: owner.username.clone(),
        login_link: format!("{base}/login"),
        reset_link: format!("{base}/password/forgot"),
    };
    let mut tx = begin_write(ctx.db).await?;
    mail::enqueue(
        &mut tx,
        base,
        &notice.to(&owner.email, None)?,
        Some(("user", owner.id)),
    )
    .await?;
    tx.commit().await?;
    ctx.wakeup.notify();
    Ok(())
}

/// Mails to an account's owner about sign-ups with their address.
const NOTICES_PER_HOUR: Limit = Limit {
    max: 1,
    window: 3600,
};
