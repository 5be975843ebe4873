//! The JSON API's request bodies and answers. Their values are checked by
//! the same functions as the forms' (`model.rs`).

use serde::{Deserialize, Deserializer, Serialize};

/// Distinguishes a field left out (`None`) from one sent as `null`
/// (`Some(None)`), so PUT can clear a value.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /tasks` and `PUT /tasks/{project}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectRequest {
    pub name: Option<String>,
    pub archived: Option<bool>,
}

impl crate::api::json::Fields for ProjectRequest {
    const FIELDS: &'static [&'static str] = &["name", "archived"];
}

/// `POST /tasks/{project}/members` and `PUT …/members/{user}`.
#[derive(Debug, Clone, Deserialize)]
pub struct MemberRequest {
    pub who: Option<String>,
    pub role: Option<String>,
}

impl crate::api::json::Fields for MemberRequest {
    const FIELDS: &'static [&'static str] = &["who", "role"];
}

/// `POST /tasks/{project}/columns` and `PUT …/columns/{column}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ColumnRequest {
    pub name: Option<String>,
    pub done: Option<bool>,
}

impl crate::api::json::Fields for ColumnRequest {
    const FIELDS: &'static [&'static str] = &["name", "done"];
}

/// `POST /tasks/{project}/items` and `PUT …/items/{task}`. On PUT, fields
/// left out keep their value, `null` clears an optional one, and `version`
/// is required.
#[derive(Debug, Clone, Deserialize)]
pub struct TaskRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub assignee_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub due_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub due_time: Option<Option<String>>,
    pub priority: Option<String>,
    pub column_id: Option<i64>,
    pub version: Option<i64>,
}

impl crate::api::json::Fields for TaskRequest {
    const FIELDS: &'static [&'static str] = &[
        "title",
        "description",
        "assignee_id",
        "due_date",
        "due_time",
        "priority",
        "column_id",
        "version",
    ];
}

/// `POST /tasks/{project}/items/{task}/move`: the column, and the task to
/// stand before (the end of the column when left out).
#[derive(Debug, Clone, Deserialize)]
pub struct MoveRequest {
    pub column_id: i64,
    pub before_id: Option<i64>,
}

impl crate::api::json::Fields for MoveRequest {
    const FIELDS: &'static [&'static str] = &["column_id", "before_id"];
}

/// A project as the API shows it, with the caller's role.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectJson {
    pub id: i64,
    pub name: String,
    pub archived: bool,
    pub role: &'static str,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One page of `GET /tasks`.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectPage {
    pub projects: Vec<ProjectJson>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// A member as the API shows them.
#[derive(Debug, Clone, Serialize)]
pub struct MemberJson {
    pub user_id: i64,
    pub username: String,
    pub role: &'static str,
}

/// A column as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnJson {
    pub id: i64,
    pub name: String,
    pub position: i64,
    pub done: bool,
}

/// `GET /tasks/{project}`: the project, its columns and members.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectDetail {
    #[serde(flatten)]
    pub project: ProjectJson,
    pub columns: Vec<ColumnJson>,
    pub members: Vec<MemberJson>,
}

/// A task as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskJson {
    pub id: i64,
    pub project_id: i64,
    pub column_id: i64,
    pub position: i64,
    pub title: String,
    pub description: String,
    pub assignee_id: Option<i64>,
    pub assignee: Option<String>,
    pub due_date: Option<String>,
    pub due_time: Option<String>,
    /// When a timed task is due, as an instant (RFC 3339, UTC); `due_date`
    /// and `due_time` are that instant in the caller's time zone.
    pub due_at: Option<String>,
    pub priority: &'static str,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
    pub completed_by: Option<i64>,
}

/// One page of `GET /tasks/{project}/items`.
#[derive(Debug, Clone, Serialize)]
pub struct TaskPage {
    pub tasks: Vec<TaskJson>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}
