//! Creating an account: the one place the sign-up rules live, for the form
//! and the JSON API alike.

use super::model::SignupForm;
use super::{email, repo, Hasher};
use crate::config::AppConfig;
use crate::db::{begin_write, is_unique_violation, DbPool};
use crate::error::{AppResult, FieldErrors};
use crate::mail::Wakeup;
use crate::web::ratelimit::{self, Limit};
use crate::web::ClientIp;

/// Why an account was not created.
pub enum Refused {
    /// A field is missing or invalid.
    Invalid(FieldErrors),
    /// The username or email belongs to another account.
    Taken(FieldErrors),
}

/// Validate `form`, and create the account with its confirmation mail
/// queued in the same transaction. The client address may create
/// `signups_per_address_per_hour` accounts (429 beyond); refused forms do
/// not count. Returns the new user's id.
pub async fn register(
    db: &DbPool,
    cfg: &AppConfig,
    hasher: &Hasher,
    wakeup: &Wakeup,
    ip: &ClientIp,
    form: &SignupForm,
) -> AppResult<Result<i64, Refused>> {
    let limit = Limit {
        max: cfg.signups_per_address_per_hour,
        window: 3600,
    };
    let bucket = format!("signup:{}", ip.bucket_key());
    // Fail fast when the address is already over its limit; the atomic
    // count comes just before the account is created.
    ratelimit::check(db, &bucket, limit).await?;
    let account = match form.validate() {
        Ok(account) => account,
        Err(errors) => return Ok(Err(Refused::Invalid(errors))),
    };
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
    let counted = ratelimit::attempt(db, &bucket, limit).await?;
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
    wakeup.notify();
    Ok(Ok(id))
}
