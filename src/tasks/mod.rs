//! Tasks: projects shared by their members (owners, editors, viewers), a
//! board of ordered columns that works without JavaScript, tasks with a
//! Markdown description, assignee, due date and priority, an activity line
//! for every change, safe concurrent edits, and a JSON API on the same
//! paths. Shaped like notes: `routes.rs` (project pages), `task_routes.rs`
//! (task pages), `list.rs` (the filtered list), `api.rs` and `task_api.rs`
//! (JSON), `model.rs` (input and validation), `json.rs` (API bodies and
//! answers), `actions.rs` (who may do what, and the changes pages and API
//! share), `repo.rs` (projects and members), `columns.rs`, `items.rs`,
//! `moves.rs` and `comments.rs` (SQL), `views.rs` (templates); labels
//! (`labels.rs`), checklists (`checklist.rs`), what cards show of both
//! (`cards.rs`) and their page forms (`card_routes.rs`); the list's
//! filters, sort orders and paging (`query.rs`).

mod actions;
mod api;
mod calendar;
mod card_routes;
pub mod cards;
pub mod checklist;
pub mod columns;
pub mod comments;
pub mod items;
pub mod json;
mod label_api;
pub mod labels;
mod list;
pub mod model;
pub mod moves;
mod notices;
mod preferences;
pub mod query;
pub mod reminders;
pub mod repo;
mod routes;
mod task_api;
mod task_routes;
mod todo_backend;
mod views;
pub mod zone;

use rocket::fairing::AdHoc;
use rocket::Route;
use serde::{Deserialize, Serialize};

/// The `tasks` table of the configuration, read by this stage alone.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct TasksConfig {
    /// Projects one member may create per hour.
    pub projects_per_hour: i64,
    /// Tasks and comments one member may create per hour.
    pub tasks_per_hour: i64,
    /// Most tasks one board column shows (the list view pages through the
    /// rest). Each card carries its move forms, about 1.5 KB: at 100 a
    /// board of four full columns was 600 KB and its Postgres p99 sat at
    /// the 20 ms target (bench/tasks-pages.sh); 50 keeps a column longer
    /// than a screen and the page under half that.
    pub board_column_limit: i64,
    /// The hour (0 to 23, in each member's time zone) of the morning
    /// reminder on the day a task is due.
    pub reminder_hour: i64,
}

impl Default for TasksConfig {
    fn default() -> Self {
        TasksConfig {
            projects_per_hour: 20,
            tasks_per_hour: 600,
            board_column_limit: 50,
            reminder_hour: 8,
        }
    }
}

impl TasksConfig {
    /// `tasks` from the figment (the defaults when it is absent).
    fn from_rocket(rocket: &rocket::Rocket<rocket::Build>) -> Result<Self, String> {
        let cfg = match rocket.figment().extract_inner::<TasksConfig>("tasks") {
            Ok(cfg) => cfg,
            Err(e) if e.missing() => TasksConfig::default(),
            Err(e) => return Err(e.to_string()),
        };
        if cfg.projects_per_hour < 1 || cfg.tasks_per_hour < 1 || cfg.board_column_limit < 1 {
            return Err(
                "tasks.projects_per_hour, tasks.tasks_per_hour and tasks.board_column_limit \
                 must be at least 1"
                    .into(),
            );
        }
        if !(0..=23).contains(&cfg.reminder_hour) {
            return Err("tasks.reminder_hour must be an hour from 0 to 23".into());
        }
        Ok(cfg)
    }
}

/// The JSON API routes of tasks (the OpenAPI test checks each is documented).
pub fn api_routes() -> Vec<Route> {
    let mut all = api::routes();
    all.extend(task_api::routes());
    all.extend(comments::api_routes());
    all.extend(label_api::api_routes());
    all.extend(checklist::api_routes());
    all
}

/// The tasks feature, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Tasks", |rocket| async {
        let cfg = match TasksConfig::from_rocket(&rocket) {
            Ok(cfg) => cfg,
            Err(problem) => {
                log::error!("invalid tasks configuration: {problem}");
                return Err(rocket);
            }
        };
        let hour = cfg.reminder_hour;
        Ok(rocket
            .attach(AdHoc::try_on_ignite(
                "Tasks reminders",
                move |rocket| async move {
                    // Nested, so it runs once the database is open.
                    let (Some(app), Some(db), Some(registry)) = (
                        rocket.state::<crate::config::AppConfig>(),
                        <crate::db::Db as rocket_db_pools::Database>::fetch(&rocket),
                        rocket.state::<crate::jobs::Registry>(),
                    ) else {
                        log::error!("the tasks stage needs the config, database and jobs stages");
                        return Err(rocket);
                    };
                    reminders::register(registry, (**db).clone(), &app.base_url, hour);
                    Ok(rocket)
                },
            ))
            .manage(cfg)
            .mount("/", routes::routes())
            .mount("/", task_routes::routes())
            .mount("/", list::routes())
            .mount("/", preferences::routes())
            .mount("/", calendar::routes())
            .mount("/", todo_backend::routes())
            .mount("/", card_routes::routes())
            .mount("/", api_routes()))
    })
}
