//! Reading HTML pages the way a person sees them: character references
//! decoded, and the message shown beside a form field.

/// HTML text with its character references (named and numeric) decoded,
/// to compare what a browser would display.
pub fn unescape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let entity = &rest[1..e];
            match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }
        });
        match (decoded, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of the message shown beside `field` (`<p id="FIELD-error">`).
pub fn field_error(body: &str, field: &str) -> Option<String> {
    let marker = format!("id=\"{field}-error\">");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find("</p>")?;
    Some(unescape_html(&body[start..start + end]))
}

/// `text` appears in `body` only as escaped text: a browser shows it, but
/// never reads it as markup.
pub fn assert_shown_as_text(body: &str, text: &str) {
    assert!(!body.contains(text), "{text:?} sent unescaped");
    assert!(unescape_html(body).contains(text), "{text:?} not shown");
}

/// How many escaped `<script>` tags a page holds (askama writes `&#60;`;
/// `&lt;` is as good).
pub fn escaped_script(body: &str) -> usize {
    body.matches("&#60;script&#62;").count() + body.matches("&lt;script&gt;").count()
}

/// The script tag every signed-in page carries (the live notifications
/// count, static/js/live.js): the site's own, from its own origin.
pub const SITE_SCRIPT: &str = "<script src=\"/static/js/live.js\" defer></script>";

/// `body` without the site's own script tag, for checking that nothing a
/// member wrote became a script.
pub fn without_site_script(body: &str) -> String {
    body.replace(SITE_SCRIPT, "")
}

/// The number the navigation's notifications badge shows, if any.
pub fn notifications_badge(body: &str) -> Option<String> {
    const MARK: &str = "id=\"nav-notifications-badge\">";
    let start = body.find(MARK)? + MARK.len();
    let end = start + body[start..].find('<')?;
    Some(body[start..end].to_string())
}
