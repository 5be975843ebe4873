//! Mail that is never lost: every message is written to the `outbox` table
//! in the same transaction as whatever caused it, and a delivery worker sends
//! it afterwards, retrying temporary failures with backoff and recording
//! permanent ones for admins to see.

mod message;
pub mod outbox;
mod transport;
mod worker;

pub use message::{Email, MailContent};
pub use outbox::enqueue;
pub use worker::Wakeup;

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
    /// Seconds between looks at the queue when nothing wakes the worker.
    pub poll_interval: f64,
    /// First retry delay in seconds; doubles with each attempt, with jitter.
    pub retry_base: f64,
    /// Longest retry delay in seconds.
    pub retry_max: f64,
    /// Attempts before a temporarily failing mail is given up as failed.
    pub max_attempts: i64,
    /// Seconds a worker holds a claimed mail; after that another may take it.
    pub lease: i64,
    /// Seconds to wait for the SMTP server on each step.
    pub timeout: u64,
    /// Start the delivery worker with the app (tests turn it off to look at the queue).
    pub worker: bool,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_url: None,
            from: "Groundwork <noreply@localhost>".into(),
            outbox_dir: "mail-outbox".into(),
            poll_interval: 5.0,
            retry_base: 30.0,
            retry_max: 3600.0,
            max_attempts: 10,
            lease: 120,
            timeout: 20,
            worker: true,
        }
    }
}

/// The mail system, as a Rocket stage: checks the settings and starts the
/// delivery worker once the server is up.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Mail", |rocket| async {
        rocket
            .manage(Wakeup::default())
            .attach(AdHoc::try_on_ignite("Mail transport", worker::prepare))
            .attach(AdHoc::on_liftoff("Mail worker", |rocket| {
                Box::pin(async move {
                    worker::spawn(rocket);
                })
            }))
    })
}
