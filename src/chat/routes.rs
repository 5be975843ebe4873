//! The chat pages. Every one works without JavaScript: posting is a form
//! that redirects back to the room. Routes on paths the JSON API shares
//! rank 2 (the API's rank 1 routes take API requests first).

use rocket::http::{ContentType, Status};
use rocket::{get, post, routes, FromForm, Route, State};

use super::messages::{self, Cursor};
use super::model::{mentions, validate_body, MessageForm, ReplyJson, RoomForm};
use super::repo::{self, Access};
use super::rules::{self, announce};
use super::views::{
    quote, DeletePage, EditPage, IndexPage, MessageView, PersonPage, RoomFormPage, RoomPage, Viewer,
};
use super::ChatConfig;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::{CsrfForm, CurrentUser, NoFields};
use crate::web::ratelimit::{self, Limit};
use crate::web::{Layout, Reply};

/// Messages per page of history.
pub const PAGE_SIZE: i64 = 50;

#[get("/chat")]
async fn index(db: &Db, user: CurrentUser, layout: Layout) -> AppResult<Reply> {
    Reply::page(&IndexPage {
        layout,
        rooms: repo::my_rooms(db, user.id).await?,
        to_join: repo::rooms_to_join(db, user.id).await?,
    })
}

#[get("/chat/new")]
fn new_room(_user: CurrentUser, layout: Layout) -> AppResult<Reply> {
    Reply::page(&RoomFormPage {
        layout,
        room: None,
        form: RoomForm::default(),
        archived: false,
        errors: FieldErrors::default(),
    })
}

