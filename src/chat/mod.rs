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
pub mod badge;
pub mod digest;
pub mod direct;
mod dispatch;
pub mod journal;
pub mod messages;
pub mod model;
mod notices;
pub mod notify;
pub mod repo;
mod rooms;
mod routes;
pub mod rules;
pub mod search;
mod stream;
mod views;

use std::sync::Arc;

use rocket::fairing::AdHoc;
use rocket::Route;
use serde::{Deserialize, Serialize};

use crate::web::NavBadgeHook;

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
    /// Seconds a mention waits, unread, before it may be mailed in a
    /// digest (and the member must not have been seen for as long).
    pub digest_delay_secs: i64,
    /// Fewest seconds between two digests to one member.
    pub digest_interval_secs: i64,
    /// Seconds between two runs of the digest job.
    pub digest_check_secs: i64,
    /// Live streams (`/chat/events`) one member may have open at once, per
    /// process (429 beyond).
    pub streams_per_member: usize,
    /// Live streams one process serves at once (429 beyond).
    pub max_streams: usize,
    /// Seconds a stream stays open before the server ends it with an
    /// `event: reconnect`; the browser reconnects with `Last-Event-ID` and
    /// misses nothing. Bounds how long one connection holds a slot (a
    /// client that went away without closing, an idle tab) and spreads
    /// streams back over the processes after a restart.
    pub stream_lifetime_secs: u64,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            max_length: 4_000,
            messages_per_minute: 30,
            heartbeat_secs: 15,
            poll_secs: 10,
            digest_delay_secs: 900,
            digest_interval_secs: 3600,
            digest_check_secs: 60,
            streams_per_member: 10,
            max_streams: 10_000,
            stream_lifetime_secs: 3_600,
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
            || cfg.digest_delay_secs < 0
            || cfg.digest_interval_secs < 0
            || cfg.digest_check_secs < 1
            || cfg.streams_per_member < 1
            || cfg.max_streams < 1
            || cfg.stream_lifetime_secs < cfg.heartbeat_secs
        {
            return Err(
                "chat.max_length must be 1 to 20000, chat.messages_per_minute, \
                 chat.heartbeat_secs, chat.poll_secs, chat.digest_check_secs, \
                 chat.streams_per_member and chat.max_streams at least 1, \
                 chat.digest_delay_secs and chat.digest_interval_secs not negative, \
                 chat.stream_lifetime_secs at least chat.heartbeat_secs"
                    .into(),
            );
        }
        Ok(cfg)
    }
}

/// The JSON API routes of chat (the OpenAPI test checks each is documented).
pub fn api_routes() -> Vec<Route> {
    let mut routes = api::routes();
    routes.extend(direct::api_routes());
    routes.extend(search::api_routes());
    routes.extend(notify::api_routes());
    routes
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
        let (Some(registry), Some(app)) = (
            rocket.state::<crate::jobs::Registry>(),
            rocket.state::<crate::config::AppConfig>(),
        ) else {
            log::error!("chat needs the jobs stage and the configuration first");
            return Err(rocket);
        };
        digest::register(registry, &cfg, app.base_url.clone());
        let badges = Arc::new(badge::ChatBadges::default());
        let dispatcher = dispatch::Dispatcher::new(cfg.streams_per_member, cfg.max_streams);
        let poll = std::time::Duration::from_secs(cfg.poll_secs);
        Ok(rocket
            .manage(cfg)
            .manage(dispatcher.clone())
            .manage(NavBadgeHook(Arc::new(badges.clone())))
            .manage(badges)
            .attach(AdHoc::on_liftoff("Chat dispatcher", move |rocket| {
                Box::pin(async move {
                    if let (Some(events), Some(badges)) = (
                        rocket.state::<crate::events::Events>(),
                        rocket.state::<Arc<badge::ChatBadges>>(),
                    ) {
                        badges.0.listen(events);
                    }
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
            .mount("/", direct::routes())
            .mount("/", search::routes())
            .mount("/", notify::routes())
            .mount("/", stream::routes())
            .mount("/", api_routes()))
    })
}
