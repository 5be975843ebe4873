//! Chat input and its validation, mentions, and the JSON shapes.

use rocket::form::FromForm;
use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;
use crate::web::text::{check_length, one_line};

/// Longest room name, in characters.
pub const NAME_MAX: usize = 60;
/// Longest room topic, in characters.
pub const TOPIC_MAX: usize = 250;
/// Most `@mentions` one message records.
pub const MENTIONS_MAX: usize = 20;

/// The create-room / room-settings form.
#[derive(Debug, Clone, Default, FromForm)]
pub struct RoomForm {
    #[field(default = String::new())]
    pub name: String,
    #[field(default = String::new())]
    pub topic: String,
    #[field(default = false)]
    pub private: bool,
}

/// A validated room name and topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomInput {
    pub name: String,
    pub topic: String,
    pub private: bool,
}

impl RoomInput {
    /// Validate a room's name and topic (from a form or JSON).
    pub fn validate(name: &str, topic: &str, private: bool) -> Result<RoomInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = one_line(name);
        check_length(
            &mut errors,
            "name",
            &name,
            NAME_MAX,
            "Give the room a name.",
        );
        let topic = one_line(topic);
        if topic.chars().count() > TOPIC_MAX {
            errors.add(
                "topic",
                format!(
                    "Use at most {TOPIC_MAX} characters (you have {}).",
                    topic.chars().count()
                ),
            );
        }
        if topic.contains('\0') {
            errors.add("topic", "Remove the NUL character.");
        }
        if errors.is_empty() {
            Ok(RoomInput {
                name,
                topic,
                private,
            })
        } else {
            Err(errors)
        }
    }
}

impl RoomForm {
    /// Validate every field.
    pub fn validate(&self) -> Result<RoomInput, FieldErrors> {
        RoomInput::validate(&self.name, &self.topic, self.private)
    }
}

/// The message box (post and edit).
#[derive(Debug, Clone, Default, FromForm)]
pub struct MessageForm {
    #[field(default = String::new())]
    pub body: String,
    /// The message this one replies to (0: none).
    #[field(default = 0)]
    pub reply_to: i64,
}

/// Longest quote of a replied-to message, in characters.
pub const EXCERPT_MAX: usize = 100;

/// The start of a message body on one line, for a reply's quote.
pub fn excerpt(body: &str) -> String {
    let line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= EXCERPT_MAX {
        return line;
    }
    let mut cut: String = line.chars().take(EXCERPT_MAX).collect();
    cut.push('…');
    cut
}

/// The message a reply quotes, as the JSON API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyJson {
    pub id: i64,
    /// Empty once deleted.
    pub author: String,
    /// The start of its text (empty once deleted).
    pub excerpt: String,
    pub deleted: bool,
}

/// A message body as stored: line endings normalised, surrounding blank
/// space trimmed, not empty, at most `max` characters, no NUL.
pub fn validate_body(body: &str, max: usize) -> Result<String, FieldErrors> {
    let mut errors = FieldErrors::default();
    let body = body.replace("\r\n", "\n").trim().to_string();
    check_length(&mut errors, "body", &body, max, "Write a message first.");
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(errors)
    }
}

