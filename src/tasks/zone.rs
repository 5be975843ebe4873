//! Due dates in a member's time zone. A task due at a time is stored as an
//! instant (`due_at`, unix seconds; `due_date`/`due_time` hold its UTC date
//! and time for ordering); an all-day task as a plain date. What a member
//! types is read in their zone ([`TaskInput::in_zone`]) and every task they
//! are shown is first put into their zone ([`Localise`]).

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::items::{Assigned, Task};
use super::model::TaskInput;
use crate::error::FieldErrors;

/// `YYYY-MM-DD`.
const DATE: &str = "%Y-%m-%d";
/// `HH:MM`.
const CLOCK: &str = "%H:%M";

/// The instant of wall-clock `date` `time` in `tz`. A time skipped by a
/// change to summer time is read as the same distance past the change
/// (02:30 on the spring-forward night is 03:30); a repeated one as its
/// first occurrence.
pub fn instant(date: &str, time: &str, tz: &TimeZone) -> Option<i64> {
    let d: Date = date.parse().ok()?;
    let t: Time = time.parse().ok()?;
    let z = DateTime::from_parts(d, t)
        .to_zoned_datetime(tz.clone())
        .ok()?;
    Some(z.timestamp().as_second())
}

/// The date and `HH:MM` instant `at` shows in `tz`.
pub fn wall_clock(at: i64, tz: &TimeZone) -> Option<(String, String)> {
    let z = Timestamp::from_second(at)
        .ok()?
        .to_zoned_datetime(tz.clone());
    Some((z.strftime(DATE).to_string(), z.strftime(CLOCK).to_string()))
}

/// Today's date in `tz`.
pub fn today(tz: &TimeZone) -> time::Date {
    let z = Timestamp::now().to_zoned_datetime(tz.clone());
    time::Date::from_calendar_date(
        i32::from(z.year()),
        time::Month::try_from(z.month() as u8).unwrap_or(time::Month::January),
        z.day() as u8,
    )
    .unwrap_or_else(|_| time::OffsetDateTime::now_utc().date())
}

impl TaskInput {
    /// Read the typed date and time as `tz`'s wall clock: a timed task
    /// becomes an instant (stored with its UTC date and time), an all-day
    /// task keeps its plain date.
    pub fn in_zone(mut self, tz: &TimeZone) -> Result<TaskInput, FieldErrors> {
        self.due_at = None;
        if let (Some(d), Some(t)) = (self.due_date.as_deref(), self.due_time.as_deref()) {
            let Some(at) = instant(d, t, tz) else {
                let mut errors = FieldErrors::default();
                errors.add("due_date", "Use a date like 2026-12-31.");
                return Err(errors);
            };
            let (ud, ut) = wall_clock(at, &TimeZone::UTC).unwrap_or_default();
            self.due_date = Some(ud);
            self.due_time = Some(ut);
            self.due_at = Some(at);
        }
        Ok(self)
    }
}

/// Something with a due date that a member is about to see.
pub trait Localise {
    /// Put its due date and time into `tz`'s wall clock.
    fn localise(&mut self, tz: &TimeZone);
}

fn localise_fields(
    due_at: Option<i64>,
    date: &mut Option<String>,
    time: &mut Option<String>,
    tz: &TimeZone,
) {
    if let Some((d, t)) = due_at.and_then(|at| wall_clock(at, tz)) {
        *date = Some(d);
        *time = Some(t);
    }
}

impl Localise for Task {
    fn localise(&mut self, tz: &TimeZone) {
        localise_fields(self.due_at, &mut self.due_date, &mut self.due_time, tz);
    }
}

impl Localise for Assigned {
    fn localise(&mut self, tz: &TimeZone) {
        localise_fields(self.due_at, &mut self.due_date, &mut self.due_time, tz);
    }
}

/// [`Localise::localise`] each of `items`.
pub fn localise_all<T: Localise>(items: &mut [T], tz: &TimeZone) {
    for item in items {
        item.localise(tz);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        jiff::tz::db().get(name).unwrap()
    }

    #[test]
    fn wall_clocks_follow_daylight_saving() {
        let berlin = tz("Europe/Berlin");
        // Winter: UTC+1; summer: UTC+2 (clocks went forward on 2027-03-28).
        assert_eq!(instant("2027-03-27", "09:00", &berlin), Some(1_806_134_400));
        assert_eq!(instant("2027-03-28", "09:00", &berlin), Some(1_806_217_200));
        let ny = tz("America/New_York");
        let at = instant("2026-11-01", "01:30", &ny).unwrap();
        // The repeated hour: its first (daylight-time) occurrence, UTC-4.
        assert_eq!(wall_clock(at, &TimeZone::UTC).unwrap().1, "05:30");
        // Skipped: 02:30 on the spring-forward night is read as 03:30.
        let at = instant("2027-03-14", "02:30", &ny).unwrap();
        assert_eq!(wall_clock(at, &ny).unwrap().1, "03:30");
    }
}
