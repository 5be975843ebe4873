//! Where mail goes: an SMTP server (lettre's async transport), or `.eml`
//! files in a folder when no server is configured.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};

use super::outbox::Outgoing;
use super::MailConfig;

/// Why a send failed, and whether trying again could help.
#[derive(Debug)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            permanent: true,
            message: message.into(),
        }
    }
}

/// The configured transport.
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

impl Transport {
    /// The transport the configuration asks for.
    pub fn from_config(cfg: &MailConfig) -> Result<Transport, String> {
        match cfg.smtp_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("mail.smtp_url is not a valid SMTP URL: {e}"))?
                    .timeout(Some(Duration::from_secs(cfg.timeout)))
                    .build();
                Ok(Transport::Smtp(transport))
            }
            None => Ok(Transport::Files(PathBuf::from(&cfg.outbox_dir))),
        }
    }

    /// Send one mail.
    pub async fn send(&self, from: &Mailbox, mail: &Outgoing) -> Result<(), SendError> {
        let message = build(from, mail)?;
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| SendError {
                // 5xx answers are final; connection trouble, timeouts and 4xx are not.
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
            Transport::Files(dir) => {
                let name = mail
                    .message_id
                    .trim_matches(['<', '>'])
                    .replace(['/', '\\', '@'], "_");
                let path = dir.join(format!("{}-{name}.eml", mail.id));
                let write = async {
                    rocket::tokio::fs::create_dir_all(dir).await?;
                    rocket::tokio::fs::write(&path, message.formatted()).await
                };
                write.await.map_err(|e| SendError {
                    permanent: false,
                    message: format!("{}: {e}", path.display()),
                })?;
                log::info!(
                    "mail to {} ({:?}) written to {}",
                    mail.to_addr,
                    mail.subject,
                    path.display()
                );
                Ok(())
            }
        }
    }
}

fn build(from: &Mailbox, mail: &Outgoing) -> Result<Message, SendError> {
    let to: Mailbox = mail
        .to_addr
        .parse()
        .map_err(|e| SendError::permanent(format!("bad recipient: {e}")))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.as_str())
        .message_id(Some(mail.message_id.clone()));
    if let Some(reply_to) = mail.reply_to.as_deref() {
        let mbox: Mailbox = reply_to
            .parse()
            .map_err(|e| SendError::permanent(format!("bad Reply-To: {e}")))?;
        builder = builder.reply_to(mbox);
    }
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.text_body.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(mail.html_body.clone()),
                ),
        )
        .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))
}
