//! Delivery: the handler of the `mail` job kind. It sends one outbox row and
//! records it as sent; the jobs worker claims, retries and gives up.

use std::sync::Arc;

use lettre::message::Mailbox;
use sqlx::AnyConnection;

use super::outbox::{self, MailJob, KIND};
use super::transport::Transport;
use super::MailConfig;
use crate::jobs::{Job, JobError, Policy, Registry};

/// The checked settings a delivery needs.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    /// Check the settings: a bad `mail.from` or `mail.smtp_url` stops the
    /// launch with a clear message.
    pub fn new(cfg: &MailConfig) -> Result<Mailer, String> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|e| format!("mail.from {:?} is not a valid address: {e}", cfg.from))?;
        let transport = Transport::from_config(cfg)?;
        if let Transport::Files(dir) = &transport {
            log::warn!(
                "no mail.smtp_url: mails are written to {} instead of being sent",
                dir.display()
            );
        }
        Ok(Mailer { transport, from })
    }

    /// Send the job's mail, unless it is gone or was sent already (a run
    /// after a crash between sending and recording the job's end).
    async fn deliver(&self, conn: &mut AnyConnection, job: Job) -> Result<(), JobError> {
        let MailJob { outbox_id } = job.payload().map_err(JobError::permanent)?;
        let Some(mail) = outbox::load(conn, outbox_id).await? else {
            return Ok(());
        };
        if mail.sent_at.is_some() {
            return Ok(());
        }
        if let Err(e) = self.transport.send(&self.from, &mail).await {
            return Err(JobError {
                permanent: e.permanent,
                message: e.message,
            });
        }
        outbox::mark_sent(conn, mail.id).await?;
        Ok(())
    }
}

/// Deliver mail in this process: register the `mail` job kind.
pub fn register(registry: &Registry, mailer: Mailer, cfg: &MailConfig) {
    let mailer = Arc::new(mailer);
    let policy = Policy {
        max_attempts: cfg.max_attempts,
        retry_base: cfg.retry_base,
        retry_max: cfg.retry_max,
    };
    registry.register(KIND, policy, move |conn, job| {
        let mailer = mailer.clone();
        Box::pin(async move { mailer.deliver(conn, job).await })
    });
}
