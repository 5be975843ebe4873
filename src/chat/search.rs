//! Search of messages, within one room or across all of a member's rooms,
//! newest first, paged by cursor (`before=<id>`, never OFFSET). Only rooms
//! the searcher belongs to *now* are searched (a join on `chat_members`),
//! so a search never shows a room they are not in.
//!
//! The full-text part is the one thing that differs by backend, here:
//! SQLite uses the FTS5 table `chat_messages_fts` (whose `room` column
//! holds `r<room_id>`, so a search within a room is narrowed inside FTS5),
//! Postgres the GIN index on `to_tsvector('simple', body)`. Terms are
//! quoted phrases (FTS5) or `plainto_tsquery` (Postgres): nothing typed is
//! query syntax. The cost grows with the number of messages that contain
//! every term (all rooms; within a room on SQLite), not with the size of
//! the history, and a page reads at most `limit + 1` rows.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, routes, FromForm, Route};
use serde_json::{json, Value};

use super::messages::{mentions_of, Message, COLUMNS, FROM};
use super::model::MessageJson;
use super::rules;
use super::views::{message_json, SearchHit, SearchPage};
use crate::api::{ApiRequest, ApiUser};
use crate::db::{Backend, Db, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::CurrentUser;
use crate::web::text::format_time;
use crate::web::Layout;

/// Longest search text read, in characters.
pub const QUERY_MAX: usize = 200;
/// Results per page of the search page.
pub const PAGE_SIZE: i64 = 20;
/// Most results one API page holds.
const LIMIT_MAX: i64 = 100;

/// A found message and the name of its room.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Found {
    #[sqlx(flatten)]
    pub message: Message,
    pub room_name: String,
}

enum Param {
    Int(i64),
    Text(String),
}

fn next(params: &mut Vec<Param>, p: Param) -> String {
    params.push(p);
    format!("${}", params.len())
}

/// The words of the search text (at most 10; terms without a letter or
/// digit are dropped, as the indexes would).
pub fn terms(q: &str) -> Vec<String> {
    let q: String = q.chars().take(QUERY_MAX).filter(|c| *c != '\0').collect();
    q.split_whitespace()
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .take(10)
        .map(str::to_string)
        .collect()
}

/// Up to `limit` messages (plus one, to know whether there are more)
/// older than `before`, matching every term, in `user_id`'s rooms (or in
/// `room`, which the caller checked they may see), newest first.
pub async fn search(
    db: &DbPool,
    user_id: i64,
    q: &str,
    room: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> AppResult<(Vec<Found>, bool)> {
    let terms = terms(q);
    if terms.is_empty() {
        return Ok((Vec::new(), false));
    }
    let mut params = vec![Param::Int(user_id), Param::Int(before.unwrap_or(i64::MAX))];
    let mut filter = String::from("x.deleted_at = 0 AND x.id < $2");
    if let Some(room) = room {
        let p = next(&mut params, Param::Int(room));
        filter.push_str(&format!(" AND x.room_id = {p}"));
    }
    match db.backend {
        Backend::Sqlite => {
            let mut expr = String::new();
            if let Some(room) = room {
                expr.push_str(&format!("room : \"r{room}\" AND "));
            }
            let phrases: Vec<String> = terms
                .iter()
                .map(|t| format!("body : \"{}\"", t.replace('"', "\"\"")))
                .collect();
            expr.push_str(&phrases.join(" AND "));
            let p = next(&mut params, Param::Text(expr));
            filter.push_str(&format!(
                " AND x.id IN (SELECT rowid FROM chat_messages_fts WHERE chat_messages_fts MATCH {p})"
            ));
        }
        Backend::Postgres => {
            let p = next(&mut params, Param::Text(terms.join(" ")));
            filter.push_str(&format!(
                " AND to_tsvector('simple', x.body) @@ plainto_tsquery('simple', {p})"
            ));
        }
    }
    let lim = next(&mut params, Param::Int(limit + 1));
    let sql = format!(
        "SELECT {COLUMNS}, r.name AS room_name FROM {FROM} \
         JOIN chat_rooms r ON r.id = x.room_id \
         JOIN chat_members m ON m.room_id = x.room_id AND m.user_id = $1 \
         WHERE {filter} ORDER BY x.id DESC LIMIT {lim}"
    );
    let mut query = sqlx::query_as::<_, Found>(&sql);
    for p in params {
        query = match p {
            Param::Int(v) => query.bind(v),
            Param::Text(v) => query.bind(v),
        };
    }
    let mut rows = query.fetch_all(&db.pool).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

/// The search form and its cursor.
#[derive(Debug, Default, FromForm)]
pub struct SearchQuery {
    #[field(default = String::new())]
    q: String,
    room: Option<i64>,
    before: Option<i64>,
    limit: Option<i64>,
}

#[get("/chat/search?<query..>", rank = 2)]
async fn page(
    db: &Db,
    user: CurrentUser,
    layout: Layout,
    query: SearchQuery,
) -> AppResult<crate::web::Reply> {
    let room = match query.room {
        Some(id) => Some(rules::member(db, user.id, id).await?.room),
        None => None,
    };
    let (found, more) = search(db, user.id, &query.q, query.room, query.before, PAGE_SIZE).await?;
    let older = more.then(|| found.last().map(|f| f.message.id)).flatten();
    let hits = found
        .into_iter()
        .map(|f| SearchHit {
            id: f.message.id,
            room_id: f.message.room_id,
            room_name: f.room_name,
            author: f.message.author,
            created: format_time(f.message.created_at),
            excerpt: super::model::excerpt(&f.message.body),
        })
        .collect();
    crate::web::Reply::page(&SearchPage {
        layout,
        searched: !terms(&query.q).is_empty(),
        q: query.q,
        room,
        hits,
        older,
    })
}

#[get("/chat/search?<query..>", format = "json", rank = 1)]
async fn api_search(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    query: SearchQuery,
) -> AppResult<(Status, Json<Value>)> {
    if let Some(id) = query.room {
        rules::member(db, me.0.id, id).await?;
    }
    let limit = query.limit.unwrap_or(PAGE_SIZE);
    if !(1..=LIMIT_MAX).contains(&limit) {
        let mut errors = FieldErrors::default();
        errors.add("limit", format!("Use a limit from 1 to {LIMIT_MAX}."));
        return Err(AppError::Validation(errors));
    }
    let (found, more) = search(db, me.0.id, &query.q, query.room, query.before, limit).await?;
    let ids: Vec<i64> = found.iter().map(|f| f.message.id).collect();
    let mentioned = mentions_of(db, &ids).await?;
    let list: Vec<Value> = found
        .iter()
        .map(|f| {
            let m: MessageJson = message_json(
                &f.message,
                mentioned.get(&f.message.id).map_or(&[], Vec::as_slice),
            );
            json!({"room_name": f.room_name, "message": m})
        })
        .collect();
    let next_before = more.then(|| ids.last().copied()).flatten();
    Ok((
        Status::Ok,
        Json(json!({"results": list, "next_before": next_before})),
    ))
}

/// The search page.
pub fn routes() -> Vec<Route> {
    routes![page]
}

/// The search API.
pub fn api_routes() -> Vec<Route> {
    routes![api_search]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_keep_words_and_drop_punctuation_only_ones() {
        assert_eq!(terms("  deploy -- Friday? "), vec!["deploy", "Friday?"]);
        assert!(terms("!!! ...").is_empty());
    }
}
