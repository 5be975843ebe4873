//! The mails about a person's own account.

use crate::mail::MailContent;
use crate::mail_templates;

/// "Confirm your email address" after sign-up (or on request).
pub struct VerifyMail {
    pub username: String,
    pub link: String,
}
mail_templates!(
    VerifyMail,
    "email/verify_email.txt",
    "email/verify_email.html"
);

impl MailContent for VerifyMail {
    const NAME: &'static str = "verify_email";
    fn subject(&self) -> String {
        "Confirm your email address".into()
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

/// "Reset your password".
pub struct ResetMail {
    pub username: String,
    pub link: String,
}
mail_templates!(
    ResetMail,
    "email/password_reset.txt",
    "email/password_reset.html"
);

impl MailContent for ResetMail {
    const NAME: &'static str = "password_reset";
    fn subject(&self) -> String {
        "Reset your password".into()
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

/// To the new address: "confirm this is your new email".
pub struct ChangeEmailMail {
    pub username: String,
    pub new_email: String,
    pub link: String,
}
mail_templates!(
    ChangeEmailMail,
    "email/email_change.txt",
    "email/email_change.html"
);

impl MailContent for ChangeEmailMail {
    const NAME: &'static str = "email_change";
    fn subject(&self) -> String {
        "Confirm your new email address".into()
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

/// To the old address: "your email is being changed".
pub struct EmailChangedNotice {
    pub username: String,
    pub new_email: String,
    pub site_url: String,
}
mail_templates!(
    EmailChangedNotice,
    "email/email_changed.txt",
    "email/email_changed.html"
);

impl MailContent for EmailChangedNotice {
    const NAME: &'static str = "email_changed";
    fn subject(&self) -> String {
        "Your email address is being changed".into()
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

/// To a newly confirmed address: "sign-in accounts connected before were
/// disconnected" (see `claim`).
pub struct IdentitiesDroppedNotice {
    pub username: String,
    pub email: String,
    /// "by opening the confirmation link we sent".
    pub how: &'static str,
    /// "GitHub (as someone@example.org)", one per identity.
    pub dropped: Vec<String>,
    pub profile_url: String,
    /// Set when the account is left without a password.
    pub forgot_url: Option<String>,
}
mail_templates!(
    IdentitiesDroppedNotice,
    "email/identities_dropped.txt",
    "email/identities_dropped.html"
);

impl MailContent for IdentitiesDroppedNotice {
    const NAME: &'static str = "identities_dropped";
    fn subject(&self) -> String {
        "Sign-in accounts were disconnected from your account".into()
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

/// To an account's owner: someone tried to sign up with this address.
pub struct SignupAttemptMail {
    pub username: String,
    pub login_link: String,
    pub reset_link: String,
}
mail_templates!(
    SignupAttemptMail,
    "email/signup_attempt.txt",
    "email/signup_attempt.html"
);

impl MailContent for SignupAttemptMail {
    const NAME: &'static str = "signup_attempt";
    fn subject(&self) -> String {
        "Someone tried to sign up with your email address".into()
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}
