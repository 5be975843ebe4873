//! A member's time zone: an IANA name (`Europe/Berlin`), UTC by default,
//! stored on the user. The zone rules come from the tz database compiled
//! into the binary (`jiff`), so daylight saving changes are right whatever
//! the host has installed.

use std::sync::OnceLock;

use jiff::tz::TimeZone;

use crate::db::DbPool;
use crate::error::AppResult;

/// The zone members have until they choose one.
pub const DEFAULT: &str = "UTC";

/// Every zone a member may choose, sorted: the canonical `Area/City` names
/// of the tz database, and UTC.
pub fn names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut all: Vec<String> = jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_string())
            .filter(|n| {
                n == DEFAULT
                    || (n.contains('/')
                        && !n.starts_with("Etc/")
                        && !n.starts_with("SystemV/")
                        && !n.starts_with("posix/")
                        && !n.starts_with("right/")
                        && n.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
            })
            .collect();
        all.sort();
        all.dedup();
        all
    })
}

/// The `<option>`s of a select over [`names`], with `chosen` selected.
///
/// Rendered once and copied: the profile page's template rendered its 500
/// options on every view, which cost more than the rest of the page with
/// its database read (bench/run.sh, `profile`). Names that are not plain
/// `Area/City` text are left out rather than escaped (the tz database has
/// none).
pub fn options_html(chosen: &str) -> String {
    static OPTIONS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let options = OPTIONS.get_or_init(|| {
        names()
            .iter()
            .filter(|n| {
                n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
            })
            .map(|n| (n.as_str(), format!("<option value=\"{n}\">{n}</option>\n")))
            .collect()
    });
    let mut html = String::with_capacity(options.iter().map(|(_, o)| o.len()).sum::<usize>() + 9);
    for (name, option) in options {
        if *name == chosen {
            html.push_str(&format!(
                "<option value=\"{name}\" selected>{name}</option>\n"
            ));
        } else {
            html.push_str(option);
        }
    }
    html
}

/// The zone a stored or typed name stands for, if it is one we offer.
pub fn parse(name: &str) -> Option<TimeZone> {
    let name = name.trim();
    if !names().iter().any(|n| n == name) {
        return None;
    }
    jiff::tz::db().get(name).ok()
}

/// A zone by name, UTC for a name that is not (or no longer) known.
pub fn zone(name: &str) -> TimeZone {
    parse(name).unwrap_or(TimeZone::UTC)
}

/// The name of the zone user `id` chose (UTC when there is no such user).
pub async fn name_of(db: &DbPool, id: i64) -> AppResult<String> {
    let name: Option<String> = sqlx::query_scalar("SELECT time_zone FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(name.unwrap_or_else(|| DEFAULT.to_string()))
}

/// The zone user `id` chose.
pub async fn of(db: &DbPool, id: i64) -> AppResult<TimeZone> {
    Ok(zone(&name_of(db, id).await?))
}

/// Store user `id`'s zone; `name` must be one of [`names`].
pub async fn set(db: &DbPool, id: i64, name: &str) -> AppResult<()> {
    sqlx::query("UPDATE users SET time_zone = $1, updated_at = $2 WHERE id = $3")
        .bind(name)
        .bind(crate::db::now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    // The profile page shows it.
    crate::session::user_changed(db, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_offer_every_zone_with_the_chosen_one_selected() {
        let html = options_html("Europe/Berlin");
        assert_eq!(html.matches("<option ").count(), names().len());
        assert_eq!(html.matches(" selected>").count(), 1);
        assert!(html.contains("<option value=\"Europe/Berlin\" selected>Europe/Berlin</option>"));
        assert!(html.contains("<option value=\"UTC\">UTC</option>"));
        assert_eq!(options_html("Mars/<b>").matches(" selected").count(), 0);
    }

    #[test]
    fn known_zones_are_offered_and_others_refused() {
        assert!(names().iter().any(|n| n == "Europe/Berlin"));
        assert!(names().iter().any(|n| n == "America/New_York"));
        assert!(names().iter().any(|n| n == "UTC"));
        assert!(parse("Europe/Berlin").is_some());
        assert!(parse("Mars/Olympus").is_none());
        assert!(parse("").is_none());
    }
}
