//! A mail as it waits in the outbox, and how templates become one.

/// One mail to one recipient, rendered and ready to queue.
#[derive(Debug, Clone)]
pub struct Email {
    /// The template pair it came from (`contact`, `verify_email`…), for admins.
    pub template: &'static str,
    pub to: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A mail type: a subject and a pair of templates,
/// `templates/email/<name>.txt` and `templates/email/<name>.html`.
pub trait MailContent {
    /// The template pair's name.
    const NAME: &'static str;
    /// The subject line (headers are encoded by lettre; CR/LF cannot break out).
    fn subject(&self) -> String;
    /// The plain-text and HTML bodies.
    fn render(&self) -> Result<(String, String), askama::Error>;

    /// The mail for `to`.
    fn to(&self, to: &str, reply_to: Option<&str>) -> Result<Email, askama::Error> {
        let (text, html) = self.render()?;
        Ok(Email {
            template: Self::NAME,
            to: to.to_string(),
            reply_to: reply_to.map(str::to_string),
            subject: self.subject().replace(['\r', '\n'], " "),
            text,
            html,
        })
    }
}

/// Declares a mail type's template pair:
/// `mail_templates!(ContactMail, "email/contact.txt", "email/contact.html")`
/// makes the two template wrappers, whose templates see the mail as `m`.
#[macro_export]
macro_rules! mail_templates {
    ($ty:ident, $text:literal, $html:literal) => {
        const _: () = {
            #[derive(askama::Template)]
            #[template(path = $text)]
            struct Text<'a> {
                m: &'a $ty,
            }
            #[derive(askama::Template)]
            #[template(path = $html)]
            struct Html<'a> {
                m: &'a $ty,
            }
            impl $ty {
                pub(crate) fn render_pair(&self) -> Result<(String, String), askama::Error> {
                    use askama::Template;
                    Ok((Text { m: self }.render()?, Html { m: self }.render()?))
                }
            }
        };
    };
}
