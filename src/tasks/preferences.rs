//! `/tasks/preferences`: a member's own settings for tasks: which
//! reminders they are mailed, and the secret address of their calendar
//! feed (shown once when made; only its hash is stored, so making a new
//! one revokes the old).

use askama::Template;
use rocket::{get, post, routes, FromForm, Route, State};
use sqlx::AnyConnection;

use super::reminders;
use crate::config::AppConfig;
use crate::db::{begin_write, Db, DbPool};
use crate::error::AppResult;
use crate::session::{hash_token, random_token, CsrfForm, CurrentUser, NoFields};
use crate::web::{Layout, Reply};

/// A member's stored task settings.
#[derive(Debug, Default, Clone, sqlx::FromRow)]
pub struct Settings {
    pub remind_due: i64,
    pub remind_assigned: i64,
    pub calendar_hash: Option<String>,
    pub todo_hash: Option<String>,
}

/// The settings of `user_id` (all off when never saved).
pub async fn of(db: &DbPool, user_id: i64) -> AppResult<Settings> {
    let row: Option<Settings> = sqlx::query_as(
        "SELECT remind_due, remind_assigned, calendar_hash, todo_hash FROM task_user_settings \
         WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.unwrap_or_default())
}

/// Make sure `user_id` has a settings row to update.
pub async fn ensure_row(conn: &mut AnyConnection, user_id: i64) -> AppResult<()> {
    sqlx::query("INSERT INTO task_user_settings (user_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The member whose calendar secret is `secret`.
pub async fn calendar_owner(db: &DbPool, secret: &str) -> AppResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM task_user_settings WHERE calendar_hash = $1")
            .bind(hash_token(secret))
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// `GET /tasks/preferences`.
#[derive(Template)]
#[template(path = "tasks/preferences.html")]
pub struct PreferencesPage {
    pub layout: Layout,
    pub settings: Settings,
    /// The calendar address just made (shown this once), if any.
    pub new_calendar: Option<String>,
    /// The Todo-Backend address just made (shown this once), if any.
    pub new_todo: Option<String>,
    /// The configured reminder hour, as "08:00".
    pub hour: String,
}

async fn page(
    db: &DbPool,
    cfg: &super::TasksConfig,
    layout: Layout,
    user_id: i64,
    new_calendar: Option<String>,
) -> AppResult<PreferencesPage> {
    Ok(PreferencesPage {
        layout,
        settings: of(db, user_id).await?,
        new_calendar,
        new_todo: None,
        hour: format!("{:02}:00", cfg.reminder_hour),
    })
}

#[get("/tasks/preferences")]
async fn show(
    db: &Db,
    cfg: &State<super::TasksConfig>,
    user: CurrentUser,
    layout: Layout,
) -> AppResult<Reply> {
    Reply::page(&page(db, cfg, layout, user.id, None).await?)
}

/// The reminders form: two checkboxes.
#[derive(Debug, Default, FromForm)]
pub struct ReminderForm {
    #[field(default = false)]
    remind_due: bool,
    #[field(default = false)]
    remind_assigned: bool,
}

#[post("/tasks/preferences", data = "<form>")]
async fn save(db: &Db, user: CurrentUser, form: CsrfForm<ReminderForm>) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let mut tx = begin_write(db).await?;
    ensure_row(&mut tx, user.id).await?;
    sqlx::query(
        "UPDATE task_user_settings SET remind_due = $1, remind_assigned = $2 WHERE user_id = $3",
    )
    .bind(i64::from(form.remind_due))
    .bind(i64::from(form.remind_assigned))
    .bind(user.id)
    .execute(&mut *tx)
    .await?;
    reminders::user_changed(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(Reply::success(
        "/tasks/preferences",
        "Your reminder settings have been saved.",
    ))
}

/// Make a new calendar address (the old one stops working) and show it once.
#[post("/tasks/preferences/calendar", data = "<_form>")]
async fn new_calendar(
    db: &Db,
    app: &State<AppConfig>,
    cfg: &State<super::TasksConfig>,
    user: CurrentUser,
    layout: Layout,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let secret = random_token();
    let mut tx = begin_write(db).await?;
    ensure_row(&mut tx, user.id).await?;
    sqlx::query("UPDATE task_user_settings SET calendar_hash = $1 WHERE user_id = $2")
        .bind(hash_token(&secret))
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let url = format!(
        "{}/tasks/calendar/{secret}.ics",
        app.base_url.trim_end_matches('/')
    );
    Reply::page(&page(db, cfg, layout, user.id, Some(url)).await?)
}

/// Turn the calendar address off.
#[post("/tasks/preferences/calendar/revoke", data = "<_form>")]
async fn revoke_calendar(
    db: &Db,
    user: CurrentUser,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    sqlx::query("UPDATE task_user_settings SET calendar_hash = NULL WHERE user_id = $1")
        .bind(user.id)
        .execute(&db.pool)
        .await?;
    Ok(Reply::success(
        "/tasks/preferences",
        "Your calendar address no longer works.",
    ))
}

/// Turn the Todo-Backend list on under a new address (revoking the old
/// one) and show it once.
#[post("/tasks/preferences/todo-backend", data = "<_form>")]
async fn new_todo(
    db: &Db,
    app: &State<AppConfig>,
    cfg: &State<super::TasksConfig>,
    user: CurrentUser,
    layout: Layout,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let url = super::todo_backend::enable(db, app, user.id).await?;
    let mut p = page(db, cfg, layout, user.id, None).await?;
    p.new_todo = Some(url);
    Reply::page(&p)
}

/// The preferences routes.
pub fn routes() -> Vec<Route> {
    routes![show, save, new_calendar, revoke_calendar, new_todo]
}
