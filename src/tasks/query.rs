//! The task list's filters, sort orders and paging, shared by the list page
//! and `GET /tasks/{project}/items`: by column (status), assignee (or
//! nobody), label, due before/after (inclusive, days in the member's time
//! zone), overdue (open and past due, as the member's clock sees it), and
//! words in the title or description; sorted by board
//! order, due date, priority, creation, last change or title, either way,
//! with the task id as the tie-breaker so pages never repeat or skip a row.
//! Paging is bounded: no page starts deeper than [`MAX_DEPTH`] rows, so the
//! slowest page costs the same as that one (narrow the filters for more).

use sqlx::FromRow;

use jiff::tz::TimeZone;

use super::items::{Task, SELECT};
use super::zone;
use crate::db::{contains, search_text, DbPool};
use crate::error::{AppResult, FieldErrors};

/// The deepest row a page may start at.
pub const MAX_DEPTH: i64 = 5_000;

/// Whose tasks the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    Member(i64),
    Nobody,
}

/// How the list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Column by column, in card order.
    #[default]
    Board,
    Due,
    Priority,
    Created,
    Updated,
    Title,
}

/// The sort names the list and the API accept.
pub const SORTS: [&str; 6] = ["board", "due", "priority", "created", "updated", "title"];

impl Sort {
    /// The sort named `name` ("" is board order).
    pub fn parse(name: &str) -> Option<Sort> {
        Some(match name.trim() {
            "" | "board" => Sort::Board,
            "due" => Sort::Due,
            "priority" => Sort::Priority,
            "created" => Sort::Created,
            "updated" => Sort::Updated,
            "title" => Sort::Title,
            _ => return None,
        })
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        SORTS[self as usize]
    }
}

/// What a task list is narrowed to, and its order.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub column_id: Option<i64>,
    pub assignee: Option<Assignee>,
    pub label_id: Option<i64>,
    /// YYYY-MM-DD, inclusive, in the member's time zone.
    pub due_before: Option<String>,
    pub due_after: Option<String>,
    /// Open and past due: an all-day task due before `today`, a timed one
    /// due before `now`.
    pub overdue: bool,
    /// Words searched for in the title and description.
    pub q: String,
    pub sort: Sort,
    pub desc: bool,
    /// Today's date (YYYY-MM-DD) in the member's time zone, for `overdue`.
    pub today: String,
    /// Now, in unix seconds, for `overdue`.
    pub now: i64,
    /// Where `due_before`'s day ends and `due_after`'s begins in the
    /// member's time zone: a task due at a time is stored as an instant
    /// (its `due_date` is the UTC date), so it is compared with these.
    pub due_before_end: Option<i64>,
    pub due_after_start: Option<i64>,
}

/// A YYYY-MM-DD date from a query string, or a field error.
pub fn date_param(value: &str, field: &'static str, errors: &mut FieldErrors) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(v, &format) {
        Ok(d) => Some(d.format(&format).unwrap_or_default()),
        Err(_) => {
            errors.add(field, "Use a date as YYYY-MM-DD.");
            None
        }
    }
}

/// The instant `date`'s day (YYYY-MM-DD) begins in `tz`, `days` later.
fn day_start(date: &str, days: i64, tz: &TimeZone) -> Option<i64> {
    let d: jiff::civil::Date = date.parse().ok()?;
    let d = d.checked_add(jiff::Span::new().days(days)).ok()?;
    zone::instant(&d.to_string(), "00:00", tz)
}

/// The list's parameters as sent (the API's names; the page maps its own).
#[derive(Debug, Default, Clone, Copy)]
pub struct Params<'a> {
    pub column_id: Option<&'a str>,
    /// A member's id, or "none" for unassigned tasks.
    pub assignee_id: Option<&'a str>,
    pub label_id: Option<&'a str>,
    pub due_before: Option<&'a str>,
    pub due_after: Option<&'a str>,
    /// "1" or "true".
    pub overdue: Option<&'a str>,
    pub q: Option<&'a str>,
    pub sort: Option<&'a str>,
    /// "asc" or "desc".
    pub dir: Option<&'a str>,
}

/// Longest search text, in characters.
pub const Q_MAX: usize = super::model::QUERY_MAX;

