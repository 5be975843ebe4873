//! Export all my notes as a zip of Markdown files with front matter (the
//! format `import.rs` reads back).
//!
//! Each file is:
//! ```text
//! ---
//! title: "A JSON string"
//! tags: ["a", "b"]
//! pinned: false
//! archived: false
//! created: 2026-11-25T14:00:00Z
//! updated: 2026-11-25T14:00:00Z
//! ---
//! the body, exactly as stored
//! ```
//! Title and tags are JSON, which YAML reads too, so any character
//! survives the round trip.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};

use rocket::http::{ContentType, Header};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::{get, routes, Route};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use zip::ZipWriter;

use super::model::NoteInput;
use super::repo::{self, Note};
use crate::db::{now, Db, DbPool};
use crate::error::{AppError, AppResult};
use crate::session::CurrentUser;

/// Notes read from the database, and compressed, per step of an export.
const EXPORT_PAGE: i64 = 200;

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// One note as a Markdown file with front matter.
pub fn to_markdown(n: &Note) -> String {
    format!(
        "---\ntitle: {}\ntags: {}\npinned: {}\narchived: {}\ncreated: {}\nupdated: {}\n---\n{}",
        serde_json::to_string(&n.title).unwrap_or_default(),
        serde_json::to_string(&n.tags).unwrap_or_default(),
        n.pinned,
        n.archived,
        rfc3339(n.created_at),
        rfc3339(n.updated_at),
        n.body
    )
}

/// A note read back from a file: its fields and times.
#[derive(Debug)]
pub struct Parsed {
    pub note: NoteInput,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Read one file written by [`to_markdown`]. A file without front matter
/// is taken as a body, titled after the file name.
pub fn from_markdown(name: &str, text: &str) -> Result<Parsed, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let fallback_title = name
        .rsplit('/')
        .next()
        .unwrap_or(name)
        .trim_end_matches(".md");
    let (front, body) = match text.strip_prefix("---\n") {
        Some(rest) => match rest.find("\n---\n") {
            Some(end) => (&rest[..end], &rest[end + 5..]),
            None if rest.ends_with("\n---") => (&rest[..rest.len() - 4], ""),
            None => return Err(format!("{name}: the front matter has no closing ---")),
        },
        None => ("", text),
    };
    let mut title = fallback_title.to_string();
    let mut tags = Vec::new();
    let (mut pinned, mut archived) = (false, false);
    let t = now();
    let (mut created_at, mut updated_at) = (t, t);
    let bad = |key: &str| format!("{name}: cannot read `{key}`");
    for line in front.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| format!("{name}: front matter line without a colon"))?;
        let value = value.trim();
        match key.trim() {
            "title" => title = serde_json::from_str(value).map_err(|_| bad("title"))?,
            "tags" => tags = serde_json::from_str(value).map_err(|_| bad("tags"))?,
            "pinned" => pinned = value.parse().map_err(|_| bad("pinned"))?,
            "archived" => archived = value.parse().map_err(|_| bad("archived"))?,
            "created" => created_at = parse_time(value).ok_or_else(|| bad("created"))?,
            "updated" => updated_at = parse_time(value).ok_or_else(|| bad("updated"))?,
            _ => {}
        }
    }
    let note = NoteInput::validate(&title, body, tags, pinned, archived).map_err(|e| {
        let messages: Vec<String> = e.0.values().cloned().collect();
        format!("{name}: {}", messages.join(" "))
    })?;
    Ok(Parsed {
        note,
        created_at,
        updated_at,
    })
}

fn parse_time(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

fn file_name(n: &Note) -> String {
    let slug: String = n
        .title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug: Vec<&str> = slug.split('-').filter(|s| !s.is_empty()).collect();
    let slug: String = slug.join("-").chars().take(50).collect();
    format!(
        "{:06}-{}.md",
        n.id,
        if slug.is_empty() { "note" } else { &slug }
    )
}

/// Run `f` on a blocking thread: compressing and file writes stay off the
/// async workers that answer everyone's requests.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> AppResult<T> {
    rocket::tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(format!("export task: {e}")))?
        .map_err(|e| AppError::Internal(format!("export: {e}")))
}

fn add_notes(zip: &mut ZipWriter<File>, notes: &[Note]) -> Result<(), String> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for n in notes {
        zip.start_file(file_name(n), options)
            .map_err(|e| e.to_string())?;
        zip.write_all(to_markdown(n).as_bytes())
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The zip of every note of `user_id`, written to an anonymous temporary
/// file (gone when closed) a page of notes at a time, so memory stays
/// bounded however many notes there are. Returned rewound, with its length.
pub async fn zip_notes(db: &DbPool, user_id: i64) -> AppResult<(File, u64)> {
    let file = blocking(|| tempfile::tempfile().map_err(|e| e.to_string())).await?;
    let mut zip = ZipWriter::new(file);
    let mut after = 0;
    loop {
        let page = repo::page_after(db, user_id, after, EXPORT_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        zip = blocking(move || add_notes(&mut zip, &page).map(|()| zip)).await?;
    }
    blocking(move || {
        let mut file = zip.finish().map_err(|e| e.to_string())?;
        let len = file.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
        file.rewind().map_err(|e| e.to_string())?;
        Ok((file, len))
    })
    .await
}

/// A zip download, streamed from its file.
pub struct ZipFile(File, u64);

impl<'r> Responder<'r, 'static> for ZipFile {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let len = usize::try_from(self.1).ok();
        Response::build()
            .header(ContentType::ZIP)
            .header(Header::new(
                "Content-Disposition",
                "attachment; filename=\"notes.zip\"",
            ))
            .header(Header::new("Cache-Control", "no-store"))
            .sized_body(len, rocket::tokio::fs::File::from_std(self.0))
            .ok()
    }
}

#[get("/notes/export")]
async fn export(db: &Db, user: CurrentUser) -> AppResult<ZipFile> {
    let (file, len) = zip_notes(db, user.id).await?;
    Ok(ZipFile(file, len))
}

/// The export.
pub fn routes() -> Vec<Route> {
    routes![export]
}
