//! The navigation's unread count, live: `GET /notifications/events` is a
//! Server-Sent Events stream of the signed-in member's count
//! (`event: unread`, data `{"count": 3, "label": "3"}`), which
//! `static/js/live.js` on every signed-in page shows in the navigation.
//! Without JavaScript the count is what the page was rendered with.
//!
//! - A notification announces itself on the `notifications` channel of
//!   `src/events` from inside the transaction that wrote it
//!   ([`announce_in`]: on Postgres delivered to every process when it
//!   commits, never on a rollback); marking read announces after its write
//!   ([`announce`]). The payload is the member's id, nothing else.
//! - A stream recounts (one indexed query, capped like the page's) a
//!   moment after an announcement for its member ([`SETTLE`]: a burst of
//!   favourites is one count; the writing process hears it once before
//!   the commit and once after), after a gap in the events, and every
//!   `stream_check_secs` in any case; it sends the count only when it
//!   changed.
//! - Every `notifications.stream_check_secs` (default [`RECHECK`]) it also
//!   checks the session it was opened with: a signed-out, expired or
//!   disabled member's stream ends (`event: end`). It ends at Rocket's
//!   shutdown, and after [`LIFETIME`] (the browser reconnects), so no
//!   connection holds its place for ever. At most
//!   `notifications.streams_per_member` per member per process: a newer
//!   one ends the member's oldest (`event: end`; a page left behind holds
//!   its stream until the server next writes to it); at most
//!   [`MAX_STREAMS`] in all (then 429).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::http::{ContentType, Header, Status};
use rocket::response::stream::{Event, EventStream};
use rocket::response::{self, Responder};
use rocket::tokio::select;
use rocket::tokio::sync::broadcast::error::RecvError;
use rocket::tokio::sync::Notify;
use rocket::{get, routes, Request, Route, Shutdown, State};
use serde_json::json;
use sqlx::AnyConnection;

use super::repo;
use crate::db::{Db, DbPool};
use crate::error::AppResult;
use crate::events::{self, Events};
use crate::session::{live_sessions, CurrentUser};
use crate::web::{unread_label, Asset, Unbuffered};

/// The events channel of "this member's count may have changed".
pub const CHANNEL: &str = "notifications";
/// How long a stream waits after an announcement before it counts.
pub const SETTLE: Duration = Duration::from_millis(150);
/// How often a stream counts and checks its session regardless.
pub const RECHECK: Duration = Duration::from_secs(30);
/// How long one stream lives before the browser is asked to reconnect.
pub const LIFETIME: Duration = Duration::from_secs(3600);
/// Keep-alive comments, so that proxies don't close an idle stream.
const HEARTBEAT: Duration = Duration::from_secs(25);
/// Most streams open in one process.
pub const MAX_STREAMS: usize = 10_000;

/// Tell `user_id`'s streams, from inside the transaction that changed their
/// notifications (see [`events::publish_in`]).
pub async fn announce_in(conn: &mut AnyConnection, user_id: i64) -> AppResult<()> {
    events::publish_in(conn, CHANNEL, &user_id.to_string()).await?;
    Ok(())
}

/// Tell `user_id`'s streams after a committed change. A failure is only
/// logged: the change is stored, and streams recount every [`RECHECK`].
pub async fn announce(db: &DbPool, user_id: i64) {
    if let Err(e) = events::publish(db, CHANNEL, &user_id.to_string()).await {
        log::warn!("notifications of user {user_id} not announced: {e}");
    }
}

/// The stream's settings (`notifications.*`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct LiveConfig {
    /// Streams one member may have open at once, per process: a newer one
    /// ends their oldest. The script keeps one per visible tab.
    pub streams_per_member: usize,
    /// Seconds between a stream's own counts and checks of its session
    /// (how soon it ends after a sign-out elsewhere).
    pub stream_check_secs: u64,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            streams_per_member: 5,
            stream_check_secs: RECHECK.as_secs(),
        }
    }
}

/// Each member's open streams, oldest first: an id and the stream's
/// "make way" signal.
#[derive(Default)]
struct Open {
    next: u64,
    total: usize,
    members: HashMap<i64, VecDeque<(u64, Arc<Notify>)>>,
}

/// The streams open in this process, per member.
#[derive(Default, Clone)]
pub struct OpenStreams(Arc<Mutex<Open>>);

/// A stream's place among [`OpenStreams`], given back when it ends, and
/// the signal that it must make way for a newer one.
struct Slot {
    open: Arc<Mutex<Open>>,
    user_id: i64,
    id: u64,
    make_way: Arc<Notify>,
}

