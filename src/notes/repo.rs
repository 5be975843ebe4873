//! Note queries. Every one is scoped to the owner: another member's note
//! id behaves exactly like one that does not exist.

use sqlx::AnyConnection;

use super::cache::changed;
use super::model::{NoteInput, NoteJson};
use crate::db::{affected, begin_write, now, tags_of, Backend, DbPool};
use crate::error::AppResult;

/// A stored note with its tags.
#[derive(Debug, Clone)]
pub struct Note {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub pinned: bool,
    pub archived: bool,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A `notes` row as the database returns it (flags as 0/1).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub pinned: i64,
    pub archived: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The columns of [`Row`], listed: Postgres's `search` column is a tsvector
/// that sqlx's Any driver cannot decode.
pub const COLUMNS: &str =
    "n.id, n.title, n.body, n.pinned, n.archived, n.version, n.created_at, n.updated_at";

impl From<Note> for NoteJson {
    fn from(n: Note) -> Self {
        NoteJson {
            id: n.id,
            title: n.title,
            body: n.body,
            tags: n.tags,
            pinned: n.pinned,
            archived: n.archived,
            version: n.version,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

/// Attach each row's tags (one query for the lot).
pub async fn with_tags(db: &DbPool, rows: Vec<Row>) -> AppResult<Vec<Note>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut tags = tags_of(db, "note_tags", "note_id", &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| Note {
            tags: tags.remove(&r.id).unwrap_or_default(),
            id: r.id,
            title: r.title,
            body: r.body,
            pinned: r.pinned != 0,
            archived: r.archived != 0,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

/// The owner's note `id`, or None (missing or someone else's).
pub async fn get(db: &DbPool, user_id: i64, id: i64) -> AppResult<Option<Note>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notes n WHERE n.id = $1 AND n.user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(r) => Ok(with_tags(db, vec![r]).await?.pop()),
        None => Ok(None),
    }
}

async fn set_tags(
    conn: &mut AnyConnection,
    user_id: i64,
    note_id: i64,
    tags: &[String],
) -> AppResult<()> {
    sqlx::query("DELETE FROM note_tags WHERE note_id = $1")
        .bind(note_id)
        .execute(&mut *conn)
        .await?;
    for tag in tags {
        sqlx::query("INSERT INTO note_tags (note_id, user_id, tag) VALUES ($1, $2, $3)")
            .bind(note_id)
            .bind(user_id)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Store a new note inside the caller's transaction, with the given
/// times (now for a new note; the file's for an import). Returns its id.
pub async fn insert(
    conn: &mut AnyConnection,
    user_id: i64,
    note: &NoteInput,
    created_at: i64,
    updated_at: i64,
) -> AppResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO notes (user_id, title, body, pinned, archived, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7) RETURNING id",
    )
    .bind(user_id)
    .bind(&note.title)
    .bind(&note.body)
    .bind(i64::from(note.pinned))
    .bind(i64::from(note.archived))
    .bind(created_at)
    .bind(updated_at)
    .fetch_one(&mut *conn)
    .await?;
    set_tags(conn, user_id, id, &note.tags).await?;
    Ok(id)
}

/// How many notes the owner has, inside a write transaction, with the
/// owner's quota checks taking turns: on SQLite the transaction holds the
/// write lock already (`begin_write`); on Postgres a lock per owner keeps
/// two parallel creates from both passing the check.
async fn count_for_quota(
    conn: &mut AnyConnection,
    backend: Backend,
    user_id: i64,
) -> AppResult<i64> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT 1 FROM pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("notes:quota:{user_id}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM notes WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// How many notes the owner has.
pub async fn count(db: &DbPool, user_id: i64) -> AppResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM notes WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&db.pool)
            .await?,
    )
}

/// Create a note now, unless the owner already keeps `quota` notes.
/// Returns its id, or None at the quota (nothing stored).
pub async fn create(
    db: &DbPool,
    user_id: i64,
    note: &NoteInput,
    quota: i64,
) -> AppResult<Option<i64>> {
    let mut tx = begin_write(db).await?;
    if count_for_quota(&mut tx, db.backend, user_id).await? >= quota {
        return Ok(None);
    }
    let t = now();
    let id = insert(&mut tx, user_id, note, t, t).await?;
    tx.commit().await?;
    changed(db, user_id).await;
    Ok(Some(id))
}

/// A note to store with its own times (an imported file's).
pub struct Dated<'a> {
    pub note: &'a NoteInput,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Store `notes` in one transaction, if the owner stays within `quota`
/// notes with them. False, and nothing stored, if not.
pub async fn insert_all(
    db: &DbPool,
    user_id: i64,
    notes: &[Dated<'_>],
    quota: i64,
) -> AppResult<bool> {
    let mut tx = begin_write(db).await?;
    if count_for_quota(&mut tx, db.backend, user_id).await? + notes.len() as i64 > quota {
        return Ok(false);
    }
    for n in notes {
        insert(&mut tx, user_id, n.note, n.created_at, n.updated_at).await?;
    }
    tx.commit().await?;
    changed(db, user_id).await;
    Ok(true)
}

/// What a save did.
#[derive(Debug)]
pub enum Saved {
    /// Stored; the note's new version.
    Version(i64),
    /// Someone saved first: the note as it is now.
    Conflict(Box<Note>),
    /// No such note for this owner.
    NotFound,
}

/// Save `note` over version `expected`. The version check and the write
/// are one UPDATE, so two saves from the same version cannot both win.
pub async fn update(
    db: &DbPool,
    user_id: i64,
    id: i64,
    expected: i64,
    note: &NoteInput,
) -> AppResult<Saved> {
    let mut tx = begin_write(db).await?;
    let done = sqlx::query(
        "UPDATE notes SET title = $1, body = $2, pinned = $3, archived = $4, \
         version = version + 1, updated_at = $5 \
         WHERE id = $6 AND user_id = $7 AND version = $8",
    )
    .bind(&note.title)
    .bind(&note.body)
    .bind(i64::from(note.pinned))
    .bind(i64::from(note.archived))
    .bind(now())
    .bind(id)
    .bind(user_id)
    .bind(expected)
    .execute(&mut *tx)
    .await?;
    if affected(&done) == 1 {
        set_tags(&mut tx, user_id, id, &note.tags).await?;
        tx.commit().await?;
        changed(db, user_id).await;
        return Ok(Saved::Version(expected + 1));
    }
    tx.rollback().await?;
    Ok(match get(db, user_id, id).await? {
        Some(current) => Saved::Conflict(Box::new(current)),
        None => Saved::NotFound,
    })
}

/// Delete the owner's note. False when there was none.
pub async fn delete(db: &DbPool, user_id: i64, id: i64) -> AppResult<bool> {
    let done = sqlx::query("DELETE FROM notes WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    let deleted = affected(&done) == 1;
    if deleted {
        changed(db, user_id).await;
    }
    Ok(deleted)
}

/// Up to `limit` of the owner's notes after id `after`, oldest first:
/// the export reads them a page at a time.
pub async fn page_after(db: &DbPool, user_id: i64, after: i64, limit: i64) -> AppResult<Vec<Note>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notes n WHERE n.user_id = $1 AND n.id > $2 ORDER BY n.id LIMIT $3"
    ))
    .bind(user_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    with_tags(db, rows).await
}

/// The owner's (`$1`) tags, for the filter: at most 200, alphabetically.
pub const OWNER_TAGS: &str =
    "SELECT DISTINCT tag FROM note_tags WHERE user_id = $1 ORDER BY tag LIMIT 200";
