//! Tasks input and its validation: one validation per thing (project,
//! member, column, task), shared by the forms and the API (whose bodies
//! and answers are in `json.rs`), so the rules cannot drift.

use rocket::form::FromForm;

use crate::error::FieldErrors;
use crate::web::text::{check_length, one_line};

/// Longest project or column name, in characters.
pub const NAME_MAX: usize = 100;
/// Longest task title, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest task description, in characters.
pub const DESCRIPTION_MAX: usize = 20_000;
/// Longest search text.
pub const QUERY_MAX: usize = 200;
/// Most columns one project may have.
pub const COLUMNS_MAX: i64 = 20;
/// The names `priority` takes, from 0 (none) to 4 (urgent).
pub const PRIORITIES: [&str; 5] = ["none", "low", "medium", "high", "urgent"];

/// A member's role in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Manages the project: name, members, columns, deletion.
    Owner,
    /// Creates, edits and moves tasks.
    Editor,
    /// Reads only.
    Viewer,
}

impl Role {
    /// The role a stored or typed name stands for.
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "owner" => Some(Role::Owner),
            "editor" => Some(Role::Editor),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }
}

/// A role from a form or a body, or a message beside `role`.
pub fn parse_role(s: &str, errors: &mut FieldErrors) -> Role {
    Role::parse(s).unwrap_or_else(|| {
        errors.add("role", "Choose owner, editor or viewer.");
        Role::Viewer
    })
}

/// A project or column name: one line, 1 to [`NAME_MAX`] characters.
pub fn validate_name(name: &str, errors: &mut FieldErrors) -> String {
    let name = one_line(name);
    check_length(errors, "name", &name, NAME_MAX, "Give it a name.");
    name
}

/// A priority name (or its number) as stored, 0 to 4.
pub fn parse_priority(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    PRIORITIES
        .iter()
        .position(|p| *p == s)
        .or_else(|| s.parse::<usize>().ok().filter(|n| *n < PRIORITIES.len()))
        .map(|n| n as i64)
}

/// The name of a stored priority.
pub fn priority_name(p: i64) -> &'static str {
    PRIORITIES
        .get(usize::try_from(p).unwrap_or(0))
        .copied()
        .unwrap_or("none")
}

/// A validated task, ready to store. The assignee is checked to be a
/// member by the caller (it needs the database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInput {
    pub title: String,
    pub description: String,
    pub assignee_id: Option<i64>,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
    /// `HH:MM`, only with a date.
    pub due_time: Option<String>,
    /// The instant a timed task is due (unix seconds), once the date and
    /// time were read in a time zone (`TaskInput::in_zone`).
    pub due_at: Option<i64>,
    pub priority: i64,
}

/// The raw values of a task, from a form or a JSON body.
pub struct TaskFields<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub assignee_id: Option<i64>,
    pub due_date: &'a str,
    pub due_time: &'a str,
    pub priority: &'a str,
}

impl TaskInput {
    /// Validate raw values, collecting a message per field.
    pub fn validate(f: TaskFields<'_>) -> Result<TaskInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = one_line(f.title);
        check_length(
            &mut errors,
            "title",
            &title,
            TITLE_MAX,
            "Give the task a title.",
        );
        let description = f.description.replace("\r\n", "\n");
        let n = description.chars().count();
        if n > DESCRIPTION_MAX {
            errors.add(
                "description",
                format!("Use at most {DESCRIPTION_MAX} characters (you have {n})."),
            );
        }
        if description.contains('\0') {
            errors.add("description", "Remove the NUL character.");
        }
        let due_date = parse_date(f.due_date, &mut errors);
        let due_time = parse_clock(f.due_time, &mut errors);
        if due_time.is_some() && due_date.is_none() && errors.get("due_date").is_none() {
            errors.add("due_date", "Give a date for the time.");
        }
        let priority = parse_priority(f.priority).unwrap_or_else(|| {
            errors.add("priority", "Choose none, low, medium, high or urgent.");
            0
        });
        if errors.is_empty() {
            Ok(TaskInput {
                title,
                description,
                assignee_id: f.assignee_id,
                due_date,
                due_time,
                due_at: None,
                priority,
            })
        } else {
            Err(errors)
        }
    }
}

