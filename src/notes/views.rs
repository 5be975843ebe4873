//! The notes pages' template structs.

use askama::Template;

use super::model::NoteForm;
use super::repo::Note;
use crate::error::FieldErrors;
use crate::web::enc;
use crate::web::markdown::render_markdown;
use crate::web::paging::Pager;
use crate::web::text::format_time;
use crate::web::Layout;

/// A note as the pages show it.
pub struct NoteView {
    pub id: i64,
    pub title: String,
    pub tags: Vec<String>,
    pub pinned: bool,
    pub archived: bool,
    pub created: String,
    pub updated: String,
    /// The first words of the body, as plain text.
    pub excerpt: String,
    /// The body rendered from Markdown and sanitised: safe for `|safe`.
    pub html: String,
}

/// Characters of a note's body the list shows.
pub const EXCERPT_CHARS: usize = 160;

impl NoteView {
    /// For a list row (no rendered body).
    pub fn summary(n: &Note) -> NoteView {
        let mut v = NoteView::full_without_html(n);
        let mut excerpt: String = n.body.chars().take(EXCERPT_CHARS).collect();
        if n.body.chars().count() > EXCERPT_CHARS {
            excerpt.push('…');
        }
        v.excerpt = excerpt;
        v
    }

    /// For the note's own page.
    pub fn full(n: &Note) -> NoteView {
        let mut v = NoteView::full_without_html(n);
        v.html = render_markdown(&n.body);
        v
    }

    fn full_without_html(n: &Note) -> NoteView {
        NoteView {
            id: n.id,
            title: n.title.clone(),
            tags: n.tags.clone(),
            pinned: n.pinned,
            archived: n.archived,
            created: format_time(n.created_at),
            updated: format_time(n.updated_at),
            excerpt: String::new(),
            html: String::new(),
        }
    }
}

/// `/notes`.
#[derive(Template)]
#[template(path = "notes/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub notes: Vec<NoteView>,
    pub q: String,
    pub tag: String,
    pub tags: Vec<String>,
    pub archived: bool,
    pub pager: Pager,
}

impl ListPage {
    /// The list's address with its filters, for the pager.
    pub fn base(q: &str, tag: &str, archived: bool) -> String {
        format!("/notes?q={}&tag={}&archived={archived}", enc(q), enc(tag))
    }
    /// The list filtered by `tag`.
    pub fn tag_link(&self, tag: &str) -> String {
        tag_link(tag)
    }
}

/// The list filtered by `tag`.
pub fn tag_link(tag: &str) -> String {
    format!("/notes?tag={}", enc(tag))
}

/// `/notes/<id>`.
#[derive(Template)]
#[template(path = "notes/show.html")]
pub struct ShowPage {
    pub layout: Layout,
    pub note: NoteView,
}

impl ShowPage {
    /// The list filtered by `tag`.
    pub fn tag_link(&self, tag: &str) -> String {
        tag_link(tag)
    }
}

/// The create and edit form; with `stored`, the 409 page of a stale save
/// that shows the stored text next to the person's own.
#[derive(Template)]
#[template(path = "notes/form.html")]
pub struct FormPage {
    pub layout: Layout,
    /// None for a new note.
    pub id: Option<i64>,
    pub form: NoteForm,
    pub errors: FieldErrors,
    pub stored: Option<Note>,
}

impl FormPage {
    /// Where the form posts.
    pub fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/notes/{id}/edit"),
            None => "/notes".into(),
        }
    }
}

/// The form filled from a stored note.
pub fn form_of(n: &Note) -> NoteForm {
    NoteForm {
        title: n.title.clone(),
        body: n.body.clone(),
        tags: n.tags.join(", "),
        pinned: n.pinned,
        archived: n.archived,
        version: n.version,
    }
}

/// `/notes/<id>/delete`: the confirmation step.
#[derive(Template)]
#[template(path = "notes/delete.html")]
pub struct DeletePage {
    pub layout: Layout,
    pub note: NoteView,
}

/// `/notes/import`, with what was refused and why, and the limits.
#[derive(Template)]
#[template(path = "notes/import.html")]
pub struct ImportPage {
    pub layout: Layout,
    pub error: Option<String>,
    /// Most one import may unpack to, e.g. "20 MiB".
    pub max_total: String,
    /// Most notes a member may keep, e.g. "5,000 notes".
    pub quota: String,
    /// How many the member has, e.g. "12 notes".
    pub have: String,
}
