//! `@username` mentions, for every feature that has them (the blog now):
//! finding them in text, finding which name real members, and turning
//! them into links in sanitised HTML or in plain text.
//!
//! A mention is `@` at the start or after a character that cannot be part
//! of an address or a name (so `ada@example.com` mentions nobody),
//! followed by 3–32 of the username characters (ASCII letters, digits,
//! `_`, `-`). At most [`MAX_MENTIONS`] distinct names count per text, so
//! one post cannot notify a crowd.

use std::collections::HashMap;

use sqlx::AnyConnection;

use crate::error::AppResult;

/// Most distinct members one text mentions (the rest stay plain text).
pub const MAX_MENTIONS: usize = 10;

fn name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Every mention in `text`: (byte offset of the `@`, byte offset after the
/// name, the name in lower case).
fn scan(text: &str) -> Vec<(usize, usize, String)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'@' {
            let boundary = i == 0 || {
                let p = bytes[i - 1];
                !(name_char(p) || p == b'.' || p == b'@' || p == b'/' || p >= 0x80)
            };
            let mut end = i + 1;
            while end < bytes.len() && name_char(bytes[end]) && end - i <= 32 {
                end += 1;
            }
            let len = end - i - 1;
            // A name runs on past 32 characters or into a non-ASCII letter:
            // not a username.
            let clean_end = end >= bytes.len() || !(name_char(bytes[end]) || bytes[end] >= 0x80);
            if boundary && (3..=32).contains(&len) && clean_end {
                found.push((i, end, text[i + 1..end].to_ascii_lowercase()));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    found
}

/// The distinct names `text` mentions, lower case, in order of first
/// appearance, at most [`MAX_MENTIONS`].
pub fn mentioned(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (_, _, name) in scan(text) {
        if !names.contains(&name) {
            if names.len() == MAX_MENTIONS {
                break;
            }
            names.push(name);
        }
    }
    names
}

/// The enabled members among `names` (lower case): (id, username as
/// stored), keyed by the lower-case name.
pub async fn members(
    conn: &mut AnyConnection,
    names: &[String],
) -> AppResult<HashMap<String, (i64, String)>> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let marks: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, username FROM users WHERE lower(username) IN ({}) AND disabled = 0",
        marks.join(", ")
    );
    let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
    for n in names {
        q = q.bind(n.to_lowercase());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (name.to_lowercase(), (id, name)))
        .collect())
}

/// A piece of plain text: as is (`url` None), or a mention with its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub text: String,
    pub url: Option<String>,
}

impl Part {
    fn text(text: &str) -> Part {
        Part {
            text: text.to_string(),
            url: None,
        }
    }
}

/// `text` cut into plain pieces and links for the mentions of the members
/// in `links` (lower-case name → address); the template escapes each piece.
pub fn split_text(text: &str, links: &HashMap<String, String>) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut at = 0;
    for (start, end, name) in scan(text) {
        if let Some(url) = links.get(&name) {
            if start > at {
                parts.push(Part::text(&text[at..start]));
            }
            parts.push(Part {
                text: text[start..end].to_string(),
                url: Some(url.clone()),
            });
            at = end;
        }
    }
    if at < text.len() {
        parts.push(Part::text(&text[at..]));
    }
    parts
}

/// Sanitised HTML (from `render_markdown`) with the mentions of the
/// members in `links` made links. Only text between tags changes, never
/// inside a tag, a link, `code` or `pre`; the addresses are ours
/// (percent-encoded paths), and `@name` holds no character HTML escapes.
pub fn link_html(html: &str, links: &HashMap<String, String>) -> String {
    if links.is_empty() {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    let mut shielded = 0usize;
    while !rest.is_empty() {
        match rest.find('<') {
            Some(0) => {
                let end = rest.find('>').map_or(rest.len(), |e| e + 1);
                let tag = &rest[..end];
                let lower = tag.to_ascii_lowercase();
                let name: String = lower
                    .trim_start_matches(['<', '/'])
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                if matches!(name.as_str(), "a" | "code" | "pre") {
                    if lower.starts_with("</") {
                        shielded = shielded.saturating_sub(1);
                    } else {
                        shielded += 1;
                    }
                }
                out.push_str(tag);
                rest = &rest[end..];
            }
            found => {
                let end = found.unwrap_or(rest.len());
                let text = &rest[..end];
                if shielded > 0 {
                    out.push_str(text);
                } else {
                    for part in split_text(text, links) {
                        match part.url {
                            None => out.push_str(&part.text),
                            Some(url) => out.push_str(&format!(
                                "<a href=\"{url}\" class=\"mention\">{}</a>",
                                part.text
                            )),
                        }
                    }
                }
                rest = &rest[end..];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> HashMap<String, String> {
        [("ada".to_string(), "/blog/author/ada".to_string())].into()
    }

    #[test]
    fn mentions_are_found_at_word_starts_only() {
        assert_eq!(mentioned("hi @Ada, and @bob_1 (@ada)"), ["ada", "bob_1"]);
        assert!(mentioned("mail ada@example.com or @ab or @é").is_empty());
        assert!(mentioned(&format!("@{}", "a".repeat(33))).is_empty());
        let many: String = (0..20).map(|i| format!("@user{i} ")).collect();
        assert_eq!(mentioned(&many).len(), MAX_MENTIONS);
    }

    #[test]
    fn only_text_outside_links_and_code_becomes_a_link() {
        let html = "<p>Hi @Ada <code>@ada</code> <a href=\"/x\">@ada</a> @bob</p>";
        assert_eq!(
            link_html(html, &links()),
            "<p>Hi <a href=\"/blog/author/ada\" class=\"mention\">@Ada</a> <code>@ada</code> \
             <a href=\"/x\">@ada</a> @bob</p>"
        );
        assert_eq!(
            split_text("a @ada b", &links()),
            vec![
                Part::text("a "),
                Part {
                    text: "@ada".into(),
                    url: Some("/blog/author/ada".into())
                },
                Part::text(" b")
            ]
        );
    }
}
