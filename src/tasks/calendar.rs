//! The calendar feed: `/tasks/calendar/{secret}.ics`, an iCalendar
//! (RFC 5545) document of the open tasks assigned to the member whose
//! secret it is, so calendar apps can subscribe. Timed tasks are UTC
//! date-times (no VTIMEZONE needed), all-day tasks `VALUE=DATE`; each task
//! keeps its `UID`; lines end in CRLF and are folded at 75 octets.

use rocket::http::ContentType;
use rocket::{get, routes, Route, State};

use super::items::{self, Assigned};
use super::preferences;
use crate::config::AppConfig;
use crate::db::{now, Db};
use crate::error::{AppError, AppResult};

/// Most tasks a feed lists.
const FEED_MAX: i64 = 1000;

/// Escape a TEXT value: backslash, semicolon, comma and newlines.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One content line, folded so no line is longer than 75 octets (never
/// inside a UTF-8 character), ending in CRLF.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

/// Unix seconds as a UTC date-time, `20261231T083000Z`.
fn utc(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

/// `2026-12-31` as `20261231`, and the day after.
fn all_day(date: &str) -> Option<(String, String)> {
    let d: jiff::civil::Date = date.parse().ok()?;
    let next = d.tomorrow().ok()?;
    Some((
        d.strftime("%Y%m%d").to_string(),
        next.strftime("%Y%m%d").to_string(),
    ))
}

/// The feed's text for `tasks`, stamped at `stamp`.
pub fn render(base: &str, owner: &str, tasks: &[Assigned], stamp: i64) -> String {
    let host = base
        .split("://")
        .nth(1)
        .unwrap_or("localhost")
        .split(['/', ':'])
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    let mut out = String::new();
    let mut line = |s: String| out.push_str(&fold(&s));
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//Groundwork//Tasks//EN".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!(
        "X-WR-CALNAME:{}",
        escape(&format!("Tasks of {owner}"))
    ));
    for t in tasks {
        let start = match (t.due_at, t.due_date.as_deref()) {
            (Some(at), _) => vec![format!("DTSTART:{}", utc(at))],
            (None, Some(d)) => match all_day(d) {
                Some((s, e)) => vec![
                    format!("DTSTART;VALUE=DATE:{s}"),
                    format!("DTEND;VALUE=DATE:{e}"),
                ],
                None => continue,
            },
            (None, None) => continue,
        };
        let link = format!("{base}/tasks/{}/items/{}", t.project_id, t.id);
        line("BEGIN:VEVENT".into());
        line(format!("UID:task-{}@{host}", t.id));
        line(format!("DTSTAMP:{}", utc(stamp)));
        for s in start {
            line(s);
        }
        line(format!("SUMMARY:{}", escape(&t.title)));
        line(format!(
            "DESCRIPTION:{}",
            escape(&format!("{}\n{link}", t.project))
        ));
        line(format!("URL:{link}"));
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

#[get("/tasks/calendar/<file>", rank = 0)]
async fn feed(db: &Db, app: &State<AppConfig>, file: &str) -> AppResult<(ContentType, String)> {
    let secret = file.strip_suffix(".ics").ok_or(AppError::NotFound)?;
    let user_id = preferences::calendar_owner(db, secret)
        .await?
        .ok_or(AppError::NotFound)?;
    let owner: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let tasks = items::assigned_to(db, user_id, FEED_MAX).await?;
    let base = app.base_url.trim_end_matches('/');
    let body = render(base, &owner, &tasks, now());
    Ok((
        ContentType::new("text", "calendar").with_params(("charset", "utf-8")),
        body,
    ))
}

/// The feed's route.
pub fn routes() -> Vec<Route> {
    routes![feed]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_long_lines_folded_at_75_octets() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        let long = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&long);
        for l in folded.trim_end_matches("\r\n").split("\r\n") {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        assert_eq!(folded.replace("\r\n ", ""), format!("{long}\r\n"));
    }
}
