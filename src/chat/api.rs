//! The chat JSON API, bearer tokens only: rooms, members, messages with
//! cursors, read positions. The same rules as the pages (`rules.rs`): a
//! private room is 404 to outsiders. Routes on paths the pages share rank 1
//! with the `ApiRequest` guard. The event stream (`/chat/events`) accepts
//! a bearer token too (`stream.rs`).

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, put, routes, FromForm, Route, State};
use serde_json::{json, Value};

use super::messages::{self, Cursor};
use super::model::{
    mentions, validate_body, MemberJson, MemberRequest, MessageJson, MessageRequest, ReadRequest,
    RoomInput, RoomJson, RoomRequest,
};
use super::repo;
use super::rules::{self, announce};
use super::views::message_json;
use super::ChatConfig;
use crate::api::json::JsonBody;
use crate::api::{ApiRequest, ApiUser};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::web::ratelimit::{self, Limit};

/// Most messages one page of history holds.
const LIMIT_MAX: i64 = 100;

#[get("/chat/rooms", format = "json", rank = 1)]
async fn list(_api: ApiRequest, db: &Db, me: ApiUser) -> AppResult<Json<Value>> {
    let rooms: Vec<RoomJson> = repo::my_rooms(db, me.0.id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let open: Vec<Value> = repo::rooms_to_join(db, me.0.id)
        .await?
        .into_iter()
        .map(|r| json!({"id": r.id, "name": r.name, "topic": r.topic}))
        .collect();
    Ok(Json(json!({"rooms": rooms, "open_rooms": open})))
}

#[post("/chat/rooms", data = "<body>", rank = 1)]
async fn create(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    body: JsonBody<RoomRequest>,
) -> AppResult<(Status, Json<RoomJson>)> {
    let JsonBody(b) = body;
    let input = RoomInput::validate(
        b.name.as_deref().unwrap_or(""),
        b.topic.as_deref().unwrap_or(""),
        b.private.unwrap_or(false),
    )
    .map_err(AppError::Validation)?;
    let (id, event) = repo::create_room(db, me.0.id, &input).await?;
    announce(db, event).await;
    let access = rules::visible(db, me.0.id, id).await?;
    Ok((Status::Created, Json(access.json())))
}

#[get("/chat/rooms/<id>", format = "json", rank = 1)]
async fn show(_api: ApiRequest, db: &Db, me: ApiUser, id: i64) -> AppResult<Json<RoomJson>> {
    Ok(Json(rules::visible(db, me.0.id, id).await?.json()))
}

/// Rename, change the topic, archive or unarchive (room admins).
#[patch("/chat/rooms/<id>", data = "<body>", rank = 1)]
async fn update(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    body: JsonBody<RoomRequest>,
) -> AppResult<Json<RoomJson>> {
    let JsonBody(b) = body;
    let access = rules::admin(db, me.0.id, id).await?;
    let input = RoomInput::validate(
        b.name.as_deref().unwrap_or(&access.room.name),
        b.topic.as_deref().unwrap_or(&access.room.topic),
        access.room.private != 0,
    )
    .map_err(AppError::Validation)?;
    let archived = b.archived.unwrap_or(access.room.archived != 0);
    let event = repo::update_room(db, id, &input, archived).await?;
    announce(db, event).await;
    Ok(Json(rules::visible(db, me.0.id, id).await?.json()))
}

#[get("/chat/rooms/<id>/members", format = "json", rank = 1)]
async fn members(_api: ApiRequest, db: &Db, me: ApiUser, id: i64) -> AppResult<Json<Value>> {
    rules::visible(db, me.0.id, id).await?;
    let members: Vec<MemberJson> = repo::members(db, id)
        .await?
        .into_iter()
        .map(|m| MemberJson {
            user_id: m.user_id,
            username: m.username,
            admin: m.is_admin != 0,
        })
        .collect();
    Ok(Json(json!({ "members": members })))
}

/// Join an open room (your own username, or none) or, as a room admin,
/// add someone.
#[post("/chat/rooms/<id>/members", data = "<body>", rank = 1)]
async fn add_member(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    body: JsonBody<MemberRequest>,
) -> AppResult<Status> {
    let JsonBody(b) = body;
    let access = rules::visible(db, me.0.id, id).await?;
    rules::writable(&access)?;
    let name = b.username.unwrap_or_else(|| me.0.username.clone());
    let (user_id, _) = repo::find_user(db, &name).await?.ok_or_else(|| {
        let mut errors = FieldErrors::default();
        errors.add("username", "No member has this username.");
        AppError::Validation(errors)
    })?;
    if user_id != me.0.id && !access.is_admin() {
        return Err(AppError::Forbidden);
    }
    match repo::add_member(db, id, user_id).await? {
        Some(event) => {
            announce(db, event).await;
            Ok(Status::Created)
        }
        None => Ok(Status::NoContent),
    }
}

/// Leave (your own id) or, as a room admin, remove a member.
#[delete("/chat/rooms/<id>/members/<user_id>", rank = 1)]
async fn remove_member(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    user_id: i64,
) -> AppResult<Status> {
    let access = rules::visible(db, me.0.id, id).await?;
    rules::not_direct(&access)?;
    let allowed = if user_id == me.0.id {
        access.is_member()
    } else {
        access.is_admin()
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    match repo::remove_member(db, id, user_id).await? {
        Some(event) => {
            announce(db, event).await;
            Ok(Status::NoContent)
        }
        None if user_id == me.0.id => Err(AppError::Conflict(
            "You are this room's last admin: make another member admin first.".into(),
        )),
        None => Err(AppError::NotFound),
    }
}

/// A page of history: `before`, `after` or `around` a message id (none:
/// the latest), up to `limit` messages, oldest first.
#[derive(Debug, FromForm)]
struct HistoryQuery {
    before: Option<i64>,
    after: Option<i64>,
    around: Option<i64>,
    limit: Option<i64>,
}

#[get("/chat/rooms/<id>/messages?<q..>", format = "json", rank = 1)]
async fn history(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    q: HistoryQuery,
) -> AppResult<Json<Value>> {
    rules::visible(db, me.0.id, id).await?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=LIMIT_MAX).contains(&limit) {
        let mut errors = FieldErrors::default();
        errors.add("limit", format!("Use a limit from 1 to {LIMIT_MAX}."));
        return Err(AppError::Validation(errors));
    }
    let cursor = match (q.around, q.before, q.after) {
        (Some(m), _, _) => Cursor::Around(m),
        (None, Some(m), _) => Cursor::Before(m),
        (None, None, Some(m)) => Cursor::After(m),
        _ => Cursor::Latest,
    };
    let page = messages::page(db, id, cursor, limit).await?;
    let ids: Vec<i64> = page.messages.iter().map(|m| m.id).collect();
    let mentioned = messages::mentions_of(db, &ids).await?;
    let list: Vec<MessageJson> = page
        .messages
        .iter()
        .map(|m| message_json(m, mentioned.get(&m.id).map_or(&[], Vec::as_slice)))
        .collect();
    Ok(Json(json!({
        "messages": list,
        "has_older": page.has_older,
        "has_newer": page.has_newer,
    })))
}

#[post("/chat/rooms/<id>/messages", data = "<body>", rank = 1)]
async fn send(
    _api: ApiRequest,
    db: &Db,
    cfg: &State<ChatConfig>,
    me: ApiUser,
    id: i64,
    body: JsonBody<MessageRequest>,
) -> AppResult<(Status, Json<MessageJson>)> {
    let JsonBody(b) = body;
    let access = rules::member(db, me.0.id, id).await?;
    rules::writable(&access)?;
    let text = validate_body(b.body.as_deref().unwrap_or(""), cfg.max_length)
        .map_err(AppError::Validation)?;
    let reply_to = rules::reply_target(db, id, b.reply_to).await?;
    let limit = Limit {
        max: cfg.messages_per_minute,
        window: 60,
    };
    ratelimit::attempt(db, &format!("chat:post:{}", me.0.id), limit).await?;
    let (message_id, event) =
        messages::post(db, id, me.0.id, &text, &mentions(&text), reply_to).await?;
    announce(db, event).await;
    Ok((Status::Created, Json(stored(db, message_id).await?)))
}

async fn stored(db: &Db, id: i64) -> AppResult<MessageJson> {
    let m = messages::get(db, id).await?.ok_or(AppError::NotFound)?;
    let mentioned = messages::mentions_of(db, &[id]).await?;
    Ok(message_json(
        &m,
        mentioned.get(&id).map_or(&[], Vec::as_slice),
    ))
}

#[get("/chat/messages/<id>", format = "json", rank = 1)]
async fn message(_api: ApiRequest, db: &Db, me: ApiUser, id: i64) -> AppResult<Json<MessageJson>> {
    rules::message(db, me.0.id, id).await?;
    Ok(Json(stored(db, id).await?))
}

#[patch("/chat/messages/<id>", data = "<body>", rank = 1)]
async fn edit(
    _api: ApiRequest,
    db: &Db,
    cfg: &State<ChatConfig>,
    me: ApiUser,
    id: i64,
    body: JsonBody<MessageRequest>,
) -> AppResult<Json<MessageJson>> {
    let JsonBody(b) = body;
    let (m, access) = rules::message(db, me.0.id, id).await?;
    rules::may_edit(me.0.id, &m, &access)?;
    let text = validate_body(b.body.as_deref().unwrap_or(""), cfg.max_length)
        .map_err(AppError::Validation)?;
    if let Some(event) = messages::edit(db, &m, &text, &mentions(&text)).await? {
        announce(db, event).await;
    }
    Ok(Json(stored(db, id).await?))
}

#[delete("/chat/messages/<id>", rank = 1)]
async fn remove(_api: ApiRequest, db: &Db, me: ApiUser, id: i64) -> AppResult<Status> {
    let (m, access) = rules::message(db, me.0.id, id).await?;
    rules::may_delete(me.0.id, &m, &access)?;
    if let Some(event) = messages::delete(db, &m).await? {
        announce(db, event).await;
    }
    Ok(Status::NoContent)
}

/// Move the caller's read position forward to `last_read_id`.
#[put("/chat/rooms/<id>/read", data = "<body>", rank = 1)]
async fn read(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    body: JsonBody<ReadRequest>,
) -> AppResult<Json<RoomJson>> {
    let JsonBody(b) = body;
    rules::member(db, me.0.id, id).await?;
    let Some(upto) = b.last_read_id else {
        let mut errors = FieldErrors::default();
        errors.add("last_read_id", "Send the id of the last message read.");
        return Err(AppError::Validation(errors));
    };
    repo::mark_read(db, id, me.0.id, upto).await?;
    Ok(Json(rules::visible(db, me.0.id, id).await?.json()))
}

/// The chat JSON routes.
pub fn routes() -> Vec<Route> {
    routes![
        list,
        create,
        show,
        update,
        members,
        add_member,
        remove_member,
        history,
        send,
        message,
        edit,
        remove,
        read
    ]
}
