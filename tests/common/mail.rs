//! Reading mail the SMTP sink received: headers, quoted-printable, the
//! parts of a multipart message, links, and waiting for mail to arrive.

use std::collections::HashSet;
use std::time::Duration;

use rocket::figment::Figment;
use rocket::http::Status;
use rocket::local::asynchronous::Client;

use super::smtp::{Received, SmtpSink};
use super::{submit, Resp, TestApp};

/// How long a test waits for mail by default.
pub const MAIL_WAIT: Duration = Duration::from_secs(10);

/// A message (or MIME part) split into its header block and its body.
pub fn split_head(s: &str) -> (&str, &str) {
    match s.find("\r\n\r\n") {
        Some(i) => (&s[..i], &s[i + 4..]),
        None => (s, ""),
    }
}

/// The value of the first header `name` in a header block, unfolded.
pub fn header_value(head: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(v) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push(' ');
                v.push_str(line.trim_start());
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.eq_ignore_ascii_case(name) {
                value = Some(v.trim().to_string());
            }
        }
    }
    value
}

/// Quoted-printable undone: soft line breaks removed, `=XX` escapes
/// decoded; an `=` that starts neither is kept as it is.
pub fn decode_qp(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            let rest = &b[i + 1..];
            if rest.starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if rest.starts_with(b"\n") {
                i += 2;
                continue;
            }
            let escaped = rest
                .get(..2)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            if let Some(byte) = escaped {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The parts of a multipart/alternative mail as (content type, decoded
/// text with `\n` line ends).
pub fn body_parts(m: &Received) -> Vec<(String, String)> {
    use base64::Engine;
    let ct = m.header("Content-Type").expect("a Content-Type header");
    assert!(
        ct.to_ascii_lowercase().starts_with("multipart/alternative"),
        "Content-Type: {ct}"
    );
    let boundary = ct
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .expect("a boundary")
        .trim_matches('"')
        .to_string();
    let body = split_head(&m.data).1;
    let delimiter = format!("--{boundary}");
    body.split(delimiter.as_str())
        .skip(1)
        .filter(|p| !p.starts_with("--"))
        .map(|p| {
            let p = p.strip_prefix("\r\n").unwrap_or(p);
            let (head, content) = split_head(p);
            let content = content.strip_suffix("\r\n").unwrap_or(content);
            let ctype = header_value(head, "Content-Type").unwrap_or_default();
            let cte = header_value(head, "Content-Transfer-Encoding")
                .unwrap_or_else(|| "7bit".into())
                .to_ascii_lowercase();
            let bytes = match cte.as_str() {
                "quoted-printable" => decode_qp(content),
                "base64" => base64::engine::general_purpose::STANDARD
                    .decode(content.split_whitespace().collect::<String>())
                    .expect("base64 part"),
                _ => content.as_bytes().to_vec(),
            };
            (
                ctype,
                String::from_utf8(bytes)
                    .expect("utf-8 part")
                    .replace("\r\n", "\n"),
            )
        })
        .collect()
}

/// The decoded text of the one part of media type `media` (`text/plain`,
/// `text/html`).
pub fn body_text(m: &Received, media: &str) -> String {
    let parts = body_parts(m);
    let found: Vec<&(String, String)> = parts
        .iter()
        .filter(|(ct, _)| ct.to_ascii_lowercase().starts_with(media))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {media} part, got {:?}",
        parts.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    found[0].1.clone()
}

impl Received {
    /// The value of the first header `name` (unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        header_value(split_head(&self.data).0, name)
    }

    /// The whole message with quoted-printable undone, so links and text
    /// can be searched for.
    pub fn decoded(&self) -> String {
        String::from_utf8_lossy(&decode_qp(&self.data)).into_owned()
    }

    /// The first link in the message that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let text = self.decoded();
        let start = text.find(prefix)?;
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
            .map(|e| start + e)?;
        Some(text[start..end].to_string())
    }

    /// Whether one of the recipients contains `to`.
    pub fn is_to(&self, to: &str) -> bool {
        self.rcpt_to.iter().any(|r| r.contains(to))
    }
}

/// Wait until at least `n` of the mails received pass `which`, or until
/// `timeout` has passed; returns the ones that pass.
pub async fn wait_for_mail(
    sink: &SmtpSink,
    n: usize,
    timeout: Duration,
    which: impl Fn(&Received) -> bool,
) -> Vec<Received> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let got: Vec<Received> = sink.received().into_iter().filter(|m| which(m)).collect();
        if got.len() >= n || std::time::Instant::now() >= deadline {
            return got;
        }
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The mails received for `to` so far, after waiting (up to `MAIL_WAIT`)
/// for at least `n`.
pub async fn mails_to(sink: &SmtpSink, to: &str, n: usize) -> Vec<Received> {
    wait_for_mail(sink, n, MAIL_WAIT, |m| m.is_to(to)).await
}

pub const FROM: &str = "Groundwork <noreply@example.org>";
pub const FROM_ADDR: &str = "noreply@example.org";
/// How long any wait for mail or a queue state may take.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Poll `$cond` (which may `.await`) until it holds, or fail after `$timeout`.
#[allow(unused_macros)]
macro_rules! eventually {
    ($timeout:expr, $what:expr, $cond:expr) => {{
        let deadline = std::time::Instant::now() + $timeout;
        loop {
            if $cond {
                break;
            }
            if std::time::Instant::now() >= deadline {
                panic!("timed out after {:?} waiting for {}", $timeout, $what);
            }
            rocket::tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }};
}

/// Mail settings for quick tests: deliveries through `smtp_url`, a short
/// poll interval and retries within a couple of seconds.
pub fn mail_via(f: Figment, smtp_url: &str) -> Figment {
    f.merge(("mail.smtp_url", smtp_url))
        .merge(("mail.from", FROM))
        .merge(("jobs.poll_interval", 0.1))
        .merge(("mail.retry_base", 1.0))
        .merge(("mail.retry_max", 2.0))
}

/// Mail settings with no SMTP server: `.eml` files in `dir`.
pub fn mail_to_files(f: Figment, dir: &std::path::Path) -> Figment {
    f.merge(("mail.outbox_dir", dir.display().to_string()))
        .merge(("mail.from", FROM))
        .merge(("jobs.poll_interval", 0.1))
}

/// Send the contact form the way a browser does (token from the page,
/// empty honeypot).
pub async fn send_contact(
    client: &Client,
    name: &str,
    email: &str,
    subject: &str,
    message: &str,
) -> Resp {
    submit(
        client,
        "/contact",
        "/contact",
        &[
            ("name", name),
            ("email", email),
            ("subject", subject),
            ("message", message),
            ("website", ""),
        ],
    )
    .await
}

/// Assert a successful submission: 303 to the thank-you page.
pub fn assert_thanked(r: &Resp) {
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/contact/thanks"));
}

/// The mails at the sink, less account mail (the sign-up confirmation each
/// admin gets when the tests create them).
pub async fn non_account_mail(app: &TestApp, sink: &SmtpSink) -> Vec<Received> {
    let account: HashSet<String> =
        sqlx::query_scalar("SELECT message_id FROM outbox WHERE related_type = 'user'")
            .fetch_all(&app.db.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    sink.received()
        .into_iter()
        .filter(|m| !account.contains(&m.header("Message-ID").unwrap_or_default()))
        .collect()
}

/// Wait for exactly `n` mails (account mail aside): at least `n` within the
/// deadline, and no more once the queue is empty and the workers had time
/// for a few more polls.
pub async fn expect_exactly(app: &TestApp, sink: &SmtpSink, n: usize) -> Vec<Received> {
    eventually!(
        DEADLINE,
        format!("{n} mails at the sink"),
        non_account_mail(app, sink).await.len() >= n
    );
    eventually!(
        DEADLINE,
        "the queue to drain",
        app.scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'mail' AND state IN ('queued', 'running')"
        )
        .await
            == 0
    );
    rocket::tokio::time::sleep(Duration::from_millis(500)).await;
    let got = non_account_mail(app, sink).await;
    assert_eq!(
        got.len(),
        n,
        "more mails than expected arrived: {:#?}",
        subjects(&got)
    );
    got
}

/// `<a@b>` or `<a@b> SIZE=1` → `a@b`.
pub fn bare(addr: &str) -> String {
    let a = addr.split_whitespace().next().unwrap_or("");
    a.trim_start_matches('<').trim_end_matches('>').to_string()
}

pub fn rcpts(m: &Received) -> Vec<String> {
    m.rcpt_to.iter().map(|a| bare(a)).collect()
}

pub fn subjects(mails: &[Received]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect()
}

/// The names of the top-level header lines (continuation lines excluded).
pub fn header_names(m: &Received) -> Vec<String> {
    split_head(&m.data)
        .0
        .split("\r\n")
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, _)| n.trim().to_ascii_lowercase())
        })
        .collect()
}

pub fn message_ids(mails: &[Received]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m.header("Message-ID").expect("a Message-ID"))
        .collect()
}

pub fn assert_unique(ids: &[String]) {
    let set: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        set.len(),
        ids.len(),
        "duplicate Message-IDs among {} mails",
        ids.len()
    );
}

/// The decoded text of the part of `m` with `media` type.
pub fn part(m: &Received, media: &str) -> String {
    body_text(m, media)
}

/// A header of a message head or MIME part.
pub fn part_header(head: &str, name: &str) -> Option<String> {
    header_value(head, name)
}

/// The id of the stored contact message with `subject`.
pub async fn contact_id(app: &TestApp, subject: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM contact_messages WHERE subject = '{subject}'"
    ))
    .await
}
