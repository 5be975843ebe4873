//! The notes JSON API: `GET/POST /notes`, `GET/PUT/DELETE /notes/{id}`,
//! bearer tokens only. Rank 1 with the `ApiRequest` guard, so a page
//! request falls through to the HTML route on the same path.

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route, State};
use serde_json::{json, Value};

use super::model::{NoteInput, NoteJson, NotePage, NoteRequest};
use super::repo::{self, Saved};
use super::search::{self, ListQuery};
use super::{quota_reached, NotesConfig};
use crate::api::json::JsonBody;
use crate::api::{ApiRequest, ApiUser};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::web::paging::PageQuery;
use crate::web::text::split_tags;

/// Most notes one page of `GET /notes` holds.
const PER_PAGE_MAX: i64 = 100;

#[get("/notes?<q>&<tag>&<archived>&<paging..>", format = "json", rank = 1)]
async fn list(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    q: Option<&str>,
    tag: Option<&str>,
    archived: Option<bool>,
    paging: PageQuery<'_>,
) -> AppResult<Json<NotePage>> {
    let mut errors = FieldErrors::default();
    let paging = paging.paging(20, PER_PAGE_MAX, &mut errors);
    errors.into_result()?;
    let query = ListQuery {
        q: q.unwrap_or("").to_string(),
        tag: tag.and_then(|t| split_tags(t).into_iter().next()),
        archived: archived.unwrap_or(false),
        limit: paging.limit,
        offset: paging.offset,
        owner_tags: false,
    };
    let search::Listed { notes, total, .. } = search::list(db, me.0.id, &query).await?;
    Ok(Json(NotePage {
        notes: notes.into_iter().map(Into::into).collect(),
        page: paging.page,
        per_page: paging.limit,
        total,
    }))
}

#[post("/notes", data = "<body>", rank = 1)]
async fn create(
    _api: ApiRequest,
    db: &Db,
    cfg: &State<NotesConfig>,
    me: ApiUser,
    body: JsonBody<NoteRequest>,
) -> AppResult<(Status, Json<NoteJson>)> {
    let JsonBody(b) = body;
    let note = NoteInput::validate(
        b.title.as_deref().unwrap_or(""),
        b.body.as_deref().unwrap_or(""),
        b.tags.unwrap_or_default(),
        b.pinned.unwrap_or(false),
        b.archived.unwrap_or(false),
    )
    .map_err(AppError::Validation)?;
    let id = repo::create(db, me.0.id, &note, cfg.quota)
        .await?
        .ok_or_else(|| AppError::Validation(quota_reached(cfg)))?;
    let saved = repo::get(db, me.0.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((Status::Created, Json(saved.into())))
}

#[get("/notes/<id>", format = "json", rank = 1)]
async fn show(_api: ApiRequest, db: &Db, me: ApiUser, id: i64) -> AppResult<Json<NoteJson>> {
    let note = repo::get(db, me.0.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(note.into()))
}

/// Save over `version`. A stale version answers 409 with the stored note,
/// so the client can show both texts; nothing is overwritten.
#[put("/notes/<id>", data = "<body>", rank = 1)]
async fn update(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    body: JsonBody<NoteRequest>,
) -> AppResult<Result<Json<NoteJson>, Custom<Json<Value>>>> {
    let JsonBody(b) = body;
    let current = repo::get(db, me.0.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(version) = b.version else {
        let mut errors = FieldErrors::default();
        errors.add("version", "Send the version you are editing.");
        return Err(AppError::Validation(errors));
    };
    let note = NoteInput::validate(
        b.title.as_deref().unwrap_or(&current.title),
        b.body.as_deref().unwrap_or(&current.body),
        b.tags.unwrap_or(current.tags),
        b.pinned.unwrap_or(current.pinned),
        b.archived.unwrap_or(current.archived),
    )
    .map_err(AppError::Validation)?;
    match repo::update(db, me.0.id, id, version, &note).await? {
        Saved::Version(_) => {
            let saved = repo::get(db, me.0.id, id)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(Ok(Json(saved.into())))
        }
        Saved::NotFound => Err(AppError::NotFound),
        Saved::Conflict(stored) => Ok(Err(Custom(
            Status::Conflict,
            Json(json!({
                "error": "conflict",
                "message": "The note was changed since that version. Nothing was saved.",
                "current": NoteJson::from(*stored),
            })),
        ))),
    }
}

#[delete("/notes/<id>", rank = 1)]
async fn remove(_api: ApiRequest, db: &Db, me: ApiUser, id: i64) -> AppResult<Status> {
    if !repo::delete(db, me.0.id, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(Status::NoContent)
}

/// The notes JSON routes.
pub fn routes() -> Vec<Route> {
    routes![list, create, show, update, remove]
}
