//! Checking an email and password: the one place the sign-in rules live,
//! for the form and the JSON API alike; and checking the signed-in person
//! again before a sensitive change (their password, or for an account
//! without one a fresh sign-in at a provider: [`recently_proved`]).

use crate::accounts::model::parse_email;
use crate::accounts::password::policy_error;
use crate::accounts::repo::{self, User};
use crate::accounts::Hasher;
use crate::session::Device;
use sha2::{Digest, Sha256};

use crate::config::AppConfig;
use crate::db::{now, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::web::ratelimit::{self, Limit};
use crate::web::{ClientIp, Ctx};

/// What a sign-in attempt came to.
pub enum Outcome {
    /// The password is right and the account may sign in.
    Valid(User),
    /// Unknown email or wrong password (indistinguishable on purpose).
    Invalid,
    /// The password is right but an admin disabled the account.
    Disabled,
}

/// The longest email address a sign-in accepts (RFC 5321's limit), in characters.
pub const EMAIL_MAX: usize = 254;

/// What a person is told when the email they typed is longer than [`EMAIL_MAX`].
pub const EMAIL_TOO_LONG: &str =
    "That email address is too long: an email address has at most 254 characters.";

/// Refuse an email address no account can have (422, field `email`), so
/// that nothing is counted or stored under it.
fn check_length(email: &str) -> AppResult<()> {
    if email.trim().chars().count() > EMAIL_MAX {
        let mut errors = FieldErrors::default();
        errors.add("email", EMAIL_TOO_LONG);
        return Err(AppError::Validation(errors));
    }
    Ok(())
}

/// Check `email` and `password`. An email longer than [`EMAIL_MAX`] is
/// refused at once (422) and counts against nothing. The attempt is
/// counted against the per-account and per-address limits before the
/// password is checked (so a burst of parallel guesses cannot run past
/// them; over the limit: 429) and taken back when the password was right.
/// A browser with a `device` cookie for the account is counted against
/// that device's own limit instead of the account's, so strangers' wrong
/// passwords do not lock it out (see [`super::device`]). An unknown email
/// still spends a hash, and an outdated hash is upgraded.
pub async fn check(
    ctx: &Ctx<'_>,
    hasher: &Hasher,
    device: Option<&Device>,
    email: &str,
    password: String,
) -> AppResult<Outcome> {
    let (db, cfg, ip) = (ctx.db, ctx.cfg, &ctx.ip);
    check_length(email)?;
    let email = parse_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
    let user = repo::find_by_email(db, &email).await?;
    let device = device.filter(|d| user.as_ref().is_some_and(|u| u.id == d.user_id));
    let limits = limits(cfg, &email, device, ip);
    let mut counted = Vec::with_capacity(limits.len());
    for (bucket, limit) in &limits {
        match ratelimit::attempt(db, bucket, *limit).await {
            Ok(id) => counted.push(id),
            Err(e) => {
                for id in counted {
                    ratelimit::forgive(db, id).await?;
                }
                return Err(e);
            }
        }
    }
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let verified = hasher.verify(password.clone(), stored).await?;
    let Some(user) = user.filter(|_| verified.ok) else {
        return Ok(Outcome::Invalid);
    };
    for id in counted {
        ratelimit::forgive(db, id).await?;
    }
    if user.disabled != 0 {
        return Ok(Outcome::Disabled);
    }
    // The password was right, so the person may know until when and why.
    if let Some(message) = suspension(db, user.id).await? {
        let mut errors = FieldErrors::default();
        errors.add("email", message);
        return Err(AppError::Validation(errors));
    }
    ratelimit::clear(db, &limits[0].0).await?;
    if verified.needs_rehash {
        // The password is known to be right: store it at today's strength.
        if let Ok(hash) = hasher.hash(password).await {
            repo::set_password_hash(db, user.id, &hash).await?;
        }
    }
    Ok(Outcome::Valid(user))
}

/// Why `user_id` may not sign in now, if a moderator suspended them
/// (src/moderation): "suspended until …: reason". Every way in asks this
/// after it knows who is signing in (the password here, a provider in
/// `auth::oauth`), so a suspension holds whichever way they come.
pub async fn suspension(db: &DbPool, user_id: i64) -> AppResult<Option<String>> {
    let (until, why): (i64, String) =
        sqlx::query_as("SELECT suspended_until, suspension_reason FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&db.pool)
            .await?;
    Ok((until > now()).then(|| {
        format!(
            "This account is suspended until {}: {why}",
            crate::web::text::format_time(until)
        )
    }))
}

/// The limits on failed sign-ins: per account (or, for a browser that
/// signed in to the account before, per device) and per client address.
/// The first is the one a successful sign-in clears.
pub fn limits(
    cfg: &AppConfig,
    email: &str,
    device: Option<&Device>,
    ip: &ClientIp,
) -> [(String, Limit); 2] {
    let (account, limit) = account_limit(cfg, email);
    [
        (device.map_or(account, |d| d.bucket.clone()), limit),
        (
            format!("login:ip:{}", ip.bucket_key()),
            Limit {
                max: cfg.login_max_failures_per_address,
                window: cfg.login_failure_window,
            },
        ),
    ]
}

/// The per-account sign-in limit and its bucket. The bucket is named by a
/// hash of the normalised address: whatever was typed, the name is short
/// and holds no address.
fn account_limit(cfg: &AppConfig, email: &str) -> (String, Limit) {
    (
        format!("login:account:{:x}", Sha256::digest(email.as_bytes())),
        Limit {
            max: cfg.login_max_failures_per_account,
            window: cfg.login_failure_window,
        },
    )
}

/// Check a signed-in user's password again before a sensitive change
/// (new password or email, deleting the account). The check counts against
/// the account's sign-in limit (429 beyond), or a stolen session could be
/// used to guess the password; the attempt is taken back when it was
/// right. An account without a password never passes: it confirms with a
/// fresh sign-in instead ([`confirm`]).
pub async fn confirm_password(
    db: &DbPool,
    cfg: &AppConfig,
    hasher: &Hasher,
    user: &User,
    given: String,
) -> AppResult<bool> {
    let (bucket, limit) = account_limit(cfg, &user.email);
    let counted = ratelimit::attempt(db, &bucket, limit).await?;
    if !hasher.verify(given, user.password_hash.clone()).await?.ok {
        return Ok(false);
    }
    ratelimit::forgive(db, counted).await?;
    Ok(true)
}

/// How long a fresh sign-in at a provider stands in for a password, in
/// seconds: long enough to make the change, short enough that a session
/// left open (or stolen) cannot.
pub const PROOF_WINDOW: i64 = 300;

/// Whether the person behind `session_id` proved who they are within the
/// last [`PROOF_WINDOW`] seconds: signed in, or signed in again at a
/// provider ("Confirm with GitHub" on the profile page). The one test an
/// account without a password passes before a sensitive change.
pub async fn recently_proved(db: &DbPool, session_id: i64) -> AppResult<bool> {
    let at = crate::session::proved_at(db, session_id).await?;
    Ok(proof_is_recent(at))
}

/// Whether a proof made at `at` (unix seconds, 0: never) still counts.
pub fn proof_is_recent(at: i64) -> bool {
    at > 0 && now() - at <= PROOF_WINDOW
}

/// What checking the signed-in person again came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    Confirmed,
    /// The account has a password and this was not it.
    WrongPassword,
    /// The account has no password and this session has not proved who it
    /// is recently: sign in again at a provider first.
    NotRecent,
}

/// Check the signed-in person again before a sensitive change: with the
/// password `given` when the account has one ([`confirm_password`]), with a
/// recent sign-in on this session when it has none ([`recently_proved`]).
pub async fn confirm(
    db: &DbPool,
    cfg: &AppConfig,
    hasher: &Hasher,
    user: &User,
    session_id: i64,
    given: String,
) -> AppResult<Confirmation> {
    if user.password_hash.is_none() {
        return Ok(if recently_proved(db, session_id).await? {
            Confirmation::Confirmed
        } else {
            Confirmation::NotRecent
        });
    }
    Ok(if confirm_password(db, cfg, hasher, user, given).await? {
        Confirmation::Confirmed
    } else {
        Confirmation::WrongPassword
    })
}

/// Whether a change needs a fresh sign-in first: the account has no
/// password and this session has not proved who it is recently. For
/// changes that accounts with a password make without retyping it.
pub async fn needs_fresh_sign_in(db: &DbPool, user: &User, session_id: i64) -> AppResult<bool> {
    Ok(user.password_hash.is_none() && !recently_proved(db, session_id).await?)
}

/// What a person without a password is told when `action` ("delete your
/// account") needs a fresh sign-in first.
pub fn fresh_sign_in_needed(action: &str) -> String {
    format!(
        "To {action}, first confirm it is you: your account has no password, so use a \
         \"Confirm with\" button on your profile page to sign in again with an account \
         connected here. It counts for {} minutes.",
        PROOF_WINDOW / 60
    )
}

/// Change the signed-in person's password, after they confirmed who they
/// are ([`confirm`]): the one routine behind the profile's form and `PUT
/// /api/user`. The new password must pass the policy (the refusal is
/// returned as the message to show); it is stored at today's strength and
/// every other session of the account ends, so whoever else was signed in
/// (a thief among them) is out, while `keep_session` (the one making the
/// change) stays. Returns how many sessions were ended.
pub async fn change_password(
    db: &DbPool,
    hasher: &Hasher,
    user: &User,
    new_password: String,
    keep_session: i64,
) -> AppResult<Result<u64, String>> {
    if let Some(problem) = policy_error(&new_password, &[&user.username, &user.email]) {
        return Ok(Err(problem));
    }
    let hash = hasher.hash(new_password).await?;
    repo::set_password_hash(db, user.id, &hash).await?;
    let ended = crate::session::end_all_for_user(db, user.id, Some(keep_session)).await?;
    Ok(Ok(ended))
}
