//! Each member's notification choice per room: `all` (unread messages
//! count in the navigation badge, mentions are mailed in the digest),
//! `mentions` (only mentions count and are mailed) or `none` (nothing
//! counts, nothing is mailed; the room list still shows its counts).

use rocket::serde::json::Json;
use rocket::{post, put, routes, FromForm, Route};
use serde::Deserialize;

use super::model::RoomJson;
use super::rules;
use crate::api::json::JsonBody;
use crate::api::{ApiRequest, ApiUser};
use crate::db::{Db, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::{CsrfForm, CurrentUser};
use crate::web::Reply;

/// A notification choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    All,
    Mentions,
    None,
}

impl Notify {
    /// The stored name's choice (None for anything else).
    pub fn parse(s: &str) -> Option<Notify> {
        match s {
            "all" => Some(Notify::All),
            "mentions" => Some(Notify::Mentions),
            "none" => Some(Notify::None),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Notify::All => "all",
            Notify::Mentions => "mentions",
            Notify::None => "none",
        }
    }

    fn from_input(s: &str) -> AppResult<Notify> {
        Notify::parse(s.trim()).ok_or_else(|| {
            let mut errors = FieldErrors::default();
            errors.add("notify", "Choose all, mentions or none.");
            AppError::Validation(errors)
        })
    }
}

/// Store `user_id`'s choice for a room they belong to.
pub async fn set(db: &DbPool, room_id: i64, user_id: i64, choice: Notify) -> AppResult<()> {
    sqlx::query("UPDATE chat_members SET notify = $1 WHERE room_id = $2 AND user_id = $3")
        .bind(choice.as_str())
        .bind(room_id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    super::badge::changed(db, &[], &[user_id]).await;
    Ok(())
}

/// The room page's notification form.
#[derive(Debug, Default, FromForm)]
struct NotifyForm {
    #[field(default = String::new())]
    notify: String,
}

#[post("/chat/rooms/<id>/notify", data = "<form>")]
async fn save(db: &Db, user: CurrentUser, id: i64, form: CsrfForm<NotifyForm>) -> AppResult<Reply> {
    rules::member(db, user.id, id).await?;
    let choice = Notify::from_input(&form.0.notify)?;
    set(db, id, user.id, choice).await?;
    let message = match choice {
        Notify::All => "You will hear of every message in this room.",
        Notify::Mentions => "You will hear only of messages that mention you.",
        Notify::None => "This room is muted: nothing counts or is mailed.",
    };
    Ok(Reply::success(format!("/chat/rooms/{id}"), message))
}

/// `PUT /chat/rooms/{id}/notify`: `{"notify": "mentions"}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NotifyRequest {
    pub notify: Option<String>,
}

impl crate::api::json::Fields for NotifyRequest {
    const FIELDS: &'static [&'static str] = &["notify"];
}

#[put("/chat/rooms/<id>/notify", data = "<body>", rank = 1)]
async fn api_set(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    id: i64,
    body: JsonBody<NotifyRequest>,
) -> AppResult<Json<RoomJson>> {
    rules::member(db, me.0.id, id).await?;
    let choice = Notify::from_input(body.0.notify.as_deref().unwrap_or(""))?;
    set(db, id, me.0.id, choice).await?;
    Ok(Json(rules::visible(db, me.0.id, id).await?.json()))
}

/// The notification page route.
pub fn routes() -> Vec<Route> {
    routes![save]
}

/// The notification API.
pub fn api_routes() -> Vec<Route> {
    routes![api_set]
}
