//! Checks on typed text shared by every form and JSON body.

use crate::error::FieldErrors;

/// One line of text: line breaks and other control characters become
/// spaces (so nothing typed can start a new mail header), then trimmed.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Record a message for `field` when `value` is empty (`empty` says what
/// to do), longer than `max` characters, or holds a NUL (which Postgres
/// cannot store).
pub fn check_length(
    errors: &mut FieldErrors,
    field: &'static str,
    value: &str,
    max: usize,
    empty: &str,
) {
    let n = value.chars().count();
    if n == 0 {
        errors.add(field, empty);
    } else if n > max {
        errors.add(
            field,
            format!("Use at most {max} characters (you have {n})."),
        );
    }
    if value.contains('\0') {
        errors.add(field, "Remove the NUL character.");
    }
}

/// Split comma-separated tags: trimmed, inner whitespace collapsed,
/// lower-cased, duplicates and empties dropped, order kept.
pub fn split_tags(s: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for raw in s.split(',') {
        let tag = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let tag = tag.to_lowercase();
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// Check a tag list: at most `max` tags of at most `max_len` characters,
/// no control characters. Messages go beside `field`.
pub fn check_tags(
    errors: &mut FieldErrors,
    field: &'static str,
    tags: &[String],
    max: usize,
    max_len: usize,
) {
    if tags.len() > max {
        errors.add(field, format!("Use at most {max} tags."));
    }
    if let Some(t) = tags.iter().find(|t| t.chars().count() > max_len) {
        errors.add(
            field,
            format!("Keep each tag to {max_len} characters (\"{t}\" is longer)."),
        );
    }
    if tags.iter().any(|t| t.chars().any(char::is_control)) {
        errors.add(field, "Tags cannot contain control characters.");
    }
}

/// A timestamp as people read it, in UTC.
pub fn format_time(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_lowercased_and_deduplicated() {
        assert_eq!(
            split_tags(" Work ,work,, home  office ,"),
            vec!["work".to_string(), "home office".to_string()]
        );
    }
}
