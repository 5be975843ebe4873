//! `GET /chat/events`: one Server-Sent Events stream per browser tab (or
//! API client) carrying every room its member belongs to.
//!
//! - Every event is a `chat_events` row, persisted before it is announced
//!   (see `rules::announce`); its SSE `id` is the row id, so ids increase.
//! - A client that reconnects with `Last-Event-ID` is sent exactly the
//!   rows after that id it may see, in order, read from the database:
//!   whichever process it reconnects to, nothing is missed or repeated.
//! - New events come from the process's dispatcher (`dispatch.rs`), which
//!   reads each once and hands it to the streams whose member may see it
//!   now, so a removed member stops receiving at once. The stream replays
//!   from the database only what came before it registered, and again if
//!   it fell too far behind.
//! - At most `chat.streams_per_member` streams per member and
//!   `chat.max_streams` in all per process: beyond, 429 with a message.
//! - Heartbeats (SSE comments) keep proxies from closing an idle stream;
//!   `X-Accel-Buffering: no` stops nginx buffering it; the stream ends at
//!   Rocket's shutdown, within `poll_secs` of the end of the session it
//!   was opened with (sign-out, expiry, a disabled account), and after
//!   `stream_lifetime_secs` (`event: reconnect`: the client comes back
//!   with `Last-Event-ID`), so no connection holds its slot for ever.
//! - A `Last-Event-ID` beyond the newest event is read as the newest: a
//!   made-up id cannot make a stream skip what comes next.

use std::sync::Arc;
use std::time::Duration;

use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::stream::{Event, EventStream};
use rocket::response::{self, Responder};
use rocket::tokio::select;
use rocket::{get, routes, Route, Shutdown, State};
use serde_json::json;

use super::dispatch::{prepare, Dispatcher, Opened, Prepared, Refused, BATCH};
use super::journal;
use super::ChatConfig;
use crate::api::ApiUser;
use crate::db::{Db, DbPool};
use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::web::Unbuffered;

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

/// 429: the member (or this process) has as many streams open as allowed.
pub struct TooManyStreams(Refused);

impl<'r> Responder<'r, 'static> for TooManyStreams {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let message = match self.0 {
            Refused::Member(n) => format!(
                "You already have {n} live chat connections open (the most allowed). \
                 Close another chat tab or window and reload this one."
            ),
            Refused::Process(_) => "This server has as many live chat connections as it can take. \
                 Please try again in a minute."
                .to_string(),
        };
        let body = json!({"error": "too_many_streams", "message": message}).to_string();
        rocket::Response::build()
            .status(Status::TooManyRequests)
            .header(ContentType::JSON)
            .header(Header::new("Retry-After", "30"))
            .sized_body(body.len(), std::io::Cursor::new(body))
            .ok()
    }
}

fn sse(p: &Prepared) -> Event {
    Event::data(p.data.clone())
        .id(p.id.to_string())
        .event(p.kind.clone())
}

/// What `user_id` may see now of the events after `after` up to `upto`, in
/// order: the replay before the dispatcher's events take over.
async fn replay(db: &DbPool, user_id: i64, after: i64, upto: i64) -> AppResult<Vec<Arc<Prepared>>> {
    let rows = journal::events_between(db, user_id, after, upto, BATCH).await?;
    prepare(db, &rows).await
}

#[get("/chat/events")]
async fn events(
    db: &Db,
    cfg: &State<ChatConfig>,
    dispatcher: &State<Dispatcher>,
    who: Listener,
    last: LastEventId,
    mut shutdown: Shutdown,
) -> AppResult<Result<Unbuffered<EventStream![Event + 'static]>, TooManyStreams>> {
    let db: DbPool = (**db).clone();
    let me = who.0;
    let dispatcher = dispatcher.inner().clone();
    let Opened {
        slot,
        mut rx,
        position,
    } = match dispatcher.open(&db, me.id, me.session_id).await? {
        Ok(opened) => opened,
        Err(refused) => return Ok(Err(TooManyStreams(refused))),
    };
    // Without Last-Event-ID a stream starts at the newest event committed
    // (the dispatcher may not have read it yet: what it then hands over up
    // to there is skipped).
    let newest = journal::last_event_id(&db).await?;
    let mut cursor = last.0.map_or(newest, |id| id.min(newest));
    let mut upto = position;
    let heartbeat = Duration::from_secs(cfg.heartbeat_secs);
    let retry = Duration::from_secs(2);
    let ends = rocket::tokio::time::sleep(Duration::from_secs(cfg.stream_lifetime_secs));
    let stream = EventStream! {
        // Held for as long as the stream runs: its place in the limits.
        let slot = slot;
        let mut ends = std::pin::pin!(ends);
        yield Event::comment("connected").with_retry(retry);
        loop {
            // What came before the dispatcher took over (or while this
            // stream was cut off for falling behind), from the database.
            while cursor < upto {
                let batch = match replay(&db, me.id, cursor, upto).await {
                    Ok(batch) => batch,
                    Err(e) => {
                        log::warn!("chat stream of user {}: {e}", me.id);
                        return;
                    }
                };
                let full = batch.len() as i64 == BATCH;
                for p in &batch {
                    cursor = p.id;
                    yield sse(p);
                }
                if !full {
                    break;
                }
            }
            cursor = cursor.max(upto);
            // Then what the dispatcher hands over, skipping what was sent.
            loop {
                let handed = select! {
                    _ = &mut shutdown => return,
                    _ = &mut ends => None,
                    handed = rx.recv() => Some(handed),
                };
                let Some(handed) = handed else {
                    // Its time is up: the client reconnects, from its
                    // Last-Event-ID, to whichever process answers.
                    yield Event::data("reconnect").event("reconnect");
                    return;
                };
                let Some(batch) = handed else { break };
                for p in batch.iter() {
                    if p.id > cursor {
                        cursor = p.id;
                        yield sse(p);
                    }
                }
            }
            // Cut off: too far behind (catch up), or the session ended.
            match dispatcher.resync(&slot) {
                Some((again, position)) => {
                    rx = again;
                    upto = position;
                }
                None => {
                    yield Event::data("signed out").event("end");
                    return;
                }
            }
        }
    };
    Ok(Ok(Unbuffered(stream.heartbeat(heartbeat))))
}

/// The stream route.
pub fn routes() -> Vec<Route> {
    routes![events]
}
