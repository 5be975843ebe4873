//! Import a zip of Markdown notes (the format `export.rs` writes), within
//! limits: the upload's size (Rocket's `file` limit), what it unpacks to
//! (`unzip.rs`), the member's quota of notes and imports per hour. The zip
//! is checked whole on a blocking thread, keeping nothing, then read again
//! and stored a batch per transaction: an import holds neither the async
//! workers, nor SQLite's write lock for long, nor more than a batch of notes
//! in memory.

use std::time::Duration;

use rocket::data::{self, Data, FromData};
use rocket::form::{Form, FromForm};
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::request::Request;
use rocket::tokio::io::AsyncReadExt;
use rocket::tokio::sync::Semaphore;
use rocket::tokio::task::spawn_blocking;
use rocket::{get, post, routes, Route, State};

use super::repo::{self, Dated};
use super::unzip::{check_zip, notes_at, size_label, Checked};
use super::views::ImportPage;
use super::{plural, NotesConfig};
use crate::db::{Backend, Db, DbPool};
use crate::error::{AppError, AppResult, GuardError};
use crate::session::check_csrf;
use crate::session::CurrentUser;
use crate::web::ratelimit::{self, Limit};
use crate::web::{Layout, Reply};

/// Notes stored per transaction.
const BATCH: usize = 200;
/// On SQLite, the pause between two batches: a writer kept waiting polls
/// for the lock at most every 100 ms, and gets its turn here.
const SQLITE_PAUSE: Duration = Duration::from_millis(100);

/// Imports that run at once in this process; more wait their turn. Each
/// decompresses up to `notes.import_max_bytes` on a blocking thread and
/// holds a batch of notes: this bounds the CPU and memory they take together.
const IMPORTS_AT_ONCE: usize = 2;

/// The turns for [`IMPORTS_AT_ONCE`], managed as state.
pub struct ImportSlots(Semaphore);

impl Default for ImportSlots {
    fn default() -> Self {
        ImportSlots(Semaphore::new(IMPORTS_AT_ONCE))
    }
}

/// The import page, with the limits that apply to this member.
async fn page(
    db: &DbPool,
    cfg: &NotesConfig,
    user_id: i64,
    layout: Layout,
    error: Option<String>,
) -> AppResult<ImportPage> {
    Ok(ImportPage {
        layout,
        error,
        max_total: size_label(cfg.import_max_bytes),
        quota: plural(cfg.quota as usize, "note"),
        have: plural(repo::count(db, user_id).await?.max(0) as usize, "note"),
    })
}

