//! Note input, its validation, and Markdown rendering.

use rocket::form::FromForm;
use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;
use crate::web::text::{check_length, check_tags, one_line, split_tags};

/// Longest title, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest body, in characters. Rocket's 64 KiB form limit (Rocket.toml) is
/// the real bound for the pages; this keeps the API and imports in step.
pub const BODY_MAX: usize = 20_000;
/// Most tags on one note.
pub const TAGS_MAX: usize = 20;
/// Longest tag, in characters.
pub const TAG_MAX: usize = 40;
/// Longest search text.
pub const QUERY_MAX: usize = 200;

/// The create/edit form as sent. `tags` is comma-separated; `version` is
/// the version the page was showing (0 for a new note).
#[derive(Debug, Clone, Default, FromForm)]
pub struct NoteForm {
    #[field(default = String::new())]
    pub title: String,
    #[field(default = String::new())]
    pub body: String,
    #[field(default = String::new())]
    pub tags: String,
    #[field(default = false)]
    pub pinned: bool,
    #[field(default = false)]
    pub archived: bool,
    #[field(default = 0)]
    pub version: i64,
}

/// A validated note, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteInput {
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub pinned: bool,
    pub archived: bool,
}

impl NoteInput {
    /// Validate raw values (from a form, JSON or an imported file).
    pub fn validate(
        title: &str,
        body: &str,
        tags: Vec<String>,
        pinned: bool,
        archived: bool,
    ) -> Result<NoteInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = one_line(title);
        check_length(
            &mut errors,
            "title",
            &title,
            TITLE_MAX,
            "Give the note a title.",
        );
        let body = body.replace("\r\n", "\n");
        let n = body.chars().count();
        if n > BODY_MAX {
            errors.add(
                "body",
                format!("Use at most {BODY_MAX} characters (you have {n})."),
            );
        }
        // Postgres cannot store NUL in text.
        if body.contains('\0') {
            errors.add("body", "Remove the NUL character.");
        }
        let tags = split_tags(&tags.join(","));
        check_tags(&mut errors, "tags", &tags, TAGS_MAX, TAG_MAX);
        if errors.is_empty() {
            Ok(NoteInput {
                title,
                body,
                tags,
                pinned,
                archived,
            })
        } else {
            Err(errors)
        }
    }
}

impl NoteForm {
    /// Validate every field, collecting a message per field.
    pub fn validate(&self) -> Result<NoteInput, FieldErrors> {
        NoteInput::validate(
            &self.title,
            &self.body,
            split_tags(&self.tags),
            self.pinned,
            self.archived,
        )
    }
}

/// A note as the JSON API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NoteJson {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub pinned: bool,
    pub archived: bool,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `POST /notes` and `PUT /notes/{id}`. On PUT, fields left out keep their
/// stored value and `version` is required; unknown fields (`user_id`...)
/// are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct NoteRequest {
    pub title: Option<String>,
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
    pub pinned: Option<bool>,
    pub archived: Option<bool>,
    pub version: Option<i64>,
}

impl crate::api::json::Fields for NoteRequest {
    const FIELDS: &'static [&'static str] =
        &["title", "body", "tags", "pinned", "archived", "version"];
}

/// One page of `GET /notes`.
#[derive(Debug, Clone, Serialize)]
pub struct NotePage {
    pub notes: Vec<NoteJson>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}