/// An optional id from a query string ("" is none), or a field error.
fn id_param(value: Option<&str>, field: &'static str, errors: &mut FieldErrors) -> Option<i64> {
    let v = value?.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(field, "Use a whole number.");
            None
        }
    }
}

impl Params<'_> {
    /// The query these ask for, with a field error for each value that
    /// cannot be read (the value then counts as not sent).
    /// Dates are days in `tz`, the member's time zone.
    pub fn query(&self, tz: &TimeZone, errors: &mut FieldErrors) -> ListQuery {
        let assignee = match self.assignee_id.map(str::trim) {
            Some("none") => Some(Assignee::Nobody),
            other => id_param(other, "assignee_id", errors).map(Assignee::Member),
        };
        let overdue = match self.overdue.map(str::trim).unwrap_or("") {
            "" | "0" | "false" => false,
            "1" | "true" | "on" => true,
            _ => {
                errors.add("overdue", "Use true or false.");
                false
            }
        };
        let q = self.q.unwrap_or("");
        if q.chars().count() > Q_MAX {
            errors.add("q", format!("Use at most {Q_MAX} characters."));
        }
        let sort = Sort::parse(self.sort.unwrap_or("")).unwrap_or_else(|| {
            errors.add("sort", format!("Sort by one of: {}.", SORTS.join(", ")));
            Sort::Board
        });
        let desc = match self.dir.map(str::trim).unwrap_or("") {
            "" | "asc" => false,
            "desc" => true,
            _ => {
                errors.add("dir", "Use asc or desc.");
                false
            }
        };
        let due_before = date_param(self.due_before.unwrap_or(""), "due_before", errors);
        let due_after = date_param(self.due_after.unwrap_or(""), "due_after", errors);
        ListQuery {
            column_id: id_param(self.column_id, "column_id", errors),
            assignee,
            label_id: id_param(self.label_id, "label_id", errors),
            due_before_end: due_before.as_deref().and_then(|d| day_start(d, 1, tz)),
            due_after_start: due_after.as_deref().and_then(|d| day_start(d, 0, tz)),
            due_before,
            due_after,
            overdue,
            q: q.chars().take(Q_MAX).collect(),
            sort,
            desc,
            today: zone::today(tz).to_string(),
            now: crate::db::now(),
        }
    }
}

enum Arg {
    Int(i64),
    Text(String),
}

/// Add a condition with one argument (`clause` gets its placeholder number).
fn add(clauses: &mut Vec<String>, args: &mut Vec<Arg>, a: Arg, clause: impl Fn(usize) -> String) {
    args.push(a);
    clauses.push(clause(args.len()));
}

/// Add a condition on a task's due day: `timed` compares a task due at a
/// time (its instant `due_at` with the first argument), `all_day` one due
/// on a plain date (`due_date` with the second).
fn add_due(
    clauses: &mut Vec<String>,
    args: &mut Vec<Arg>,
    instant: i64,
    date: &str,
    timed: &str,
    all_day: &str,
) {
    args.push(Arg::Int(instant));
    args.push(Arg::Text(date.to_string()));
    let (i, d) = (args.len() - 1, args.len());
    clauses.push(format!(
        "((t.due_at IS NOT NULL AND t.due_at {timed} ${i}) \
         OR (t.due_at IS NULL AND t.due_date {all_day} ${d}))"
    ));
}

/// The ORDER BY of a sort.
fn order_by(sort: Sort, desc: bool) -> String {
    let d = if desc { "DESC" } else { "ASC" };
    match sort {
        Sort::Board => format!("k.position {d}, t.position {d}, t.id {d}"),
        // Undated tasks come last either way.
        Sort::Due => format!(
            "CASE WHEN t.due_date IS NULL THEN 1 ELSE 0 END, t.due_date {d}, \
             CASE WHEN t.due_time IS NULL THEN 0 ELSE 1 END {d}, t.due_time {d}, t.id {d}"
        ),
        Sort::Priority => format!("t.priority {d}, t.id {d}"),
        Sort::Created => format!("t.created_at {d}, t.id {d}"),
        Sort::Updated => format!("t.updated_at {d}, t.id {d}"),
        Sort::Title => format!("LOWER(t.title) {d}, t.id {d}"),
    }
}

