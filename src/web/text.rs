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
