//! Export all my notes as a zip of Markdown files with front matter, and
//! import the same format back.
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

use std::io::{Cursor, Read, Write};

use rocket::data::{self, Data, FromData};
use rocket::form::{Form, FromForm};
use rocket::fs::TempFile;
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::tokio::io::AsyncReadExt;
use rocket::{get, post, routes, Route};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::model::{NoteInput, BODY_MAX};
use super::repo::{self, Note};
use super::views::ImportPage;
use crate::auth::CurrentUser;
use crate::db::{begin_write, now, Db};
use crate::error::{AppError, AppResult, GuardError};
use crate::web::{check_csrf, Layout, Reply};

/// Most files one import reads.
const FILES_MAX: usize = 5_000;
/// Largest file inside the zip, uncompressed (the body limit plus room for
/// the front matter); guards against zip bombs.
const FILE_BYTES_MAX: u64 = (BODY_MAX as u64) * 4 + 16_384;

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
        .map(|t| t.unix_timestamp())
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

/// The zip of all `notes`.
pub fn zip_notes(notes: &[Note]) -> AppResult<Vec<u8>> {
    let err = |e: &dyn std::fmt::Display| AppError::Internal(format!("zip: {e}"));
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for n in notes {
        zip.start_file(file_name(n), options).map_err(|e| err(&e))?;
        zip.write_all(to_markdown(n).as_bytes())
            .map_err(|e| err(&e))?;
    }
    Ok(zip.finish().map_err(|e| err(&e))?.into_inner())
}

/// Every `.md` file of a zip, parsed; the first problem refuses the lot.
pub fn unzip_notes(bytes: Vec<u8>) -> Result<Vec<Parsed>, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| "This is not a zip file.".to_string())?;
    if archive.len() > FILES_MAX {
        return Err(format!("The zip holds more than {FILES_MAX} files."));
    }
    let mut notes = Vec::new();
    for i in 0..archive.len() {
        let file = archive
            .by_index(i)
            .map_err(|e| format!("The zip cannot be read: {e}."))?;
        let name = file
            .name()
            .map_err(|_| "A file name in the zip cannot be read.".to_string())?
            .to_string();
        if file.is_dir() || !name.to_ascii_lowercase().ends_with(".md") {
            continue;
        }
        let mut raw = Vec::new();
        file.take(FILE_BYTES_MAX + 1)
            .read_to_end(&mut raw)
            .map_err(|e| format!("{name}: cannot be read: {e}"))?;
        if raw.len() as u64 > FILE_BYTES_MAX {
            return Err(format!("{name}: the file is too large."));
        }
        let text = String::from_utf8(raw).map_err(|_| format!("{name}: not UTF-8 text"))?;
        notes.push(from_markdown(&name, &text)?);
    }
    Ok(notes)
}

/// A zip download.
pub struct ZipFile(Vec<u8>);

impl<'r> Responder<'r, 'static> for ZipFile {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .header(ContentType::ZIP)
            .header(Header::new(
                "Content-Disposition",
                "attachment; filename=\"notes.zip\"",
            ))
            .header(Header::new("Cache-Control", "no-store"))
            .sized_body(self.0.len(), Cursor::new(self.0))
            .ok()
    }
}

#[get("/notes/export")]
async fn export(db: &Db, user: CurrentUser) -> AppResult<ZipFile> {
    let notes = repo::all(db, user.id).await?;
    Ok(ZipFile(zip_notes(&notes)?))
}

#[get("/notes/import")]
fn import_page(_user: CurrentUser, layout: Layout) -> AppResult<Reply> {
    Reply::page(&ImportPage {
        layout,
        error: None,
    })
}

#[derive(FromForm)]
struct ImportForm<'r> {
    csrf_token: Option<String>,
    file: TempFile<'r>,
}

/// The import form (multipart, so `CsrfForm` cannot read it): the CSRF
/// token is checked here. The upload is held to Rocket's `file` limit.
struct Upload(Vec<u8>);

#[rocket::async_trait]
impl<'r> FromData<'r> for Upload {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let fail = |e: AppError| data::Outcome::Error((GuardError::stash(req, e), ()));
        if !req.content_type().is_some_and(|ct| ct.is_form_data()) {
            return fail(AppError::UnsupportedMediaType);
        }
        let form = match Form::<ImportForm<'r>>::from_data(req, data).await {
            data::Outcome::Success(f) => f.into_inner(),
            _ => {
                return fail(AppError::BadRequest(
                    "Choose a zip file to import (at most 1 MiB).".into(),
                ))
            }
        };
        if let Err(e) = check_csrf(req, form.csrf_token.as_deref()) {
            return fail(e);
        }
        let mut bytes = Vec::new();
        let read = match form.file.open().await {
            Ok(mut f) => f.read_to_end(&mut bytes).await.map(|_| ()),
            Err(e) => Err(e),
        };
        match read {
            Ok(()) => data::Outcome::Success(Upload(bytes)),
            Err(e) => fail(AppError::Internal(format!("reading the upload: {e}"))),
        }
    }
}

#[post("/notes/import", data = "<upload>")]
async fn import(db: &Db, user: CurrentUser, layout: Layout, upload: Upload) -> AppResult<Reply> {
    let notes = match unzip_notes(upload.0) {
        Ok(n) => n,
        Err(error) => {
            return Reply::page_with(
                Status::UnprocessableEntity,
                &ImportPage {
                    layout,
                    error: Some(error),
                },
            )
        }
    };
    let mut tx = begin_write(db).await?;
    for p in &notes {
        repo::insert(&mut tx, user.id, &p.note, p.created_at, p.updated_at).await?;
    }
    tx.commit().await?;
    let n = notes.len();
    Ok(Reply::success(
        "/notes",
        format!("Imported {n} note{}.", if n == 1 { "" } else { "s" }),
    ))
}

/// Export and import.
pub fn routes() -> Vec<Route> {
    routes![export, import_page, import]
}
