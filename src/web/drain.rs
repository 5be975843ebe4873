//! Stopping without dropping a request: the drain.
//!
//! When the binary is asked to stop (SIGTERM from systemd or a rolling
//! restart, SIGINT from a terminal), it does not close its listener at once.
//! It first *drains*: `/healthz` answers 503 so that a load balancer which
//! checks it moves traffic away, while every request that still arrives is
//! served normally, for `drain_seconds`. Then Rocket's graceful shutdown
//! begins: the listener closes (a proxy's next connection attempt is refused,
//! which nginx's `proxy_next_upstream error` retries on another instance even
//! for a POST, since nothing was sent), requests in flight finish within
//! `shutdown.grace`, and only after the server has returned is the database
//! pool closed (`main.rs`), so no request in flight loses its database.
//! A second signal during the drain skips the rest of it.
//!
//! Rocket's own signal handling is turned off for `serve` (see
//! [`serve_figment`]), because it would close the listener on the first
//! signal. Tests that build the app without the binary never drain.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rocket::fairing::AdHoc;
use rocket::figment::providers::Serialized;
use rocket::figment::Figment;

/// Whether this process has been asked to stop and is draining.
#[derive(Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The configuration `groundwork serve` runs with: Rocket's signal handling
/// off, so that [`on_signals`] decides when the listener closes.
pub fn serve_figment(figment: Figment) -> Figment {
    figment
        .merge(Serialized::global("shutdown.ctrlc", false))
        .merge(Serialized::global("shutdown.signals", Vec::<String>::new()))
}

/// The drain on SIGTERM and SIGINT, for the binary's `serve`.
pub fn on_signals() -> AdHoc {
    AdHoc::on_liftoff("Drain on SIGTERM", |rocket| {
        Box::pin(async move {
            let Some(draining) = rocket.state::<Draining>().cloned() else {
                return;
            };
            let seconds = rocket
                .state::<crate::config::AppConfig>()
                .map_or(0, |c| c.drain_seconds);
            let shutdown = rocket.shutdown();
            rocket::tokio::spawn(async move {
                let mut signals = match Signals::new() {
                    Ok(s) => s,
                    Err(e) => {
                        log::error!("cannot listen for SIGTERM/SIGINT: {e}; stopping");
                        shutdown.notify();
                        return;
                    }
                };
                let name = signals.next().await;
                draining.start();
                log::warn!(
                    "{name}: draining for {seconds} s (/healthz answers 503, requests are still served), then stopping"
                );
                rocket::tokio::select! {
                    _ = rocket::tokio::time::sleep(Duration::from_secs(seconds)) => {}
                    again = signals.next() => log::warn!("{again} again: stopping now"),
                }
                log::warn!("drained: closing the listener and finishing the requests in flight");
                shutdown.notify();
            });
        })
    })
}

/// SIGTERM and SIGINT (Ctrl-C) as one stream.
struct Signals {
    #[cfg(unix)]
    term: rocket::tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: rocket::tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> std::io::Result<Signals> {
        use rocket::tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {})
    }

    #[cfg(unix)]
    async fn next(&mut self) -> &'static str {
        rocket::tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> &'static str {
        let _ = rocket::tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
