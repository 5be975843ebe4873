//! An address proved by a mailed link claims its account. While an address
//! is unconfirmed, anyone could have signed up with it; so when its owner
//! proves it (the verification link, or a password reset), every sign-in
//! identity connected to the account before that moment is dropped and the
//! owner is told by mail. Otherwise someone could sign up with another
//! person's address, connect their own GitHub account, and keep signing in
//! with it after the owner took the account back.

use sqlx::AnyConnection;

use super::mails::IdentitiesDroppedNotice;
use crate::config::AppConfig;
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::mail::{self, MailContent};

/// How the owner proved the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    ConfirmationLink,
    PasswordReset,
}

/// What claiming the account changed.
#[derive(Debug, Default)]
pub struct Claimed {
    /// The sign-in accounts dropped, as people name them ("GitHub").
    pub dropped: Vec<String>,
    /// The account is left without a password.
    pub no_password: bool,
}

impl Claimed {
    /// What the page says after the link was used: empty when nothing was
    /// dropped, else a sentence to add.
    pub fn message(&self) -> String {
        if self.dropped.is_empty() {
            return String::new();
        }
        let mut text = format!(
            " {} had been connected to your account before your address was confirmed, \
             so we cannot tell who connected {}: for your safety we disconnected {}. If {} \
             yours, sign in and connect {} again from your profile. We sent you a mail about this.",
            names(&self.dropped),
            them(&self.dropped),
            them(&self.dropped),
            if self.dropped.len() == 1 {
                "it is"
            } else {
                "they are"
            },
            them(&self.dropped),
        );
        if self.no_password {
            text.push_str(
                " Your account has no password: to sign in, choose one with \"Forgot your password?\".",
            );
        }
        text
    }
}

fn them(list: &[String]) -> &'static str {
    if list.len() == 1 {
        "it"
    } else {
        "them"
    }
}

/// "GitHub", "GitHub and Google", "GitHub, Google and single sign-on".
fn names(list: &[String]) -> String {
    match list {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A provider's name as people read it. The generic OpenID Connect
/// provider's configured name belongs to the sign-in layer above.
fn provider_name(slug: &str) -> String {
    match slug {
        "github" => "GitHub".into(),
        "google" => "Google".into(),
        "oidc" => "single sign-on".into(),
        other => other.into(),
    }
}

#[derive(sqlx::FromRow)]
struct Account {
    username: String,
    email: String,
    email_verified: i64,
    has_password: i64,
}

/// Mark `user_id`'s address confirmed, in the caller's transaction. If it
/// was not confirmed until now, every identity linked so far is dropped and
/// a notice queued to the address (wake the mail worker after commit).
pub async fn address_proved(
    conn: &mut AnyConnection,
    cfg: &AppConfig,
    user_id: i64,
    how: How,
) -> AppResult<Claimed> {
    let account: Account = sqlx::query_as(
        "SELECT username, email, email_verified, \
                CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS has_password \
         FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    // Written first: on Postgres, the row lock queues a concurrent claim.
    sqlx::query("UPDATE users SET email_verified = 1, updated_at = $1 WHERE id = $2")
        .bind(now())
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    if account.email_verified != 0 {
        return Ok(Claimed::default());
    }
    let rows: Vec<(String, String)> =
        sqlx::query_as("DELETE FROM identities WHERE user_id = $1 RETURNING provider, email")
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await?;
    if rows.is_empty() {
        return Ok(Claimed::default());
    }
    log::warn!(
        "user {user_id}: address confirmed, {} identities linked before it dropped",
        rows.len()
    );
    let base = cfg.base_url.trim_end_matches('/');
    let no_password = account.has_password == 0 && how == How::ConfirmationLink;
    let notice = IdentitiesDroppedNotice {
        username: account.username,
        email: account.email.clone(),
        how: match how {
            How::ConfirmationLink => "by opening the confirmation link we sent",
            How::PasswordReset => "by resetting your password with the link we sent",
        },
        dropped: rows
            .iter()
            .map(|(p, email)| match email.as_str() {
                "" => provider_name(p),
                e => format!("{} (as {e})", provider_name(p)),
            })
            .collect(),
        profile_url: format!("{base}/profile"),
        forgot_url: no_password.then(|| format!("{base}/password/forgot")),
    };
    mail::enqueue(
        conn,
        base,
        &notice.to(&account.email, None)?,
        Some(("user", user_id)),
    )
    .await?;
    let mut dropped: Vec<String> = rows.iter().map(|(p, _)| provider_name(p)).collect();
    dropped.dedup();
    Ok(Claimed {
        dropped,
        no_password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_what_was_dropped_in_plain_words() {
        let one = Claimed {
            dropped: vec!["GitHub".into()],
            no_password: false,
        };
        assert!(one.message().contains(" GitHub had been connected"));
        assert!(one.message().contains("we disconnected it. If it is yours"));
        let two = Claimed {
            dropped: vec!["GitHub".into(), "Google".into(), "single sign-on".into()],
            no_password: true,
        };
        assert!(two
            .message()
            .contains("GitHub, Google and single sign-on had been"));
        assert!(two.message().contains("Forgot your password?"));
        assert_eq!(Claimed::default().message(), "");
    }
}
