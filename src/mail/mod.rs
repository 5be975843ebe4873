//! Mail that is never lost: every message is written to the `outbox` table
//! in the same transaction as whatever caused it, together with a `mail`
//! job that delivers it afterwards (see `crate::jobs`): temporary failures
//! are retried with backoff, permanent ones are recorded for admins to see.

mod delivery;
mod message;
pub mod outbox;
mod transport;

pub use crate::jobs::Wakeup;
pub use message::{Email, MailContent};
pub use outbox::enqueue;

use rocket::fairing::AdHoc;
use serde::{Deserialize, Serialize};

/// The `mail` table of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct MailConfig {
    /// lettre's URL form: `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host:465`, `smtp://127.0.0.1:1025`. Unset: mails
    /// are written as `.eml` files to `outbox_dir` instead.
    pub smtp_url: Option<String>,
    /// The `From` of every mail. Visitors' addresses only ever go in `Reply-To`.
    pub from: String,
    /// Where mails go when there is no `smtp_url` (development).
    pub outbox_dir: String,
    /// First retry delay in seconds; doubles with each attempt, with jitter.
    pub retry_base: f64,
    /// Longest retry delay in seconds.
    pub retry_max: f64,
    /// Attempts before a temporarily failing mail is given up as failed.
    pub max_attempts: i64,
    /// Seconds to wait for the SMTP server on each step.
    pub timeout: u64,
    /// Deliver mail in this process (tests turn it off to look at the queue).
    /// The jobs worker (`jobs.worker`) does the work; how long it may hold a
    /// mail is `jobs.lease`.
    pub worker: bool,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_url: None,
            from: "Groundwork <noreply@localhost>".into(),
            outbox_dir: "mail-outbox".into(),
            retry_base: 30.0,
            retry_max: 3600.0,
            max_attempts: 10,
            timeout: 20,
            worker: true,
        }
    }
}

/// The mail system, as a Rocket stage: reads the `mail` settings, checks
/// them, and registers delivery as a job kind (attach after `jobs::stage`).
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Mail", |rocket| async {
        let cfg: MailConfig = match crate::config::section(rocket.figment(), "mail") {
            Ok(cfg) => cfg,
            Err(e) => {
                log::error!("invalid mail settings: {e}");
                return Err(rocket);
            }
        };
        let mailer = match delivery::Mailer::new(&cfg) {
            Ok(mailer) => mailer,
            Err(e) => {
                log::error!("{e}");
                return Err(rocket);
            }
        };
        if cfg.worker {
            let Some(registry) = rocket.state::<crate::jobs::Registry>() else {
                log::error!("the mail stage needs the jobs stage attached before it");
                return Err(rocket);
            };
            delivery::register(registry, mailer, &cfg);
        }
        Ok(rocket.manage(cfg))
    })
}