/// The invite form: a username.
#[derive(Debug, Clone, Default, FromForm)]
pub struct InviteForm {
    #[field(default = String::new())]
    pub username: String,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// The `@username`s in `body` (each once, lower-cased, in order of first
/// appearance, at most [`MENTIONS_MAX`]). A mention starts at the
/// beginning or after a character that cannot be part of a name or an
/// address (so `bob@example.org` mentions nobody), and its name has 3 to 32
/// of the characters usernames allow.
pub fn mentions(body: &str) -> Vec<String> {
    let bytes = body.as_bytes();
    let mut found: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() && found.len() < MENTIONS_MAX {
        if bytes[i] == b'@' && (i == 0 || !(is_name_byte(bytes[i - 1]) || bytes[i - 1] == b'.')) {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && is_name_byte(bytes[end]) {
                end += 1;
            }
            let len = end - start;
            if (3..=32).contains(&len) {
                let name = body[start..end].to_ascii_lowercase();
                if !found.contains(&name) {
                    found.push(name);
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    found
}

/// Turn the plain-text `@name`s of sanitised HTML into links to the
/// member's page, for the names in `known` (lower-case). Only text between
/// tags is touched, never inside `<a>`, `<code>` or `<pre>`; names hold only
/// `[A-Za-z0-9_-]`, so the inserted markup needs no escaping.
pub fn link_mentions(html: &str, known: &[String]) -> String {
    if known.is_empty() || !html.contains('@') {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len() + 64);
    let mut skip_depth = 0usize;
    let mut rest = html;
    while !rest.is_empty() {
        if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            let tag = &rest[..end];
            let lower = tag.to_ascii_lowercase();
            for t in ["a", "code", "pre"] {
                if lower.starts_with(&format!("<{t}>")) || lower.starts_with(&format!("<{t} ")) {
                    skip_depth += 1;
                } else if lower.starts_with(&format!("</{t}>")) {
                    skip_depth = skip_depth.saturating_sub(1);
                }
            }
            out.push_str(tag);
            rest = &rest[end..];
            continue;
        }
        let end = rest.find('<').unwrap_or(rest.len());
        let text = &rest[..end];
        if skip_depth > 0 {
            out.push_str(text);
        } else {
            out.push_str(&link_text(text, known));
        }
        rest = &rest[end..];
    }
    out
}

fn link_text(text: &str, known: &[String]) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if bytes[i] == b'@' && (i == 0 || !(is_name_byte(bytes[i - 1]) || bytes[i - 1] == b'.')) {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && is_name_byte(bytes[end]) {
                end += 1;
            }
            let name = &text[start..end];
            if !name.is_empty() && known.contains(&name.to_ascii_lowercase()) {
                out.push_str(&text[copied..i]);
                out.push_str(&format!(
                    "<a class=\"mention\" href=\"/chat/people/{name}\">@{name}</a>"
                ));
                copied = end;
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// A room as the JSON API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RoomJson {
    pub id: i64,
    pub name: String,
    pub topic: String,
    pub private: bool,
    pub archived: bool,
    /// A direct conversation (fixed members, no admins).
    pub direct: bool,
    /// The caller's notification choice: `all`, `mentions` or `none`
    /// (empty for a non-member).
    pub notify: String,
    /// Whether the caller is a member, and a room admin.
    pub member: bool,
    pub admin: bool,
    pub unread: i64,
    pub unread_mentions: i64,
    pub last_read_id: i64,
}

/// A message as the JSON API and the live stream show it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageJson {
    pub id: i64,
    pub room_id: i64,
    pub author: String,
    /// Empty once deleted.
    pub body: String,
    /// The body rendered and sanitised (empty once deleted).
    pub html: String,
    pub created_at: i64,
    pub edited: bool,
    pub deleted: bool,
    /// The message this one replies to.
    pub reply_to: Option<ReplyJson>,
}

/// A room member as the JSON API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MemberJson {
    pub user_id: i64,
    pub username: String,
    pub admin: bool,
}

/// `POST /chat/rooms` and `PATCH /chat/rooms/{id}`: fields left out keep
/// their value; unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoomRequest {
    pub name: Option<String>,
    pub topic: Option<String>,
    pub private: Option<bool>,
    pub archived: Option<bool>,
}

impl crate::api::json::Fields for RoomRequest {
    const FIELDS: &'static [&'static str] = &["name", "topic", "private", "archived"];
}

/// `POST /chat/rooms/{id}/messages` and `PATCH /chat/messages/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MessageRequest {
    pub body: Option<String>,
    /// When posting: the id of the message (same room) this one replies to.
    pub reply_to: Option<i64>,
}

impl crate::api::json::Fields for MessageRequest {
    const FIELDS: &'static [&'static str] = &["body", "reply_to"];
}

/// `POST /chat/rooms/{id}/members`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MemberRequest {
    pub username: Option<String>,
}

impl crate::api::json::Fields for MemberRequest {
    const FIELDS: &'static [&'static str] = &["username"];
}

/// `PUT /chat/rooms/{id}/read`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReadRequest {
    pub last_read_id: Option<i64>,
}

impl crate::api::json::Fields for ReadRequest {
    const FIELDS: &'static [&'static str] = &["last_read_id"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_found_once_and_addresses_are_not_mentions() {
        assert_eq!(
            mentions("@Bob hi @carol, @bob again; mail bob@example.org @x"),
            vec!["bob".to_string(), "carol".to_string()]
        );
        assert!(mentions("no one").is_empty());
    }

    #[test]
    fn mention_links_skip_code_and_existing_links() {
        let known = vec!["bob".to_string()];
        let html = "<p>hi @Bob <code>@bob</code> <a href=\"x\">@bob</a> @eve</p>";
        assert_eq!(
            link_mentions(html, &known),
            "<p>hi <a class=\"mention\" href=\"/chat/people/Bob\">@Bob</a> <code>@bob</code> \
             <a href=\"x\">@bob</a> @eve</p>"
        );
    }
}
