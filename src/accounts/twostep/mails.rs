//! The mail a member gets whenever their two-step sign-in changes, so
//! that a change they did not make does not go unnoticed.

use crate::db::DbPool;
use crate::error::AppResult;
use crate::mail::{self, MailContent, Wakeup};
use crate::mail_templates;

/// "Two-step sign-in was turned off", and the like.
pub struct TwoStepChanged {
    pub username: String,
    /// What happened, as a sentence: "Two-step sign-in was turned off."
    pub change: String,
    pub profile_url: String,
}
mail_templates!(
    TwoStepChanged,
    "email/twostep_changed.txt",
    "email/twostep_changed.html"
);

impl MailContent for TwoStepChanged {
    const NAME: &'static str = "twostep_changed";
    fn subject(&self) -> String {
        self.change.trim_end_matches('.').to_string()
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

/// Queue the mail telling `username` at `email` that `change` happened.
pub async fn tell(
    db: &DbPool,
    base_url: &str,
    wakeup: &Wakeup,
    user: (i64, &str, &str),
    change: &str,
) -> AppResult<()> {
    let (user_id, username, email) = user;
    let base = base_url.trim_end_matches('/');
    let notice = TwoStepChanged {
        username: username.to_string(),
        change: change.to_string(),
        profile_url: format!("{base}/account/two-step"),
    };
    let mut conn = db.pool.acquire().await?;
    mail::enqueue(
        &mut conn,
        base,
        &notice.to(email, None)?,
        Some(("user", user_id)),
    )
    .await?;
    wakeup.notify();
    Ok(())
}
