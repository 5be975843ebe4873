//! Direct messages: a private room of kind `direct` between 2 and
//! [`DIRECT_MAX`] members (the one who opens it included), its membership
//! fixed at creation and no admins (so no rename, topic, invitation, leaving,
//! or deleting another's message). Opening a conversation with the same
//! people again finds the existing one: the room's `dm_key` is the sorted
//! member ids, under a unique index, so two processes opening it at once
//! still make one. To anyone else it is a private room: 404 everywhere.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, FromForm, Route};
use serde::Deserialize;

use super::journal::{begin_chat, record_event, Kind};
use super::model::RoomJson;
use super::repo::{self, DIRECT};
use super::rules::{self, announce};
use super::views::DirectPage;
use crate::api::json::JsonBody;
use crate::api::{ApiRequest, ApiUser};
use crate::db::{is_unique_violation, now, Db, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::{CsrfForm, CurrentUser};
use crate::web::{Layout, Reply};

/// Most members of a direct conversation, its opener included.
pub const DIRECT_MAX: usize = 8;

/// The usernames in `text`: separated by commas or blank space, a leading
/// `@` dropped (at most 20 are read).
pub fn usernames(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .map(|s| s.trim_start_matches('@'))
        .filter(|s| !s.is_empty())
        .take(20)
        .map(str::to_string)
        .collect()
}

fn invalid(message: impl Into<String>) -> AppError {
    let mut errors = FieldErrors::default();
    errors.add("usernames", message);
    AppError::Validation(errors)
}

async fn find_room(db: &DbPool, key: &str) -> AppResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM chat_rooms WHERE dm_key = $1")
            .bind(key)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// The direct conversation of `me` with the members named in `names`:
/// found, or created (then also its last event id, to announce). A
/// validation error for an unknown name, nobody else, or too many.
pub async fn open(
    db: &DbPool,
    me: &CurrentUser,
    names: &[String],
) -> AppResult<(i64, Option<i64>)> {
    let mut people: Vec<(i64, String)> = vec![(me.id, me.username.clone())];
    for name in names {
        // Usernames are short and printable: anything else names nobody
        // (and a NUL must never reach Postgres).
        if name.contains('\0') || name.chars().count() > 64 {
            return Err(invalid("No member has one of these usernames."));
        }
        let Some(found) = repo::find_user(db, name).await? else {
            return Err(invalid(format!("No member has the username {name}.")));
        };
        if !people.iter().any(|(id, _)| *id == found.0) {
            people.push(found);
        }
    }
    if people.len() < 2 {
        return Err(invalid("Name at least one other member."));
    }
    if people.len() > DIRECT_MAX {
        return Err(invalid(format!(
            "A direct conversation has at most {DIRECT_MAX} members, you included."
        )));
    }
    people.sort();
    let key = people
        .iter()
        .map(|(id, _)| id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    if let Some(id) = find_room(db, &key).await? {
        return Ok((id, None));
    }
    let mut label: Vec<&str> = people.iter().map(|(_, n)| n.as_str()).collect();
    label.sort_by_key(|n| n.to_lowercase());
    let mut tx = begin_chat(db).await?;
    let t = now();
    let created: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO chat_rooms (name, topic, private, kind, dm_key, created_at, updated_at) \
         VALUES ($1, '', 1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(label.join(", "))
    .bind(DIRECT)
    .bind(&key)
    .bind(t)
    .fetch_one(&mut *tx)
    .await;
    let id = match created {
        Ok(id) => id,
        // Opened by someone else meanwhile: theirs is the one.
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            return Ok((find_room(db, &key).await?.ok_or(AppError::NotFound)?, None));
        }
        Err(e) => return Err(e.into()),
    };
    let mut last = 0;
    for (user_id, _) in &people {
        sqlx::query(
            "INSERT INTO chat_members (room_id, user_id, is_admin, last_read_id, joined_at) \
             VALUES ($1, $2, 0, 0, $3)",
        )
        .bind(id)
        .bind(user_id)
        .bind(t)
        .execute(&mut *tx)
        .await?;
        last = record_event(&mut tx, id, Kind::Join, 0, *user_id).await?;
    }
    tx.commit().await?;
    let ids: Vec<i64> = people.iter().map(|(id, _)| *id).collect();
    super::badge::changed(db, &[], &ids).await;
    Ok((id, Some(last)))
}

/// The form that opens a conversation: usernames, comma-separated.
#[derive(Debug, Default, FromForm)]
pub struct DirectForm {
    #[field(default = String::new())]
    pub usernames: String,
}

#[get("/chat/direct?<with>")]
fn new_direct(_user: CurrentUser, layout: Layout, with: Option<&str>) -> AppResult<Reply> {
    Reply::page(&DirectPage {
        layout,
        usernames: with.unwrap_or_default().to_string(),
        errors: FieldErrors::default(),
    })
}

#[post("/chat/direct", data = "<form>", rank = 2)]
async fn open_direct(
    db: &Db,
    user: CurrentUser,
    layout: Layout,
    form: CsrfForm<DirectForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    match open(db, &user, &usernames(&form.usernames)).await {
        Ok((id, event)) => {
            if let Some(event) = event {
                announce(db, event).await;
            }
            Ok(Reply::to(format!("/chat/rooms/{id}")))
        }
        Err(AppError::Validation(errors)) => Reply::page_with(
            Status::UnprocessableEntity,
            &DirectPage {
                layout,
                usernames: form.usernames,
                errors,
            },
        ),
        Err(e) => Err(e),
    }
}

/// `POST /chat/direct`: `{"usernames": ["bob", "carol"]}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DirectRequest {
    pub usernames: Option<Vec<String>>,
}

impl crate::api::json::Fields for DirectRequest {
    const FIELDS: &'static [&'static str] = &["usernames"];
}

/// Open (201) or find (200) the direct conversation with these members.
#[post("/chat/direct", data = "<body>", rank = 1)]
async fn api_open(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    body: JsonBody<DirectRequest>,
) -> AppResult<(Status, Json<RoomJson>)> {
    let JsonBody(b) = body;
    let names = b.usernames.unwrap_or_default();
    if names.len() > 20 {
        return Err(invalid("Name at most 20 members."));
    }
    let (id, event) = open(db, &me.0, &names).await?;
    let status = match event {
        Some(event) => {
            announce(db, event).await;
            Status::Created
        }
        None => Status::Ok,
    };
    Ok((status, Json(rules::visible(db, me.0.id, id).await?.json())))
}

/// The direct-message pages.
pub fn routes() -> Vec<Route> {
    routes![new_direct, open_direct]
}

/// The direct-message API.
pub fn api_routes() -> Vec<Route> {
    routes![api_open]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_split_on_commas_and_space_and_lose_their_at() {
        assert_eq!(
            usernames(" @bob, carol  dave,,"),
            vec!["bob".to_string(), "carol".to_string(), "dave".to_string()]
        );
    }
}