/// `YYYY-MM-DD` (what a date input sends), or none when empty.
fn parse_date(s: &str, errors: &mut FieldErrors) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(s, &format) {
        Ok(d) if (1900..=9999).contains(&d.year()) => d.format(&format).ok(),
        _ => {
            errors.add("due_date", "Use a date like 2026-12-31.");
            None
        }
    }
}

/// `HH:MM` (what a time input sends; seconds are dropped), or none.
fn parse_clock(s: &str, errors: &mut FieldErrors) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let short = time::macros::format_description!("[hour]:[minute]");
    let long = time::macros::format_description!("[hour]:[minute]:[second]");
    match time::Time::parse(s, &short).or_else(|_| time::Time::parse(s, &long)) {
        Ok(t) => t.format(&short).ok(),
        Err(_) => {
            errors.add("due_time", "Use a time like 09:30.");
            None
        }
    }
}

/// The task form as sent. `assignee` is a user id or empty for nobody;
/// `version` is the version the page was showing (0 for a new task).
#[derive(Debug, Clone, Default, FromForm)]
pub struct TaskForm {
    #[field(default = String::new())]
    pub title: String,
    #[field(default = String::new())]
    pub description: String,
    #[field(default = String::new())]
    pub assignee: String,
    #[field(default = String::new())]
    pub due_date: String,
    #[field(default = String::new())]
    pub due_time: String,
    #[field(default = String::new())]
    pub priority: String,
    #[field(default = String::new())]
    pub column: String,
    #[field(default = 0)]
    pub version: i64,
}

impl TaskForm {
    /// Validate every field, collecting a message per field.
    pub fn validate(&self) -> Result<TaskInput, FieldErrors> {
        let assignee = self.assignee.trim();
        let assignee_id = assignee.parse::<i64>().ok();
        let checked = TaskInput::validate(TaskFields {
            title: &self.title,
            description: &self.description,
            assignee_id,
            due_date: &self.due_date,
            due_time: &self.due_time,
            priority: &self.priority,
        });
        if assignee_id.is_none() && !assignee.is_empty() {
            let mut errors = checked.err().unwrap_or_default();
            errors.add("assignee", "Choose a member of the project, or nobody.");
            return Err(errors);
        }
        checked
    }
}

/// A project name as a form sends it.
#[derive(Debug, Clone, Default, FromForm)]
pub struct NameForm {
    #[field(default = String::new())]
    pub name: String,
}

/// A column as its form sends it.
#[derive(Debug, Clone, Default, FromForm)]
pub struct ColumnForm {
    #[field(default = String::new())]
    pub name: String,
    #[field(default = false)]
    pub done: bool,
}

/// Adding a member: a username or email address, and a role.
#[derive(Debug, Clone, Default, FromForm)]
pub struct MemberForm {
    #[field(default = String::new())]
    pub who: String,
    #[field(default = String::new())]
    pub role: String,
}

/// A new role for a member.
#[derive(Debug, Clone, Default, FromForm)]
pub struct RoleForm {
    #[field(default = String::new())]
    pub role: String,
}

/// A move without JavaScript: a column chosen in a select, or `to` =
/// `left` / `right` from the arrow buttons.
#[derive(Debug, Clone, Default, FromForm)]
pub struct MoveForm {
    #[field(default = String::new())]
    pub column: String,
    #[field(default = String::new())]
    pub to: String,
    /// The task to stand before (drag and drop); the end of the column when empty.
    #[field(default = String::new())]
    pub before: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(due_date: &'a str, due_time: &'a str, priority: &'a str) -> TaskFields<'a> {
        TaskFields {
            title: "Write the report",
            description: "",
            assignee_id: None,
            due_date,
            due_time,
            priority,
        }
    }

    #[test]
    fn dates_times_and_priorities_are_checked() {
        let t = TaskInput::validate(fields("2026-12-31", "09:30:00", "high")).unwrap();
        assert_eq!(t.due_date.as_deref(), Some("2026-12-31"));
        assert_eq!(t.due_time.as_deref(), Some("09:30"));
        assert_eq!(t.priority, 3);
        let e = TaskInput::validate(fields("2026-02-30", "25:00", "huge")).unwrap_err();
        assert!(e.get("due_date").is_some());
        assert!(e.get("due_time").is_some());
        assert!(e.get("priority").is_some());
        let e = TaskInput::validate(fields("", "10:00", "")).unwrap_err();
        assert_eq!(e.get("due_date"), Some("Give a date for the time."));
    }
}