#[post("/chat/rooms", data = "<form>", rank = 2)]
async fn create_room(
    db: &Db,
    user: CurrentUser,
    layout: Layout,
    form: CsrfForm<RoomForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let created = match form.validate() {
        Ok(input) => repo::create_room(db, user.id, &input).await,
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match created {
        Ok((id, event)) => {
            announce(db, event).await;
            Ok(Reply::success(format!("/chat/rooms/{id}"), "Room created."))
        }
        Err(AppError::Validation(errors)) => Reply::page_with(
            Status::UnprocessableEntity,
            &RoomFormPage {
                layout,
                room: None,
                form,
                archived: false,
                errors,
            },
        ),
        Err(e) => Err(e),
    }
}

/// Where in a room's history a page starts: `around` a message (a
/// permalink), `before` or `after` one; none of them: the latest.
#[derive(Debug, Default, FromForm)]
pub struct History {
    before: Option<i64>,
    after: Option<i64>,
    around: Option<i64>,
    /// The message the message box replies to (`Reply` links).
    reply: Option<i64>,
}

impl History {
    /// The cursor asked for (`around` first, then `before`, then `after`).
    pub fn cursor(&self) -> Cursor {
        match (self.around, self.before, self.after) {
            (Some(id), _, _) => Cursor::Around(id),
            (None, Some(id), _) => Cursor::Before(id),
            (None, None, Some(id)) => Cursor::After(id),
            _ => Cursor::Latest,
        }
    }
}

struct RoomView {
    access: Access,
    cursor: Cursor,
    form: MessageForm,
    errors: FieldErrors,
}

/// The quote above the message box when `form.reply_to` names a message
/// of this room.
async fn replying(db: &Db, room_id: i64, reply_to: i64) -> AppResult<Option<ReplyJson>> {
    if reply_to == 0 {
        return Ok(None);
    }
    Ok(messages::get(db, reply_to)
        .await?
        .filter(|m| m.room_id == room_id)
        .map(|m| quote(&m)))
}

/// Render a room at a cursor; a member's read position moves up to the
/// newest message shown.
async fn render_room(
    db: &Db,
    cfg: &ChatConfig,
    user: &CurrentUser,
    layout: Layout,
    view: RoomView,
    status: Status,
) -> AppResult<Reply> {
    let RoomView {
        access,
        cursor,
        form,
        errors,
    } = view;
    let page = messages::page(db, access.room.id, cursor, PAGE_SIZE).await?;
    let replying = replying(db, access.room.id, form.reply_to).await?;
    if let (true, Some(last)) = (access.is_member(), page.messages.last()) {
        repo::mark_read(db, access.room.id, user.id, last.id).await?;
    }
    let ids: Vec<i64> = page.messages.iter().map(|m| m.id).collect();
    let mentioned = messages::mentions_of(db, &ids).await?;
    let viewer = Viewer {
        user_id: user.id,
        room_admin: access.is_admin(),
        room_open: access.room.archived == 0,
    };
    let focus = match cursor {
        Cursor::Around(id) => Some(id),
        _ => None,
    };
    let views: Vec<MessageView> = page
        .messages
        .iter()
        .map(|m| MessageView::of(m, &mentioned, viewer, focus))
        .collect();
    Reply::page_with(
        status,
        &RoomPage {
            layout,
            is_member: access.is_member(),
            is_admin: access.is_admin(),
            room: access.room.clone(),
            older: page.has_older.then(|| ids.first().copied()).flatten(),
            newer: page.has_newer.then(|| ids.last().copied()).flatten(),
            messages: views,
            form,
            errors,
            max_length: cfg.max_length,
            replying,
            notify: access
                .member
                .as_ref()
                .map_or_else(String::new, |m| m.notify.clone()),
        },
    )
}

#[get("/chat/rooms/<id>?<history..>", rank = 2)]
async fn room(
    db: &Db,
    cfg: &State<ChatConfig>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    history: History,
) -> AppResult<Reply> {
    let access = rules::visible(db, user.id, id).await?;
    let view = RoomView {
        access,
        cursor: history.cursor(),
        form: MessageForm {
            reply_to: history.reply.unwrap_or(0),
            ..MessageForm::default()
        },
        errors: FieldErrors::default(),
    };
    render_room(db, cfg, &user, layout, view, Status::Ok).await
}

#[post("/chat/rooms/<id>/messages", data = "<form>", rank = 2)]
async fn post_message(
    db: &Db,
    cfg: &State<ChatConfig>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    form: CsrfForm<MessageForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let access = rules::member(db, user.id, id).await?;
    rules::writable(&access)?;
    let checked = match validate_body(&form.body, cfg.max_length) {
        Ok(body) => rules::reply_target(db, id, Some(form.reply_to))
            .await
            .map(|reply_to| (body, reply_to)),
        Err(errors) => Err(AppError::Validation(errors)),
    };
    let (body, reply_to) = match checked {
        Ok(checked) => checked,
        Err(AppError::Validation(errors)) => {
            let view = RoomView {
                access,
                cursor: Cursor::Latest,
                form,
                errors,
            };
            let status = Status::UnprocessableEntity;
            return render_room(db, cfg, &user, layout, view, status).await;
        }
        Err(e) => return Err(e),
    };
    let limit = Limit {
        max: cfg.messages_per_minute,
        window: 60,
    };
    ratelimit::attempt(db, &format!("chat:post:{}", user.id), limit).await?;
    let (message_id, event) =
        messages::post(db, id, user.id, &body, &mentions(&body), reply_to).await?;
    announce(db, event).await;
    Ok(Reply::to(format!("/chat/rooms/{id}#m{message_id}")))
}

/// The read form the script sends when new messages were seen live.
#[derive(Debug, Default, FromForm)]
struct ReadForm {
    #[field(default = 0)]
    upto: i64,
}

/// Move the member's read position (the script calls this when it shows
/// new messages in an open, visible room). 204: nothing to show.
#[post("/chat/rooms/<id>/read", data = "<form>")]
async fn mark_read(
    db: &Db,
    user: CurrentUser,
    id: i64,
    form: CsrfForm<ReadForm>,
) -> AppResult<Status> {
    rules::member(db, user.id, id).await?;
    repo::mark_read(db, id, user.id, form.0.upto).await?;
    Ok(Status::NoContent)
}

#[get("/chat/messages/<id>/edit")]
async fn edit(
    db: &Db,
    cfg: &State<ChatConfig>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
) -> AppResult<Reply> {
    let (m, access) = rules::message(db, user.id, id).await?;
    rules::may_edit(user.id, &m, &access)?;
    let viewer = Viewer {
        user_id: user.id,
        room_admin: access.is_admin(),
        room_open: true,
    };
    let mentioned = messages::mentions_of(db, &[m.id]).await?;
    Reply::page(&EditPage {
        layout,
        form: MessageForm {
            body: m.body.clone(),
            ..MessageForm::default()
        },
        message: MessageView::of(&m, &mentioned, viewer, None),
        room_id: m.room_id,
        errors: FieldErrors::default(),
        max_length: cfg.max_length,
    })
}

#[post("/chat/messages/<id>/edit", data = "<form>")]
async fn save_edit(
    db: &Db,
    cfg: &State<ChatConfig>,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    form: CsrfForm<MessageForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let (m, access) = rules::message(db, user.id, id).await?;
    rules::may_edit(user.id, &m, &access)?;
    let body = match validate_body(&form.body, cfg.max_length) {
        Ok(body) => body,
        Err(errors) => {
            let viewer = Viewer {
                user_id: user.id,
                room_admin: access.is_admin(),
                room_open: true,
            };
            let mentioned = messages::mentions_of(db, &[m.id]).await?;
            return Reply::page_with(
                Status::UnprocessableEntity,
                &EditPage {
                    layout,
                    message: MessageView::of(&m, &mentioned, viewer, None),
                    room_id: m.room_id,
                    form,
                    errors,
                    max_length: cfg.max_length,
                },
            );
        }
    };
    if let Some(event) = messages::edit(db, &m, &body, &mentions(&body)).await? {
        announce(db, event).await;
    }
    Ok(Reply::to(format!(
        "/chat/rooms/{}?around={id}#m{id}",
        m.room_id
    )))
}

#[get("/chat/messages/<id>/delete")]
async fn confirm_delete(db: &Db, user: CurrentUser, layout: Layout, id: i64) -> AppResult<Reply> {
    let (m, access) = rules::message(db, user.id, id).await?;
    rules::may_delete(user.id, &m, &access)?;
    let viewer = Viewer {
        user_id: user.id,
        room_admin: access.is_admin(),
        room_open: true,
    };
    let mentioned = messages::mentions_of(db, &[m.id]).await?;
    Reply::page(&DeletePage {
        layout,
        message: MessageView::of(&m, &mentioned, viewer, None),
        room_id: m.room_id,
    })
}

#[post("/chat/messages/<id>/delete", data = "<_form>")]
async fn delete(
    db: &Db,
    user: CurrentUser,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let (m, access) = rules::message(db, user.id, id).await?;
    rules::may_delete(user.id, &m, &access)?;
    if let Some(event) = messages::delete(db, &m).await? {
        announce(db, event).await;
    }
    Ok(Reply::success(
        format!("/chat/rooms/{}?around={id}#m{id}", m.room_id),
        "Message deleted.",
    ))
}

#[get("/chat/people/<username>")]
async fn person(db: &Db, user: CurrentUser, layout: Layout, username: &str) -> AppResult<Reply> {
    let (other, name) = repo::find_user(db, username)
        .await?
        .ok_or(AppError::NotFound)?;
    Reply::page(&PersonPage {
        layout,
        username: name,
        is_me: other == user.id,
        shared: repo::shared_rooms(db, user.id, other).await?,
    })
}

#[get("/static/js/chat.js")]
fn script() -> (ContentType, &'static str) {
    (
        ContentType::JavaScript,
        include_str!("../../static/js/chat.js"),
    )
}

/// The chat pages.
pub fn routes() -> Vec<Route> {
    routes![
        index,
        new_room,
        create_room,
        room,
        post_message,
        mark_read,
        edit,
        save_edit,
        confirm_delete,
        delete,
        person,
        script
    ]
}
