//! Contact form input and the mails it produces.

use rocket::form::FromForm;

use crate::accounts::model::parse_email;
use crate::error::FieldErrors;
use crate::mail::MailContent;
use crate::mail_templates;
use crate::web::text::{check_length, one_line};

/// Longest name, in characters.
pub const NAME_MAX: usize = 100;
/// Longest subject, in characters.
pub const SUBJECT_MAX: usize = 150;
/// Longest message, in characters.
pub const MESSAGE_MAX: usize = 5000;

/// The contact form as sent. `website` is the honeypot: hidden from people,
/// filled in by bots.
#[derive(Debug, Clone, Default, FromForm)]
pub struct ContactForm {
    #[field(default = String::new())]
    pub name: String,
    #[field(default = String::new())]
    pub email: String,
    #[field(default = String::new())]
    pub subject: String,
    #[field(default = String::new())]
    pub message: String,
    #[field(default = String::new())]
    pub website: String,
}

/// A validated message.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub name: String,
    pub email: String,
    pub subject: String,
    pub message: String,
}

impl ContactForm {
    /// True when the honeypot was filled in.
    pub fn is_spam(&self) -> bool {
        !self.website.trim().is_empty()
    }

    /// Validate every field, collecting a message per field.
    pub fn validate(&self) -> Result<NewMessage, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = one_line(&self.name);
        check_length(&mut errors, "name", &name, NAME_MAX, "Tell us your name.");
        let email = match parse_email(&self.email) {
            Ok(e) => e,
            Err(e) => {
                errors.add("email", e);
                String::new()
            }
        };
        let subject = one_line(&self.subject);
        check_length(
            &mut errors,
            "subject",
            &subject,
            SUBJECT_MAX,
            "Add a subject.",
        );
        let message = self.message.replace("\r\n", "\n").trim().to_string();
        check_length(
            &mut errors,
            "message",
            &message,
            MESSAGE_MAX,
            "Write your message.",
        );
        if errors.is_empty() {
            Ok(NewMessage {
                name,
                email,
                subject,
                message,
            })
        } else {
            Err(errors)
        }
    }
}

/// The mail each recipient gets.
pub struct ContactMail {
    pub name: String,
    pub email: String,
    pub subject: String,
    pub message: String,
    pub inbox_url: String,
}
mail_templates!(ContactMail, "email/contact.txt", "email/contact.html");

impl MailContent for ContactMail {
    const NAME: &'static str = "contact";
    fn subject(&self) -> String {
        format!("[Contact] {}", self.subject)
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

/// The optional acknowledgement to the visitor.
pub struct AckMail {
    pub name: String,
    pub subject: String,
    pub site_url: String,
}
mail_templates!(AckMail, "email/contact_ack.txt", "email/contact_ack.html");

impl MailContent for AckMail {
    const NAME: &'static str = "contact_ack";
    fn subject(&self) -> String {
        "We received your message".into()
    }
    fn render(&self) -> Result<(String, String), askama::Error> {
        self.render_pair()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_never_survive_in_header_fields() {
        let form = ContactForm {
            name: "Eve\r\nBcc: victim@example.org".into(),
            email: "eve@example.org".into(),
            subject: "Hi\nBcc: x@example.org".into(),
            message: "line one\r\nline two".into(),
            website: String::new(),
        };
        let m = form.validate().unwrap();
        assert!(!m.name.contains(['\r', '\n']));
        assert!(!m.subject.contains(['\r', '\n']));
        assert_eq!(m.message, "line one\nline two");
    }

    #[test]
    fn an_address_with_a_line_break_is_refused() {
        let form = ContactForm {
            name: "Eve".into(),
            email: "eve@example.org\r\nBcc: victim@example.org".into(),
            subject: "Hi".into(),
            message: "Hello".into(),
            website: String::new(),
        };
        assert!(form.validate().unwrap_err().get("email").is_some());
    }
}
