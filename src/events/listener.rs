//! The Postgres listener task: one `LISTEN` connection per process,
//! reconnected with backoff, with a heartbeat so that a silently dead
//! connection is noticed within seconds.

use std::sync::Weak;
use std::time::Duration;

use rocket::tokio::sync::mpsc;
use rocket::tokio::time::{interval, sleep, timeout, MissedTickBehavior};
use sqlx::postgres::PgListener;
use sqlx::Executor;

use super::{Event, Hub};

/// How often the connection is checked with a round trip.
const HEARTBEAT: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

async fn connect(url: &str, channels: &[String]) -> Result<PgListener, sqlx::Error> {
    let mut listener = timeout(HEARTBEAT, PgListener::connect(url))
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)??;
    let names: Vec<&str> = channels.iter().map(String::as_str).collect();
    listener.listen_all(names).await?;
    Ok(listener)
}

/// Run until the hub is dropped (the app stopped).
pub(super) async fn run(
    hub: Weak<Hub>,
    url: String,
    mut commands: mpsc::UnboundedReceiver<String>,
) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let Some(channels) = hub.upgrade().map(|h| h.channel_names()) else {
            return;
        };
        let mut listener = match connect(&url, &channels).await {
            Ok(l) => l,
            Err(e) => {
                log::warn!("event listener: cannot connect ({e}); retrying in {backoff:?}");
                sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = FIRST_BACKOFF;
        match hub.upgrade() {
            Some(h) => h.set_connected(true),
            None => return,
        }
        let mut beat = interval(HEARTBEAT);
        beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        beat.tick().await;
        loop {
            rocket::tokio::select! {
                command = commands.recv() => match command {
                    Some(channel) => {
                        if let Err(e) = listener.listen(&channel).await {
                            log::warn!("event listener: LISTEN {channel} failed: {e}");
                            break;
                        }
                    }
                    // The hub is gone: the app stopped.
                    None => return,
                },
                _ = beat.tick() => {
                    if hub.strong_count() == 0 {
                        return;
                    }
                    match timeout(HEARTBEAT, (&mut listener).execute("SELECT 1")).await {
                        Ok(Ok(_)) => {}
                        _ => {
                            log::warn!("event listener: heartbeat failed");
                            break;
                        }
                    }
                }
                // try_recv is cancel-safe: a message half read stays buffered.
                received = listener.try_recv() => match received {
                    Ok(Some(n)) => {
                        let Some(h) = hub.upgrade() else { return };
                        receive(&h, n.channel(), n.payload());
                    }
                    Ok(None) => {
                        log::warn!("event listener: connection lost");
                        break;
                    }
                    Err(e) => {
                        log::warn!("event listener: {e}");
                        break;
                    }
                },
            }
        }
        match hub.upgrade() {
            Some(h) => h.set_connected(false),
            None => return,
        }
        drop(listener);
    }
}

/// A notification: `<instance hex>:<seq> <payload>`.
fn receive(hub: &Hub, channel: &str, wire: &str) {
    let Some((origin, payload)) = wire.split_once(' ') else {
        return;
    };
    let (instance, seq) = origin.split_once(':').unwrap_or((origin, "0"));
    if u64::from_str_radix(instance, 16).ok() == Some(hub.instance) {
        // Our own message: delivered locally when it was published.
        let seq: u64 = seq.parse().unwrap_or(0);
        hub.echo.send_modify(|s| *s = (*s).max(seq));
        return;
    }
    hub.deliver(channel, Event::Message(payload.to_string()));
}
