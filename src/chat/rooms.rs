//! The room pages around the conversation: joining and leaving, the
//! member list with invitations and removals, and the room's settings
//! (name, topic, archive), the last two for room admins.

use rocket::http::Status;
use rocket::{get, post, routes, FromForm, Route};

use super::model::{InviteForm, RoomForm};
use super::repo;
use super::rules::{self, announce};
use super::views::{MembersPage, RoomFormPage};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::{CsrfForm, CurrentUser, NoFields};
use crate::web::{Layout, Reply};

#[post("/chat/rooms/<id>/join", data = "<_form>")]
async fn join(db: &Db, user: CurrentUser, id: i64, _form: CsrfForm<NoFields>) -> AppResult<Reply> {
    let access = rules::visible(db, user.id, id).await?;
    rules::writable(&access)?;
    if let Some(event) = repo::add_member(db, id, user.id).await? {
        announce(db, event).await;
    }
    Ok(Reply::success(
        format!("/chat/rooms/{id}"),
        format!("You joined {}.", access.room.name),
    ))
}

#[post("/chat/rooms/<id>/leave", data = "<_form>")]
async fn leave(db: &Db, user: CurrentUser, id: i64, _form: CsrfForm<NoFields>) -> AppResult<Reply> {
    let access = rules::member(db, user.id, id).await?;
    rules::not_direct(&access)?;
    match repo::remove_member(db, id, user.id).await? {
        Some(event) => {
            announce(db, event).await;
            Ok(Reply::success(
                "/chat",
                format!("You left {}.", access.room.name),
            ))
        }
        None => Ok(Reply::failure(
            format!("/chat/rooms/{id}/members"),
            "You are this room's last admin: make another member admin before you leave.",
        )),
    }
}

#[get("/chat/rooms/<id>/settings")]
async fn settings(db: &Db, user: CurrentUser, layout: Layout, id: i64) -> AppResult<Reply> {
    let access = rules::admin(db, user.id, id).await?;
    let form = RoomForm {
        name: access.room.name.clone(),
        topic: access.room.topic.clone(),
        private: access.room.private != 0,
    };
    Reply::page(&RoomFormPage {
        layout,
        archived: access.room.archived != 0,
        room: Some(access.room),
        form,
        errors: FieldErrors::default(),
    })
}

/// The settings form: the room form plus the archive box.
#[derive(Debug, Default, FromForm)]
struct SettingsForm {
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    topic: String,
    #[field(default = false)]
    archived: bool,
}

#[post("/chat/rooms/<id>/settings", data = "<form>")]
async fn save_settings(
    db: &Db,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    form: CsrfForm<SettingsForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let access = rules::admin(db, user.id, id).await?;
    let room_form = RoomForm {
        name: form.name,
        topic: form.topic,
        private: access.room.private != 0,
    };
    let saved = match room_form.validate() {
        Ok(input) => repo::update_room(db, id, &input, form.archived).await,
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match saved {
        Ok(event) => {
            announce(db, event).await;
            Ok(Reply::success(format!("/chat/rooms/{id}"), "Room saved."))
        }
        Err(AppError::Validation(errors)) => Reply::page_with(
            Status::UnprocessableEntity,
            &RoomFormPage {
                layout,
                room: Some(access.room),
                form: room_form,
                archived: form.archived,
                errors,
            },
        ),
        Err(e) => Err(e),
    }
}

#[get("/chat/rooms/<id>/members", rank = 2)]
async fn members(db: &Db, user: CurrentUser, layout: Layout, id: i64) -> AppResult<Reply> {
    let access = rules::visible(db, user.id, id).await?;
    Reply::page(&MembersPage {
        layout,
        is_admin: access.is_admin(),
        me: user.id,
        members: repo::members(db, id).await?,
        room: access.room,
        username: String::new(),
        errors: FieldErrors::default(),
    })
}

#[post("/chat/rooms/<id>/members", data = "<form>", rank = 2)]
async fn invite(
    db: &Db,
    user: CurrentUser,
    layout: Layout,
    id: i64,
    form: CsrfForm<InviteForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let access = rules::admin(db, user.id, id).await?;
    rules::writable(&access)?;
    let Some((member_id, name)) = repo::find_user(db, &form.username).await? else {
        let mut errors = FieldErrors::default();
        errors.add("username", "No member has this username.");
        return Reply::page_with(
            Status::UnprocessableEntity,
            &MembersPage {
                layout,
                is_admin: true,
                me: user.id,
                members: repo::members(db, id).await?,
                room: access.room,
                username: form.username,
                errors,
            },
        );
    };
    let message = match repo::add_member(db, id, member_id).await? {
        Some(event) => {
            announce(db, event).await;
            format!("{name} was added.")
        }
        None => format!("{name} is a member already."),
    };
    Ok(Reply::success(format!("/chat/rooms/{id}/members"), message))
}

#[post("/chat/rooms/<id>/members/<member>/remove", data = "<_form>")]
async fn remove(
    db: &Db,
    user: CurrentUser,
    id: i64,
    member: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    rules::admin(db, user.id, id).await?;
    let back = format!("/chat/rooms/{id}/members");
    match repo::remove_member(db, id, member).await? {
        Some(event) => {
            announce(db, event).await;
            Ok(Reply::success(back, "The member was removed."))
        }
        None => Ok(Reply::failure(
            back,
            "Not removed: not a member, or the room's last admin.",
        )),
    }
}

#[post("/chat/rooms/<id>/members/<member>/admin", data = "<_form>")]
async fn make_admin(
    db: &Db,
    user: CurrentUser,
    id: i64,
    member: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    rules::admin(db, user.id, id).await?;
    if !repo::make_admin(db, id, member).await? {
        return Err(AppError::NotFound);
    }
    Ok(Reply::success(
        format!("/chat/rooms/{id}/members"),
        "The member is now a room admin.",
    ))
}

/// The membership and settings pages.
pub fn routes() -> Vec<Route> {
    routes![
        join,
        leave,
        settings,
        save_settings,
        members,
        invite,
        remove,
        make_admin
    ]
}