#[get("/notes/import")]
async fn import_page(
    db: &Db,
    cfg: &State<NotesConfig>,
    user: CurrentUser,
    layout: Layout,
) -> AppResult<Reply> {
    Reply::page(&page(db, cfg, user.id, layout, None).await?)
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
        if let Err(e) = check_csrf(req, form.csrf_token.as_deref()).await {
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

/// How storing went: how many were stored, and what stopped the rest.
enum Stored {
    All,
    QuotaReached(usize),
    Failed(usize, AppError),
}

/// Store the zip's notes a batch per transaction, each batch read from
/// the zip on a blocking thread, and stored only if it keeps the member
/// within the quota.
async fn store(db: &DbPool, user_id: i64, zip: &Checked, quota: i64) -> Stored {
    let mut done = 0;
    for files in zip.files.chunks(BATCH) {
        if done > 0 && db.backend == Backend::Sqlite {
            rocket::tokio::time::sleep(SQLITE_PAUSE).await;
        }
        let (bytes, files) = (zip.bytes.clone(), files.to_vec());
        let batch = match spawn_blocking(move || notes_at(&bytes, &files)).await {
            Ok(Ok(batch)) => batch,
            Ok(Err(e)) => return Stored::Failed(done, AppError::Internal(e)),
            Err(e) => return Stored::Failed(done, AppError::Internal(e.to_string())),
        };
        let dated: Vec<Dated<'_>> = batch
            .iter()
            .map(|p| Dated {
                note: &p.note,
                created_at: p.created_at,
                updated_at: p.updated_at,
            })
            .collect();
        match repo::insert_all(db, user_id, &dated, quota).await {
            Ok(true) => done += batch.len(),
            Ok(false) => return Stored::QuotaReached(done),
            Err(e) => return Stored::Failed(done, e),
        }
    }
    Stored::All
}

/// The zip checked on a blocking thread; Err holds what the person is told.
async fn check(bytes: Vec<u8>, max_total: u64) -> AppResult<Result<Checked, String>> {
    spawn_blocking(move || check_zip(bytes, max_total))
        .await
        .map_err(|e| AppError::Internal(format!("import task: {e}")))
}

/// Count an import against the member's imports per hour; Err holds what
/// the person is told when that is one too many.
async fn count_import(
    db: &DbPool,
    cfg: &NotesConfig,
    user_id: i64,
) -> AppResult<Result<(), String>> {
    let limit = Limit {
        max: cfg.imports_per_hour,
        window: 3600,
    };
    match ratelimit::attempt(db, &format!("notes:import:{user_id}"), limit).await {
        Ok(_) => Ok(Ok(())),
        Err(AppError::TooManyRequests { retry_after }) => Ok(Err(format!(
            "You have started {} in the last hour, the most allowed. Nothing was imported. \
             Please try again in {}.",
            plural(cfg.imports_per_hour as usize, "import"),
            plural(((retry_after + 59) / 60).max(1) as usize, "minute"),
        ))),
        Err(e) => Err(e),
    }
}

#[post("/notes/import", data = "<upload>")]
async fn import(
    db: &Db,
    cfg: &State<NotesConfig>,
    slots: &State<ImportSlots>,
    user: CurrentUser,
    layout: Layout,
    upload: Upload,
) -> AppResult<Reply> {
    let refuse = |status: Status, layout: Layout, message: String| async move {
        let page = page(db, cfg, user.id, layout, Some(message)).await?;
        Reply::page_with(status, &page)
    };
    // Every attempt counts, refused ones too: each costs the server work.
    if let Err(message) = count_import(db, cfg, user.id).await? {
        return refuse(Status::TooManyRequests, layout, message).await;
    }
    let _turn = slots
        .0
        .acquire()
        .await
        .map_err(|_| AppError::Unavailable("import slots closed".into()))?;
    let zip = match check(upload.0, cfg.import_max_bytes).await? {
        Ok(zip) => zip,
        Err(message) => return refuse(Status::UnprocessableEntity, layout, message).await,
    };
    let n = zip.files.len();
    let have = repo::count(db, user.id).await?;
    if have + n as i64 > cfg.quota {
        let message = format!(
            "This zip holds {} and you already have {}: a member may keep at most {}. \
             Nothing was imported. Delete some notes, or import fewer.",
            plural(n, "note"),
            plural(have.max(0) as usize, "note"),
            plural(cfg.quota as usize, "note"),
        );
        return refuse(Status::UnprocessableEntity, layout, message).await;
    }
    let (status, message) = match store(db, user.id, &zip, cfg.quota).await {
        Stored::All => {
            return Ok(Reply::success(
                "/notes",
                format!("Imported {}.", plural(n, "note")),
            ));
        }
        Stored::QuotaReached(done) => (
            Status::UnprocessableEntity,
            format!(
                "Imported {done} of the {}; the other {} not imported because you \
                 reached the most notes a member may keep ({}).",
                plural(n, "note"),
                were(n - done),
                cfg.quota,
            ),
        ),
        Stored::Failed(0, e) => return Err(e),
        Stored::Failed(done, e) => {
            log::error!("notes import stopped after {done} of {n}: {e}");
            (
                e.status(),
                format!(
                    "Imported {done} of the {}; then this went wrong: {} The other {} not \
                     imported: import a zip of just those to finish.",
                    plural(n, "note"),
                    e.public_message(),
                    were(n - done),
                ),
            )
        }
    };
    refuse(status, layout, message).await
}

/// "1 was", "3 were".
fn were(n: usize) -> String {
    format!("{n} {}", if n == 1 { "was" } else { "were" })
}

/// The import page and upload.
pub fn routes() -> Vec<Route> {
    routes![import_page, import]
}
