//! The chat pages' template structs and how a message is shown.

use std::collections::HashMap;

use askama::Template;

use super::messages::Message;
use super::model::{excerpt, link_mentions, MessageForm, MessageJson, ReplyJson, RoomForm};
use super::repo::{Member, Room, RoomSummary};
use crate::error::FieldErrors;
use crate::web::markdown::render_markdown;
use crate::web::text::format_time;
use crate::web::Layout;

/// A message as the pages show it.
pub struct MessageView {
    pub id: i64,
    pub author: String,
    pub created: String,
    pub edited: bool,
    pub deleted: bool,
    /// Rendered Markdown, sanitised, with mentions linked: safe for `|safe`.
    pub html: String,
    pub may_edit: bool,
    pub may_delete: bool,
    /// The message a permalink asked for.
    pub focused: bool,
    /// The message this one replies to.
    pub reply: Option<ReplyJson>,
}

/// The quote of the message `m` replies to (None: not a reply).
pub fn reply_of(m: &Message) -> Option<ReplyJson> {
    if m.reply_to == 0 {
        return None;
    }
    let deleted = m.reply_deleted != 0;
    Some(ReplyJson {
        id: m.reply_to,
        author: if deleted {
            String::new()
        } else {
            m.reply_author.clone()
        },
        excerpt: if deleted {
            String::new()
        } else {
            excerpt(&m.reply_body)
        },
        deleted,
    })
}

/// The quote of `m` itself, for the message box of a reply to it.
pub fn quote(m: &Message) -> ReplyJson {
    ReplyJson {
        id: m.id,
        author: m.author.clone(),
        excerpt: excerpt(&m.body),
        deleted: m.deleted_at != 0,
    }
}

/// The body of `m` as safe HTML (empty once deleted).
pub fn message_html(m: &Message, mentioned: &[String]) -> String {
    if m.deleted_at != 0 {
        return String::new();
    }
    link_mentions(&render_markdown(&m.body), mentioned)
}

/// `m` as JSON (the API and the live stream).
pub fn message_json(m: &Message, mentioned: &[String]) -> MessageJson {
    MessageJson {
        id: m.id,
        room_id: m.room_id,
        author: m.author.clone(),
        body: if m.deleted_at != 0 {
            String::new()
        } else {
            m.body.clone()
        },
        html: message_html(m, mentioned),
        created_at: m.created_at,
        edited: m.edited_at != 0,
        deleted: m.deleted_at != 0,
        reply_to: reply_of(m),
    }
}

/// Who is looking, for the edit and delete links.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub user_id: i64,
    pub room_admin: bool,
    pub room_open: bool,
}

impl MessageView {
    /// `m` as `viewer` sees it.
    pub fn of(
        m: &Message,
        mentions: &HashMap<i64, Vec<String>>,
        viewer: Viewer,
        focus: Option<i64>,
    ) -> MessageView {
        let live = m.deleted_at == 0 && viewer.room_open;
        let own = m.user_id == viewer.user_id;
        MessageView {
            id: m.id,
            author: m.author.clone(),
            created: format_time(m.created_at),
            edited: m.edited_at != 0,
            deleted: m.deleted_at != 0,
            html: message_html(m, mentions.get(&m.id).map_or(&[], Vec::as_slice)),
            may_edit: live && own,
            may_delete: live && (own || viewer.room_admin),
            focused: focus == Some(m.id),
            reply: reply_of(m),
        }
    }
}

/// `/chat`: the member's rooms and the open rooms they may join.
#[derive(Template)]
#[template(path = "chat/index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub rooms: Vec<RoomSummary>,
    pub to_join: Vec<Room>,
}

/// `/chat/rooms/<id>`.
#[derive(Template)]
#[template(path = "chat/room.html")]
pub struct RoomPage {
    pub layout: Layout,
    pub room: Room,
    pub is_member: bool,
    pub is_admin: bool,
    pub messages: Vec<MessageView>,
    pub older: Option<i64>,
    pub newer: Option<i64>,
    pub form: MessageForm,
    pub errors: FieldErrors,
    pub max_length: usize,
    /// The message the message box replies to.
    pub replying: Option<ReplyJson>,
    /// The member's notification choice (empty for a non-member).
    pub notify: String,
}

/// `/chat/new` and the room settings.
#[derive(Template)]
#[template(path = "chat/room_form.html")]
pub struct RoomFormPage {
    pub layout: Layout,
    pub room: Option<Room>,
    pub form: RoomForm,
    pub archived: bool,
    pub errors: FieldErrors,
}

/// `/chat/rooms/<id>/members`.
#[derive(Template)]
#[template(path = "chat/members.html")]
pub struct MembersPage {
    pub layout: Layout,
    pub room: Room,
    pub is_admin: bool,
    pub me: i64,
    pub members: Vec<Member>,
    pub username: String,
    pub errors: FieldErrors,
}

/// `/chat/messages/<id>/edit`.
#[derive(Template)]
#[template(path = "chat/edit.html")]
pub struct EditPage {
    pub layout: Layout,
    pub message: MessageView,
    pub room_id: i64,
    pub form: MessageForm,
    pub errors: FieldErrors,
    pub max_length: usize,
}

/// `/chat/messages/<id>/delete`: the confirmation.
#[derive(Template)]
#[template(path = "chat/delete.html")]
pub struct DeletePage {
    pub layout: Layout,
    pub message: MessageView,
    pub room_id: i64,
}

/// `/chat/people/<username>`.
#[derive(Template)]
#[template(path = "chat/person.html")]
pub struct PersonPage {
    pub layout: Layout,
    pub username: String,
    pub is_me: bool,
    pub shared: Vec<Room>,
}

/// `/chat/direct`: open a direct conversation.
#[derive(Template)]
#[template(path = "chat/direct.html")]
pub struct DirectPage {
    pub layout: Layout,
    pub usernames: String,
    pub errors: FieldErrors,
}

/// A search result as the page shows it.
pub struct SearchHit {
    pub id: i64,
    pub room_id: i64,
    pub room_name: String,
    pub author: String,
    pub created: String,
    pub excerpt: String,
}

/// `/chat/search`: within a room (`room`) or across the member's rooms.
#[derive(Template)]
#[template(path = "chat/search.html")]
pub struct SearchPage {
    pub layout: Layout,
    pub q: String,
    /// Whether the text had anything to search for.
    pub searched: bool,
    pub room: Option<Room>,
    pub hits: Vec<SearchHit>,
    /// The cursor of the next (older) page.
    pub older: Option<i64>,
}