fn lock(m: &Mutex<Open>) -> std::sync::MutexGuard<'_, Open> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        open.total -= 1;
        if let Some(mine) = open.members.get_mut(&self.user_id) {
            mine.retain(|(id, _)| *id != self.id);
            if mine.is_empty() {
                open.members.remove(&self.user_id);
            }
        }
    }
}

impl OpenStreams {
    /// A place for a new stream of `user_id`. A member at `per_member`
    /// streams gets it all the same: their oldest stream is told to make
    /// way. A page left behind holds its stream until the server next
    /// writes to it, so the newest page must win, or a member clicking
    /// through pages would be refused. None when the process is full.
    fn take(&self, user_id: i64, per_member: usize) -> Option<Slot> {
        let mut open = lock(&self.0);
        if open.total >= MAX_STREAMS {
            return None;
        }
        open.next += 1;
        open.total += 1;
        let id = open.next;
        let make_way = Arc::new(Notify::new());
        let mine = open.members.entry(user_id).or_default();
        while mine.len() >= per_member.max(1) {
            if let Some((_, oldest)) = mine.pop_front() {
                oldest.notify_one();
            }
        }
        mine.push_back((id, make_way.clone()));
        Some(Slot {
            open: self.0.clone(),
            user_id,
            id,
            make_way,
        })
    }
}

/// The count and the label the navigation shows for it ("" for none).
fn unread_event(count: i64) -> Event {
    let label = unread_label(count).unwrap_or_default();
    Event::json(&json!({"count": count, "label": label})).event("unread")
}

/// 429: the process has [`MAX_STREAMS`] streams open.
pub struct Busy;

impl<'r> Responder<'r, 'static> for Busy {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        rocket::Response::build()
            .status(Status::TooManyRequests)
            .header(Header::new("Retry-After", "60"))
            .ok()
    }
}

#[get("/notifications/events")]
async fn stream(
    db: &Db,
    events: &State<Events>,
    open: &State<OpenStreams>,
    cfg: &State<LiveConfig>,
    user: CurrentUser,
    mut shutdown: Shutdown,
) -> AppResult<Result<Unbuffered<EventStream![Event + 'static]>, Busy>> {
    let Some(slot) = open.take(user.id, cfg.streams_per_member) else {
        return Ok(Err(Busy));
    };
    let db: DbPool = (**db).clone();
    let mine = user.id.to_string();
    // Subscribed before the first count: nothing falls between the two.
    let mut rx = events.subscribe(CHANNEL);
    let mut sent = repo::unread_count(&db, user.id).await?;
    let ends = rocket::tokio::time::sleep(LIFETIME);
    let every = Duration::from_secs(cfg.stream_check_secs.max(1));
    let stream = EventStream! {
        let slot = slot;
        let mut ends = std::pin::pin!(ends);
        let mut recheck = rocket::tokio::time::interval(every);
        recheck.tick().await;
        yield unread_event(sent).with_retry(Duration::from_secs(5));
        loop {
            let mut check_session = false;
            select! {
                _ = &mut shutdown => return,
                _ = slot.make_way.notified() => {
                    // A newer stream of the member took this one's place.
                    yield Event::data("replaced").event("end");
                    return;
                }
                _ = &mut ends => {
                    yield Event::data("reconnect").event("reconnect");
                    return;
                }
                _ = recheck.tick() => check_session = true,
                got = rx.recv() => match got {
                    Ok(events::Event::Message(who)) if who != mine => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        rocket::tokio::time::sleep(SETTLE).await;
                        // What else arrived meanwhile is in this count.
                        while rx.try_recv().is_ok() {}
                    }
                    Err(RecvError::Closed) => return,
                },
            }
            let ended = check_session
                && live_sessions(&db, &[user.session_id])
                    .await
                    .is_ok_and(|live| live.is_empty());
            if ended {
                yield Event::data("signed out").event("end");
                return;
            }
            match repo::unread_count(&db, user.id).await {
                Ok(n) if n != sent => {
                    sent = n;
                    yield unread_event(n);
                }
                Ok(_) => {}
                Err(e) => log::warn!("notifications stream of user {}: {e}", user.id),
            }
        }
    };
    Ok(Ok(Unbuffered(stream.heartbeat(HEARTBEAT))))
}

/// The script every signed-in page loads (see the top of this file).
#[get("/static/js/live.js")]
fn script() -> Asset {
    Asset(
        ContentType::JavaScript,
        include_str!("../../static/js/live.js"),
    )
}

/// The stream and its script.
pub fn routes() -> Vec<Route> {
    routes![stream, script]
}
