//! The delivery worker: claims due mails, sends them, and records the result.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use rand::Rng;
use rocket::tokio::sync::Notify;
use rocket::{Build, Orbit, Rocket};
use rocket_db_pools::Database;
use sqlx::AnyConnection;

use super::outbox::{self, Claimed};
use super::transport::Transport;
use super::MailConfig;
use crate::config::AppConfig;
use crate::db::{now, Db, DbPool};

/// Wakes this process's worker when a mail is queued, so it goes out at
/// once. Only a shortcut: other processes find it on their next poll.
#[derive(Default, Clone)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    /// Tell the worker there is mail.
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

struct Prepared {
    transport: Arc<Transport>,
    from: Mailbox,
}

/// Check the mail settings before the server starts: a bad `mail.from` or
/// `mail.smtp_url` stops the launch with a clear message.
pub async fn prepare(rocket: Rocket<Build>) -> Result<Rocket<Build>, Rocket<Build>> {
    let Some(cfg) = rocket.state::<AppConfig>().map(|c| c.mail.clone()) else {
        return Err(rocket);
    };
    let from: Mailbox = match cfg.from.parse() {
        Ok(m) => m,
        Err(e) => {
            log::error!("mail.from {:?} is not a valid address: {e}", cfg.from);
            return Err(rocket);
        }
    };
    match Transport::from_config(&cfg) {
        Ok(transport) => {
            if let Transport::Files(dir) = &transport {
                log::warn!(
                    "no mail.smtp_url: mails are written to {} instead of being sent",
                    dir.display()
                );
            }
            Ok(rocket.manage(Prepared {
                transport: Arc::new(transport),
                from,
            }))
        }
        Err(e) => {
            log::error!("{e}");
            Err(rocket)
        }
    }
}

/// Start the worker for a launched server; it stops when the server does.
pub fn spawn(rocket: &Rocket<Orbit>) {
    let (Some(db), Some(cfg), Some(prepared), Some(wakeup)) = (
        Db::fetch(rocket),
        rocket.state::<AppConfig>(),
        rocket.state::<Prepared>(),
        rocket.state::<Wakeup>(),
    ) else {
        return;
    };
    if !cfg.mail.worker {
        return;
    }
    let worker = Worker {
        db: (**db).clone(),
        cfg: cfg.mail.clone(),
        transport: prepared.transport.clone(),
        from: prepared.from.clone(),
        wakeup: wakeup.clone(),
        stop: Arc::new(AtomicBool::new(false)),
    };
    // At shutdown the worker finishes the mail in hand and hands back the
    // rest of its batch, instead of leaving them to wait out the lease.
    let shutdown = rocket.shutdown();
    let stop = worker.stop.clone();
    let wake = worker.wakeup.clone();
    rocket::tokio::spawn(async move {
        shutdown.await;
        stop.store(true, Ordering::SeqCst);
        wake.notify();
    });
    rocket::tokio::spawn(async move { worker.run().await });
}

struct Worker {
    db: DbPool,
    cfg: MailConfig,
    transport: Arc<Transport>,
    from: Mailbox,
    wakeup: Wakeup,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    async fn run(&self) {
        while !self.stopping() {
            let busy = match self.tick().await {
                Ok(n) => n > 0,
                Err(e) => {
                    log::warn!("mail worker: {e}");
                    false
                }
            };
            if !busy {
                let idle = Duration::from_secs_f64(self.cfg.poll_interval.max(0.05));
                let _ = rocket::tokio::time::timeout(idle, self.wakeup.0.notified()).await;
            }
        }
        log::info!("mail worker stopped");
    }

    /// Send one batch; returns how many mails were claimed.
    ///
    /// The batch keeps one connection from claim to last result. At shutdown
    /// the app's pool is closed at once and hands out no more connections,
    /// so a worker going back to the pool could neither record the mail in
    /// hand (sent, yet left to be sent again when its lease lapses) nor hand
    /// back the rest. Closing the pool waits for this connection, so
    /// shutdown waits for the batch to be recorded.
    async fn tick(&self) -> crate::error::AppResult<usize> {
        let mut conn = self.db.pool.acquire().await?;
        let batch = outbox::claim(&mut conn, self.db.backend, 20, self.cfg.lease).await?;
        for (i, mail) in batch.iter().enumerate() {
            if self.stopping() {
                let rest: Vec<i64> = batch[i..].iter().map(|m| m.id).collect();
                outbox::release(&mut conn, &rest).await?;
                break;
            }
            self.deliver(&mut conn, mail).await?;
        }
        Ok(batch.len())
    }

    async fn deliver(
        &self,
        conn: &mut AnyConnection,
        mail: &Claimed,
    ) -> crate::error::AppResult<()> {
        match self.transport.send(&self.from, mail).await {
            Ok(()) => outbox::mark_sent(conn, mail.id).await,
            Err(e) if e.permanent || mail.attempts >= self.cfg.max_attempts => {
                log::warn!(
                    "mail {} to {} failed for good: {}",
                    mail.id,
                    mail.to_addr,
                    e.message
                );
                outbox::mark_failed(conn, mail.id, &e.message).await
            }
            Err(e) => {
                let delay = backoff(&self.cfg, mail.attempts);
                log::info!(
                    "mail {} to {} will be retried in {delay}s: {}",
                    mail.id,
                    mail.to_addr,
                    e.message
                );
                outbox::mark_retry(conn, mail.id, now() + delay, &e.message).await
            }
        }
    }
}

/// Exponential backoff with ±50% jitter, in whole seconds (at least 1).
fn backoff(cfg: &MailConfig, attempts: i64) -> i64 {
    let exp = cfg.retry_base * 2f64.powi((attempts - 1).clamp(0, 30) as i32);
    let jitter = rand::thread_rng().gen_range(0.5..1.5);
    (exp.min(cfg.retry_max) * jitter).round().max(1.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let cfg = MailConfig {
            retry_base: 10.0,
            retry_max: 100.0,
            ..MailConfig::default()
        };
        let first = backoff(&cfg, 1);
        assert!((5..=15).contains(&first), "{first}");
        let third = backoff(&cfg, 3);
        assert!((20..=60).contains(&third), "{third}");
        assert!(backoff(&cfg, 20) <= 150);
    }
}
