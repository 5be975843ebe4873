//! `GET /chat/events`: one Server-Sent Events stream per browser tab (or
//! API client) carrying every room its member belongs to.
//!
//! - Every event is a `chat_events` row, persisted before it is announced
//!   (see `rules::announce`); its SSE `id` is the row id, so ids increase.
//! - A client that reconnects with `Last-Event-ID` is sent exactly the
//!   rows after that id it may see, in order, read from the database:
//!   whichever process it reconnects to, nothing is missed or repeated.
//! - Announcements (`src/events`, channel `chat`) only wake the stream;
//!   what it sends is always read from the database with the member's
//!   rooms of *this moment*, so a removed member stops receiving at once.
//!   It also reads every `poll_secs` on its own, and at once after the
//!   events listener reconnects, so a lost announcement costs a delay,
//!   never an event.
//! - Heartbeats (SSE comments) keep proxies from closing an idle stream;
//!   `X-Accel-Buffering: no` stops nginx buffering it; the stream ends at
//!   Rocket's shutdown, and within `poll_secs` of the end of the session
//!   it was opened with (sign-out, expiry, a disabled account).

use std::time::{Duration, Instant};

use rocket::http::Header;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::stream::{Event, EventStream};
use rocket::response::{self, Responder};
use rocket::tokio::select;
use rocket::tokio::sync::broadcast::error::RecvError;
use rocket::tokio::time::sleep;
use rocket::{get, routes, Route, Shutdown, State};
use serde_json::json;

use super::journal::{self, EventRow};
use super::messages;
use super::rules::CHANNEL;
use super::views::message_json;
use super::ChatConfig;
use crate::api::ApiUser;
use crate::db::{now, Db, DbPool};
use crate::error::AppResult;
use crate::events::Events;
use crate::session::CurrentUser;

/// Most events read from the database at once.
const BATCH: i64 = 200;

/// Who opened the stream: a browser session (cookie) or a bearer token.
pub struct Listener(CurrentUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Listener {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        if req.headers().get_one("Authorization").is_some() {
            return req.guard::<ApiUser>().await.map(|u| Listener(u.0));
        }
        req.guard::<CurrentUser>().await.map(Listener)
    }
}

/// The `Last-Event-ID` a reconnecting client sends (absent or not a
/// number: none).
pub struct LastEventId(Option<i64>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LastEventId {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let id = req
            .headers()
            .get_one("Last-Event-ID")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|id| *id >= 0);
        Outcome::Success(LastEventId(id))
    }
}

/// The event stream with the header that turns nginx's buffering off.
pub struct Unbuffered<R>(R);

impl<'r, 'o: 'r, R: Responder<'r, 'o>> Responder<'r, 'o> for Unbuffered<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'o> {
        let mut res = self.0.respond_to(req)?;
        res.set_header(Header::new("X-Accel-Buffering", "no"));
        Ok(res)
    }
}

/// Whether the session a stream was opened with is still live (not
/// signed out, not expired, the account still enabled).
async fn session_live(db: &DbPool, session_id: i64) -> AppResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.expires_at > $2 AND u.disabled = 0",
    )
    .bind(session_id)
    .bind(now())
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

/// The SSE events for a batch of rows: the message ones carry the
/// message as it is now (a later edit or deletion shows in the replay).
async fn to_events(db: &DbPool, rows: &[EventRow]) -> AppResult<Vec<Event>> {
    let ids: Vec<i64> = rows
        .iter()
        .filter(|r| r.message_id > 0)
        .map(|r| r.message_id)
        .collect();
    let found = messages::by_ids(db, &ids).await?;
    let mentions = messages::mentions_of(db, &ids).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let message = found
                .iter()
                .find(|m| m.id == r.message_id)
                .map(|m| message_json(m, mentions.get(&m.id).map_or(&[], Vec::as_slice)));
            let data = json!({
                "room_id": r.room_id,
                "kind": r.kind,
                "user_id": r.user_id,
                "message": message,
            });
            Event::json(&data)
                .id(r.id.to_string())
                .event(r.kind.clone())
        })
        .collect())
}

#[get("/chat/events")]
async fn events(
    db: &Db,
    cfg: &State<ChatConfig>,
    hub: &State<Events>,
    who: Listener,
    last: LastEventId,
    mut shutdown: Shutdown,
) -> AppResult<Unbuffered<EventStream![Event + 'static]>> {
    let db: DbPool = (**db).clone();
    let me = who.0;
    // Subscribe before reading, so nothing committed from here on is missed.
    let mut rx = hub.subscribe(CHANNEL);
    let mut cursor = match last.0 {
        Some(id) => id,
        None => journal::last_event_id(&db).await?,
    };
    let poll = Duration::from_secs(cfg.poll_secs);
    let heartbeat = Duration::from_secs(cfg.heartbeat_secs);
    let retry = Duration::from_secs(2);
    let hub = hub.inner().clone();
    let mut checked = Instant::now();
    let stream = EventStream! {
        yield Event::comment("connected").with_retry(retry);
        loop {
            // Send everything after the cursor this member may see now.
            loop {
                let rows = match journal::events_after(&db, me.id, cursor, BATCH).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        log::warn!("chat stream of user {}: {e}", me.id);
                        return;
                    }
                };
                let Some(last) = rows.last() else { break };
                cursor = last.id;
                let full = rows.len() as i64 == BATCH;
                match to_events(&db, &rows).await {
                    Ok(events) => {
                        for event in events {
                            yield event;
                        }
                    }
                    Err(e) => {
                        log::warn!("chat stream of user {}: {e}", me.id);
                        return;
                    }
                }
                if !full {
                    break;
                }
            }
            let wait = if hub.is_connected() { poll } else { poll.min(Duration::from_secs(1)) };
            select! {
                _ = &mut shutdown => return,
                received = rx.recv() => {
                    if let Err(RecvError::Closed) = received {
                        return;
                    }
                }
                _ = sleep(wait) => {}
            }
            if checked.elapsed() < poll {
                continue;
            }
            checked = Instant::now();
            match session_live(&db, me.session_id).await {
                Ok(true) => {}
                Ok(false) => {
                    yield Event::data("signed out").event("end");
                    return;
                }
                Err(e) => {
                    log::warn!("chat stream of user {}: {e}", me.id);
                    return;
                }
            }
        }
    };
    Ok(Unbuffered(stream.heartbeat(heartbeat)))
}

/// The stream route.
pub fn routes() -> Vec<Route> {
    routes![events]
}
