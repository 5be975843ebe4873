//! The notifications JSON API (bearer tokens only): the list with a
//! cursor, the unread count, "mark read" and the preferences. Rank 1 with
//! the `ApiRequest` guard; pages on the same paths rank 2.

use rocket::serde::json::Json;
use rocket::{get, post, put, routes, Route};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::digest::{self, Frequency};
use super::kind::{who, Kind};
use super::repo::{self, Entry};
use crate::api::json::{Fields, JsonBody};
use crate::api::{ApiRequest, ApiUser};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};

/// Most entries one page holds.
const LIMIT_MAX: i64 = 100;

/// One entry as the API gives it.
#[derive(Debug, Serialize)]
pub struct EntryJson {
    pub id: i64,
    pub kind: &'static str,
    /// The latest actors' usernames, newest first.
    pub actors: Vec<String>,
    pub actor_count: i64,
    /// The sentence the page shows ("Ada and 2 others favourited Title").
    pub text: String,
    pub subject: String,
    pub url: String,
    pub created_at: i64,
    pub unread: bool,
}

impl From<Entry> for EntryJson {
    fn from(e: Entry) -> Self {
        let mut text = format!("{} {}", who(&e.actors, e.actor_count), e.kind.verb());
        if !e.subject.is_empty() {
            text = format!("{text} {}", e.subject);
        }
        EntryJson {
            id: e.id,
            kind: e.kind.as_str(),
            actor_count: e.actor_count,
            actors: e.actors,
            text,
            subject: e.subject,
            url: e.url,
            created_at: e.created_at,
            unread: e.unread,
        }
    }
}

#[get("/notifications?<before>&<limit>", format = "json", rank = 1)]
async fn list(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    before: Option<&str>,
    limit: Option<&str>,
) -> AppResult<Json<Value>> {
    let mut errors = FieldErrors::default();
    let before = match before.map(str::parse::<i64>) {
        None => None,
        Some(Ok(b)) if b > 0 => Some(b),
        Some(_) => {
            errors.add(
                "before",
                "Give the id of a notification (a whole number above 0).",
            );
            None
        }
    };
    let limit = match limit.map(str::parse::<i64>) {
        None => 30,
        Some(Ok(l)) if (1..=LIMIT_MAX).contains(&l) => l,
        Some(_) => {
            errors.add("limit", "Give a whole number from 1 to 100.");
            30
        }
    };
    errors.into_result()?;
    let (entries, next) = repo::page(db, me.0.id, before, limit).await?;
    let unread = repo::unread_count(db, me.0.id).await?;
    let entries: Vec<EntryJson> = entries.into_iter().map(Into::into).collect();
    Ok(Json(json!({
        "notifications": entries,
        "next_before": next,
        "unread": unread,
    })))
}

#[get("/notifications/unread", format = "json", rank = 1)]
async fn unread(_api: ApiRequest, db: &Db, me: ApiUser) -> AppResult<Json<Value>> {
    let n = repo::unread_count(db, me.0.id).await?;
    Ok(Json(
        json!({ "unread": n, "capped": n >= repo::UNREAD_CAP }),
    ))
}

/// `POST /notifications/read`: up to an id (absent: everything).
#[derive(Debug, Deserialize)]
pub struct ReadRequest {
    pub up_to: Option<i64>,
}

impl Fields for ReadRequest {
    const FIELDS: &'static [&'static str] = &["up_to"];
}

#[post("/notifications/read", data = "<body>", rank = 1)]
async fn mark_read(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    body: JsonBody<ReadRequest>,
) -> AppResult<Json<Value>> {
    let marker = repo::mark_read(db, me.0.id, body.0.up_to).await?;
    let unread = repo::unread_count(db, me.0.id).await?;
    Ok(Json(json!({ "last_read_id": marker, "unread": unread })))
}

async fn prefs_json(db: &Db, user_id: i64) -> AppResult<Json<Value>> {
    let mut kinds = serde_json::Map::new();
    for (k, on) in repo::preferences(db, user_id).await? {
        kinds.insert(k.as_str().into(), Value::Bool(on));
    }
    let digest = digest::frequency(db, user_id).await?.as_str();
    Ok(Json(json!({ "kinds": kinds, "digest": digest })))
}

#[get("/notifications/preferences", format = "json", rank = 1)]
async fn preferences(_api: ApiRequest, db: &Db, me: ApiUser) -> AppResult<Json<Value>> {
    prefs_json(db, me.0.id).await
}

/// `PUT /notifications/preferences`: the kinds to change, on or off.
#[derive(Debug, Deserialize)]
pub struct PrefsRequest {
    #[serde(default)]
    pub kinds: std::collections::BTreeMap<String, bool>,
    /// off, daily or weekly (absent: unchanged).
    pub digest: Option<String>,
}

impl Fields for PrefsRequest {
    const FIELDS: &'static [&'static str] = &["kinds", "digest"];
}

#[put("/notifications/preferences", data = "<body>", rank = 1)]
async fn save_preferences(
    _api: ApiRequest,
    db: &Db,
    me: ApiUser,
    body: JsonBody<PrefsRequest>,
) -> AppResult<Json<Value>> {
    let mut changes = Vec::new();
    let mut errors = FieldErrors::default();
    for (name, on) in &body.0.kinds {
        match Kind::parse(name) {
            Some(k) => changes.push((k, *on)),
            None => errors.add(
                "kinds",
                format!("Unknown kind: use one of {}.", Kind::names().join(", ")),
            ),
        }
    }
    let frequency = match body.0.digest.as_deref().map(Frequency::parse) {
        None => None,
        Some(Some(f)) => Some(f),
        Some(None) => {
            errors.add("digest", "Use off, daily or weekly.");
            None
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(f) = frequency {
        digest::set_frequency(db, me.0.id, f).await?;
    }
    for (k, on) in changes {
        repo::set_preference(db, me.0.id, k, on).await?;
    }
    prefs_json(db, me.0.id).await
}

/// The notifications API routes.
pub fn routes() -> Vec<Route> {
    routes![list, unread, mark_read, preferences, save_preferences]
}
