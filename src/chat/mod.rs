//! Chat: open and private rooms, messages with safe Markdown and
//! `@mentions`, history by cursor, per-member read positions with unread
//! and mention counts, a live Server-Sent Events stream fed by
//! `src/events` (across processes on Postgres), and a JSON API.
//! `routes.rs` (room and message pages), `rooms.rs` (membership and
//! settings pages), `api.rs` (JSON), `stream.rs` (`/chat/events`),
//! `rules.rs` (who may do what), `model.rs` (input, mentions, JSON
//! shapes), `repo.rs` (rooms, members, read positions, events),
//! `messages.rs` (messages and history), `journal.rs` (the event log the
//! streams replay), `views.rs` (templates).

mod api;
mod dispatch;
pub mod journal;
pub mod messages;
pub mod model;
pub mod repo;
mod rooms;
mod routes;
pub mod rules;
mod stream;
mod views;

use rocket::fairing::AdHoc;
use rocket::Route;
use serde::{Deserialize, Serialize};

/// The `chat` table of the configuration, read by this stage alone.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ChatConfig {
    /// Longest message, in characters.
    pub max_length: usize,
    /// Messages one member may post per minute, all rooms together.
    pub messages_per_minute: i64,
    /// Seconds between heartbeats on an idle stream (keep it below the
    /// proxy's read timeout: nginx's `proxy_read_timeout` is 60 s).
    pub heartbeat_secs: u64,
    /// Seconds between a stream's own reads of the database when nothing
    /// was announced (also how soon a stream notices its session ended).
    pub poll_secs: u64,
    /// Live streams (`/chat/events`) one member may have open at once, per
    /// process (429 beyond).
    pub streams_per_member: usize,
    /// Live streams one process serves at once (429 beyond).
    pub max_streams: usize,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            max_length: 4_000,
            messages_per_minute: 30,
            heartbeat_secs: 15,
            poll_secs: 10,
            streams_per_member: 10,
            max_streams: 10_000,
        }
    }
}

impl ChatConfig {
    /// `chat` from the figment (the defaults when it is absent).
    fn from_rocket(rocket: &rocket::Rocket<rocket::Build>) -> Result<Self, String> {
        let cfg = match rocket.figment().extract_inner::<ChatConfig>("chat") {
            Ok(cfg) => cfg,
            Err(e) if e.missing() => ChatConfig::default(),
            Err(e) => return Err(e.to_string()),
        };
        if cfg.max_length < 1
            || cfg.max_length > 20_000
            || cfg.messages_per_minute < 1
            || cfg.heartbeat_secs < 1
            || cfg.poll_secs < 1
            || cfg.streams_per_member < 1
            || cfg.max_streams < 1
        {
            return Err(
                "chat.max_length must be 1 to 20000, and chat.messages_per_minute, \
                 chat.heartbeat_secs, chat.poll_secs, chat.streams_per_member and \
                 chat.max_streams at least 1"
                    .into(),
            );
        }
        Ok(cfg)
    }
}

/// The JSON API routes of chat (the OpenAPI test checks each is documented).
pub fn api_routes() -> Vec<Route> {
    api::routes()
}

/// The chat feature, as a Rocket stage. Needs the events stage
/// (`src/events`) for live delivery.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Chat", |rocket| async {
        let cfg = match ChatConfig::from_rocket(&rocket) {
            Ok(cfg) => cfg,
            Err(problem) => {
                log::error!("invalid chat configuration: {problem}");
                return Err(rocket);
            }
        };
        let dispatcher = dispatch::Dispatcher::new(cfg.streams_per_member, cfg.max_streams);
        let poll = std::time::Duration::from_secs(cfg.poll_secs);
        Ok(rocket
            .manage(cfg)
            .manage(dispatcher.clone())
            .attach(AdHoc::on_liftoff("Chat dispatcher", move |rocket| {
                Box::pin(async move {
                    // The dispatcher listens on the chat channel from the
                    // start, not only once a stream opens: on Postgres a
                    // publish waits for its own notification to come back,
                    // which it only does on a channel this process listens
                    // to.
                    let events = rocket.state::<crate::events::Events>().cloned();
                    let db = <crate::db::Db as rocket_db_pools::Database>::fetch(rocket)
                        .map(|db| (**db).clone());
                    if let (Some(events), Some(db)) = (events, db) {
                        drop(events.subscribe(rules::CHANNEL));
                        let shutdown = rocket.shutdown();
                        rocket::tokio::spawn(dispatcher.run(db, events, poll, shutdown));
                    }
                })
            }))
            .mount("/", routes::routes())
            .mount("/", rooms::routes())
            .mount("/", stream::routes())
            .mount("/", api_routes()))
    })
}
