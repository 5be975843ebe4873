//! Reading mail the SMTP sink received: headers, quoted-printable, the
//! parts of a multipart message, links, and waiting for mail to arrive.

use std::time::Duration;

use super::smtp::{Received, SmtpSink};

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
