//! The notes pages: list, view, create, edit (with a version check) and
//! delete (with a confirmation step). They rank 2: the JSON API's routes
//! on the same paths (see `api.rs`) are tried first.

use rocket::http::Status;
use rocket::{get, post, routes, FromForm, Route, State};

use super::cache::NotesCache;
use super::model::NoteForm;
use super::repo::{self, Saved};
use super::search::{self, ListQuery};
use super::views::{form_of, DeletePage, FormPage, ListPage, NoteView, ShowPage};
use super::{quota_reached, NotesConfig};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::CurrentUser;
use crate::session::{CsrfForm, NoFields};
use crate::web::paging::{Pager, Paging};
use crate::web::text::split_tags;
use crate::web::{Layout, Reply};

/// Notes per page of the list.
pub const PAGE_SIZE: i64 = 20;

/// The list's query string, as sent (each part optional; one that does
/// not parse counts as absent).
#[derive(FromForm)]
struct ListParams {
    q: Option<String>,
    tag: Option<String>,
    archived: Option<bool>,
    page: Option<i64>,
}

#[get("/notes?<params..>", rank = 2)]
async fn list(
    db: &Db,
    cache: &State<NotesCache>,
    user: CurrentUser,
    layout: Layout,
    params: ListParams,
) -> AppResult<Reply> {
    let q = search::terms(params.q.as_deref().unwrap_or("")).join(" ");
    let tag = params
        .tag
        .map(|t| split_tags(&t).into_iter().next().unwrap_or_default())
        .unwrap_or_default();
    let archived = params.archived.unwrap_or(false);
    let paging = Paging::page(params.page, PAGE_SIZE);
    let query = ListQuery {
        q: q.clone(),
        tag: (!tag.is_empty()).then(|| tag.clone()),
        archived,
        limit: paging.limit,
        offset: paging.offset,
        owner_tags: true,
    };
    let listed = cache.list(db, user.id, &query).await?;
    let pager = Pager::new(ListPage::base(&q, &tag, archived), paging, listed.total);
    Reply::page(&ListPage {
        layout,
        notes: listed.notes.iter().map(NoteView::summary).collect(),
        q,
        tag,
        tags: listed.tags.clone(),
        archived,
        pager,
    })
}

#[get("/notes/new")]
fn new_note(_user: CurrentUser, layout: Layout) -> AppResult<Reply> {
    Reply::page(&FormPage {
        layout,
        id: None,
        form: NoteForm::default(),
        errors: FieldErrors::default(),
        stored: None,
    })
}

#[post("/notes", data = "<form>", rank = 2)]
async fn create(
    db: &Db,
    cfg: &State<NotesConfig>,
    user: CurrentUser,
    layout: Layout,
    form: CsrfForm<NoteForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let note = match form.validate() {
        Ok(n) => n,
        Err(errors) => {
            return Reply::page_with(
                Status::UnprocessableEntity,
                &FormPage {
                    layout,
                    id: None,
                    form,
                    errors,
                    stored: None,
                },
            )
        }
    };
    match repo::create(db, user.id, &note, cfg.quota).await? {
        Some(id) => Ok(Reply::success(format!("/notes/{id}"), "Note saved.")),
        None => Reply::page_with(
            Status::UnprocessableEntity,
            &FormPage {
                layout,
                id: None,
                form,
                errors: quota_reached(cfg),
                stored: None,
            },
        ),
    }
}

#[get("/notes/<id>", rank = 2)]
async fn show(
    db: &Db,
    cache: &State<NotesCache>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
) -> AppResult<Reply> {
    let note = cache.owned(db, user.id, id).await?;
    Reply::page(&ShowPage {
        layout,
        note: NoteView::full(&note),
    })
}

#[get("/notes/<id>/edit")]
async fn edit(
    db: &Db,
    cache: &State<NotesCache>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
) -> AppResult<Reply> {
    let note = cache.owned(db, user.id, id).await?;
    Reply::page(&FormPage {
        layout,
        id: Some(id),
        form: form_of(&note),
        errors: FieldErrors::default(),
        stored: None,
    })
}

/// Save an edit. A save from a stale page (someone saved since) answers
/// 409 with both texts and nothing stored; the form then carries the
/// stored version, so saving again is a deliberate overwrite.
#[post("/notes/<id>/edit", data = "<form>")]
async fn save(
    db: &Db,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    form: CsrfForm<NoteForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let note = match form.validate() {
        Ok(n) => n,
        Err(errors) => {
            // Only the owner may even learn that the id exists.
            repo::get(db, user.id, id)
                .await?
                .ok_or(AppError::NotFound)?;
            return Reply::page_with(
                Status::UnprocessableEntity,
                &FormPage {
                    layout,
                    id: Some(id),
                    form,
                    errors,
                    stored: None,
                },
            );
        }
    };
    match repo::update(db, user.id, id, form.version, &note).await? {
        Saved::Version(_) => Ok(Reply::success(format!("/notes/{id}"), "Note saved.")),
        Saved::NotFound => Err(AppError::NotFound),
        Saved::Conflict(stored) => {
            let form = NoteForm {
                version: stored.version,
                ..form
            };
            Reply::page_with(
                Status::Conflict,
                &FormPage {
                    layout,
                    id: Some(id),
                    form,
                    errors: FieldErrors::default(),
                    stored: Some(*stored),
                },
            )
        }
    }
}

#[get("/notes/<id>/delete")]
async fn confirm_delete(
    db: &Db,
    cache: &State<NotesCache>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
) -> AppResult<Reply> {
    let note = cache.owned(db, user.id, id).await?;
    Reply::page(&DeletePage {
        layout,
        note: NoteView::summary(&note),
    })
}

#[post("/notes/<id>/delete", data = "<_form>")]
async fn delete(
    db: &Db,
    user: CurrentUser,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    if !repo::delete(db, user.id, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(Reply::success("/notes", "Note deleted."))
}

/// The notes pages.
pub fn routes() -> Vec<Route> {
    routes![
        list,
        new_note,
        create,
        show,
        edit,
        save,
        confirm_delete,
        delete
    ]
}