/// The project's tasks matching `query`, in its order, and how many match.
/// `offset` beyond [`MAX_DEPTH`] reads as [`MAX_DEPTH`].
pub async fn list(
    db: &DbPool,
    project_id: i64,
    query: &ListQuery,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<Task>, i64)> {
    let mut clauses = vec!["t.project_id = $1".to_string()];
    let mut args = vec![Arg::Int(project_id)];
    if let Some(c) = query.column_id {
        add(&mut clauses, &mut args, Arg::Int(c), |n| {
            format!("t.column_id = ${n}")
        });
    }
    match query.assignee {
        Some(Assignee::Member(a)) => {
            add(&mut clauses, &mut args, Arg::Int(a), |n| {
                format!("t.assignee_id = ${n}")
            });
        }
        Some(Assignee::Nobody) => clauses.push("t.assignee_id IS NULL".into()),
        None => {}
    }
    if let Some(l) = query.label_id {
        add(&mut clauses, &mut args, Arg::Int(l), |n| {
            format!(
                "EXISTS (SELECT 1 FROM task_label_links x WHERE x.task_id = t.id AND x.label_id = ${n})"
            )
        });
    }
    if let (Some(d), Some(end)) = (&query.due_before, query.due_before_end) {
        add_due(&mut clauses, &mut args, end, d, "<", "<=");
    }
    if let (Some(d), Some(start)) = (&query.due_after, query.due_after_start) {
        add_due(&mut clauses, &mut args, start, d, ">=", ">=");
    }
    if query.overdue {
        add_due(&mut clauses, &mut args, query.now, &query.today, "<", "<");
        clauses.push("t.completed_at IS NULL".into());
    }
    if !query.q.trim().is_empty() {
        add(
            &mut clauses,
            &mut args,
            Arg::Text(search_text(&query.q)),
            |n| {
                let [title, description] = ["t.title", "t.description"]
                    .map(|column| contains(db.backend, column, &format!("${n}")));
                format!("({title} OR {description})")
            },
        );
    }
    let filter_sql = clauses.join(" AND ");
    let count_sql = format!("SELECT COUNT(*) FROM tasks t WHERE {filter_sql}");
    let n = args.len();
    let join = if query.sort == Sort::Board {
        " JOIN task_columns k ON k.id = t.column_id"
    } else {
        ""
    };
    // The page, read in index order where the sort has an index, so it
    // stops at the page's end; then the count, only when the page does not
    // tell it (a first page that is not full holds every match). A window
    // `COUNT(*) OVER ()` would read and sort every match for every page.
    let list_sql = format!(
        "{SELECT}{join} WHERE {filter_sql} ORDER BY {} LIMIT ${} OFFSET ${}",
        order_by(query.sort, query.desc),
        n + 1,
        n + 2
    );
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    let mut rows = sqlx::query(&list_sql);
    for a in &args {
        match a {
            Arg::Int(i) => {
                count = count.bind(*i);
                rows = rows.bind(*i);
            }
            Arg::Text(s) => {
                count = count.bind(s.clone());
                rows = rows.bind(s.clone());
            }
        }
    }
    let offset = offset.clamp(0, MAX_DEPTH);
    let found = rows.bind(limit).bind(offset).fetch_all(&db.pool).await?;
    let total = if offset == 0 && (found.len() as i64) < limit {
        found.len() as i64
    } else {
        count.fetch_one(&db.pool).await?
    };
    let tasks = found
        .iter()
        .map(Task::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((tasks, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_parse_by_name_and_dates_are_checked() {
        for name in SORTS {
            assert_eq!(Sort::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(Sort::parse(""), Some(Sort::Board));
        assert_eq!(Sort::parse("random"), None);
        let mut errors = FieldErrors::default();
        assert_eq!(
            date_param("2026-12-07", "due_before", &mut errors).as_deref(),
            Some("2026-12-07")
        );
        assert_eq!(date_param("", "due_before", &mut errors), None);
        assert!(errors.is_empty());
        assert_eq!(date_param("2026-13-01", "due_before", &mut errors), None);
        assert!(errors.get("due_before").is_some());
    }
}
