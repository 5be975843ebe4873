//! Block and mute: the buttons' form handlers (`/members/<username>/…`,
//! CSRF-checked, back to where the button was) and the JSON API
//! (`POST`/`DELETE /members/{username}/block` and `/mute`).

use rocket::form::FromForm;
use rocket::serde::json::Json;
use rocket::{delete, post, routes, Route};
use serde_json::{json, Value};

use super::relations::{self, Member};
use crate::api::{ApiRequest, ApiUser};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::session::{CsrfForm, CurrentUser};
use crate::web::{enc, local_path, Reply};

/// A button's form: where to go back to (the member's blog page when absent).
#[derive(Debug, FromForm)]
struct BackForm {
    next: Option<String>,
}

#[derive(Clone, Copy)]
enum Change {
    Block(bool),
    Mute(bool),
}

impl Change {
    fn message(self, name: &str) -> String {
        match self {
            Change::Block(true) => format!("You blocked {name}."),
            Change::Block(false) => format!("You unblocked {name}."),
            Change::Mute(true) => format!("You muted {name}."),
            Change::Mute(false) => format!("You unmuted {name}."),
        }
    }
}

async fn apply(db: &Db, me: i64, other: &Member, change: Change) -> AppResult<()> {
    match change {
        Change::Block(on) => relations::set_block(db, me, other.id, on).await,
        Change::Mute(on) => relations::set_mute(db, me, other.id, on).await,
    }
}

async fn press(
    db: &Db,
    me: &CurrentUser,
    username: &str,
    change: Change,
    form: BackForm,
) -> AppResult<Reply> {
    let other = relations::member(db, username).await?;
    let back = form
        .next
        .as_deref()
        .and_then(local_path)
        .unwrap_or_else(|| format!("/blog/author/{}", enc(&other.username)));
    match apply(db, me.id, &other, change).await {
        Ok(()) => Ok(Reply::success(back, change.message(&other.username))),
        Err(AppError::Validation(errors)) => Ok(Reply::failure(
            back,
            errors.get("username").unwrap_or("You cannot do that."),
        )),
        Err(e) => Err(e),
    }
}

#[post("/members/<username>/block", data = "<form>", rank = 2)]
async fn block(
    db: &Db,
    me: CurrentUser,
    username: &str,
    form: CsrfForm<BackForm>,
) -> AppResult<Reply> {
    press(db, &me, username, Change::Block(true), form.0).await
}

#[post("/members/<username>/unblock", data = "<form>", rank = 2)]
async fn unblock(
    db: &Db,
    me: CurrentUser,
    username: &str,
    form: CsrfForm<BackForm>,
) -> AppResult<Reply> {
    press(db, &me, username, Change::Block(false), form.0).await
}

#[post("/members/<username>/mute", data = "<form>", rank = 2)]
async fn mute(
    db: &Db,
    me: CurrentUser,
    username: &str,
    form: CsrfForm<BackForm>,
) -> AppResult<Reply> {
    press(db, &me, username, Change::Mute(true), form.0).await
}

#[post("/members/<username>/unmute", data = "<form>", rank = 2)]
async fn unmute(
    db: &Db,
    me: CurrentUser,
    username: &str,
    form: CsrfForm<BackForm>,
) -> AppResult<Reply> {
    press(db, &me, username, Change::Mute(false), form.0).await
}

async fn api_change(
    db: &Db,
    me: &ApiUser,
    username: &str,
    change: Change,
) -> AppResult<Json<Value>> {
    let other = relations::member(db, username).await?;
    apply(db, me.0.id, &other, change).await?;
    let r = relations::relation(db, me.0.id, other.id).await?;
    Ok(Json(json!({
        "username": other.username,
        "blocked": r.blocked,
        "muted": r.muted,
    })))
}

#[post("/members/<username>/block", rank = 1)]
async fn api_block(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    username: &str,
) -> AppResult<Json<Value>> {
    api_change(db, &me, username, Change::Block(true)).await
}

#[delete("/members/<username>/block", rank = 1)]
async fn api_unblock(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    username: &str,
) -> AppResult<Json<Value>> {
    api_change(db, &me, username, Change::Block(false)).await
}

#[post("/members/<username>/mute", rank = 1)]
async fn api_mute(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    username: &str,
) -> AppResult<Json<Value>> {
    api_change(db, &me, username, Change::Mute(true)).await
}

#[delete("/members/<username>/mute", rank = 1)]
async fn api_unmute(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    username: &str,
) -> AppResult<Json<Value>> {
    api_change(db, &me, username, Change::Mute(false)).await
}

/// The form handlers.
pub fn routes() -> Vec<Route> {
    routes![block, unblock, mute, unmute]
}

/// The JSON API routes.
pub fn api_routes() -> Vec<Route> {
    routes![api_block, api_unblock, api_mute, api_unmute]
}
