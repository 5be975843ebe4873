//! Project and membership queries. Every read of a project goes through
//! the caller's membership: a project someone is not a member of behaves
//! exactly like one that does not exist.

use sqlx::AnyConnection;

use super::json::{MemberJson, ProjectJson};
use super::model::Role;
use crate::db::{affected, begin_write, now, DbPool};
use crate::error::AppResult;

/// The columns a new project starts with: name and whether tasks there are done.
pub const DEFAULT_COLUMNS: [(&str, bool); 3] = [("To do", false), ("Doing", false), ("Done", true)];

/// A project as one member sees it.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub archived: bool,
    /// The caller's role in it.
    pub role: Role,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct ProjectRow {
    id: i64,
    name: String,
    archived: i64,
    role: String,
    created_at: i64,
    updated_at: i64,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Self {
        Project {
            id: r.id,
            name: r.name,
            archived: r.archived != 0,
            role: Role::parse(&r.role).unwrap_or(Role::Viewer),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<&Project> for ProjectJson {
    fn from(p: &Project) -> Self {
        ProjectJson {
            id: p.id,
            name: p.name.clone(),
            archived: p.archived,
            role: p.role.as_str(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

const PROJECT_COLUMNS: &str = "p.id, p.name, p.archived, m.role, p.created_at, p.updated_at";

/// Project `id` if `user_id` is a member of it.
pub async fn project(db: &DbPool, id: i64, user_id: i64) -> AppResult<Option<Project>> {
    let row: Option<ProjectRow> = sqlx::query_as(&format!(
        "SELECT {PROJECT_COLUMNS} FROM task_projects p \
         JOIN task_members m ON m.project_id = p.id AND m.user_id = $2 WHERE p.id = $1"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(Into::into))
}

/// The member's projects, open ones first, then by name; and how many.
pub async fn projects(
    db: &DbPool,
    user_id: i64,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<Project>, i64)> {
    let rows: Vec<ProjectRow> = sqlx::query_as(&format!(
        "SELECT {PROJECT_COLUMNS} FROM task_projects p \
         JOIN task_members m ON m.project_id = p.id AND m.user_id = $1 \
         ORDER BY p.archived, p.name, p.id LIMIT $2 OFFSET $3"
    ))
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM task_members WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

/// Create a project owned by `user_id`, with the default columns.
pub async fn create(db: &DbPool, user_id: i64, name: &str) -> AppResult<i64> {
    let mut tx = begin_write(db).await?;
    let t = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO task_projects (name, archived, created_at, updated_at) \
         VALUES ($1, 0, $2, $2) RETURNING id",
    )
    .bind(name)
    .bind(t)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO task_members (project_id, user_id, role, added_at) VALUES ($1, $2, 'owner', $3)",
    )
    .bind(id)
    .bind(user_id)
    .bind(t)
    .execute(&mut *tx)
    .await?;
    for (i, (column, done)) in DEFAULT_COLUMNS.iter().enumerate() {
        sqlx::query(
            "INSERT INTO task_columns (project_id, name, position, done) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(*column)
        .bind(i as i64 + 1)
        .bind(i64::from(*done))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Rename a project and set whether it is archived.
pub async fn update(db: &DbPool, id: i64, name: &str, archived: bool) -> AppResult<()> {
    sqlx::query("UPDATE task_projects SET name = $1, archived = $2, updated_at = $3 WHERE id = $4")
        .bind(name)
        .bind(i64::from(archived))
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Delete a project with its tasks, columns and members.
pub async fn delete(db: &DbPool, id: i64) -> AppResult<()> {
    let mut tx = begin_write(db).await?;
    // Tasks first: they refer to the columns.
    sqlx::query("DELETE FROM tasks WHERE project_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM task_projects WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A project's member.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
}

impl From<&Member> for MemberJson {
    fn from(m: &Member) -> Self {
        MemberJson {
            user_id: m.user_id,
            username: m.username.clone(),
            role: m.role.as_str(),
        }
    }
}

/// The project's members: owners first, then by username.
pub async fn members(db: &DbPool, project_id: i64) -> AppResult<Vec<Member>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT u.id, u.username, m.role FROM task_members m JOIN users u ON u.id = m.user_id \
         WHERE m.project_id = $1 \
         ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'editor' THEN 1 ELSE 2 END, u.username",
    )
    .bind(project_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user_id, username, role)| Member {
            user_id,
            username,
            role: Role::parse(&role).unwrap_or(Role::Viewer),
        })
        .collect())
}

/// The member `user_id` of the project, if they are one.
pub async fn member(db: &DbPool, project_id: i64, user_id: i64) -> AppResult<Option<Member>> {
    Ok(members(db, project_id)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id))
}

/// The enabled account with this username or email address.
pub async fn find_user(db: &DbPool, who: &str) -> AppResult<Option<i64>> {
    let who = who.trim();
    Ok(sqlx::query_scalar(
        "SELECT id FROM users WHERE (username = $1 OR email = $2) AND disabled = 0",
    )
    .bind(who)
    .bind(who.to_lowercase())
    .fetch_optional(&db.pool)
    .await?)
}

/// Add `user_id` to the project. False when they already are a member.
pub async fn add_member(db: &DbPool, project_id: i64, user_id: i64, role: Role) -> AppResult<bool> {
    let done = sqlx::query(
        "INSERT INTO task_members (project_id, user_id, role, added_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (project_id, user_id) DO NOTHING",
    )
    .bind(project_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(affected(&done) == 1)
}

/// What a change to the members did.
#[derive(Debug, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    /// The user is not a member of the project.
    NotMember,
    /// Refused: the project would be left without an owner.
    LastOwner,
}

/// Changes to one project's members take turns, so that two owners
/// demoting each other at once cannot both pass the last-owner check: the
/// transaction first updates the project's row (changing nothing), which
/// on Postgres holds that row's lock until commit, so a second change
/// waits and then counts again; on SQLite the write transaction already
/// holds the database's write lock. The same SQL on both.
async fn lock_members(conn: &mut AnyConnection, project_id: i64) -> AppResult<()> {
    sqlx::query("UPDATE task_projects SET updated_at = updated_at WHERE id = $1")
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The member's role and how many owners the project has, in `conn`.
async fn role_and_owners(
    conn: &mut AnyConnection,
    project_id: i64,
    user_id: i64,
) -> AppResult<(Option<Role>, i64)> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM task_members WHERE project_id = $1 AND user_id = $2")
            .bind(project_id)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    let owners: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM task_members WHERE project_id = $1 AND role = 'owner'",
    )
    .bind(project_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((role.as_deref().and_then(Role::parse), owners))
}

/// Give a member another role; the last owner keeps theirs.
pub async fn set_role(
    db: &DbPool,
    project_id: i64,
    user_id: i64,
    role: Role,
) -> AppResult<MemberChange> {
    let mut tx = begin_write(db).await?;
    lock_members(&mut tx, project_id).await?;
    let (current, owners) = role_and_owners(&mut tx, project_id, user_id).await?;
    let Some(current) = current else {
        return Ok(MemberChange::NotMember);
    };
    if current == Role::Owner && role != Role::Owner && owners <= 1 {
        return Ok(MemberChange::LastOwner);
    }
    sqlx::query("UPDATE task_members SET role = $1 WHERE project_id = $2 AND user_id = $3")
        .bind(role.as_str())
        .bind(project_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(MemberChange::Done)
}

/// Remove a member (or let one leave); their tasks in the project are
/// unassigned. The last owner stays.
pub async fn remove_member(db: &DbPool, project_id: i64, user_id: i64) -> AppResult<MemberChange> {
    let mut tx = begin_write(db).await?;
    lock_members(&mut tx, project_id).await?;
    let (current, owners) = role_and_owners(&mut tx, project_id, user_id).await?;
    let Some(current) = current else {
        return Ok(MemberChange::NotMember);
    };
    if current == Role::Owner && owners <= 1 {
        return Ok(MemberChange::LastOwner);
    }
    sqlx::query("DELETE FROM task_members WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE tasks SET assignee_id = NULL, version = version + 1, updated_at = $1 \
         WHERE project_id = $2 AND assignee_id = $3",
    )
    .bind(now())
    .bind(project_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(MemberChange::Done)
}
