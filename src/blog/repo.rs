//! Article queries. A list is three statements whatever its length: the
//! page (author, favourite count and the viewer's flags come from the same
//! row), the tags of its articles, and the count. `viewer` is the signed-in
//! user's id, or 0 for a visitor (no account has id 0). Articles by
//! disabled accounts are hidden everywhere.

use super::cache::changed;
use super::model::{slug_candidate, slugify, ArticleInput};
use super::notices;
use crate::db::{affected, begin_write, is_unique_violation, now, tags_of, DbPool};
use crate::error::{AppError, AppResult};
use crate::moderation::relations;

/// An author (or commenter) as a reader sees them.
#[derive(Debug, Clone)]
pub struct Author {
    pub id: i64,
    pub username: String,
    pub bio: String,
    pub image: String,
    /// Whether the viewer follows them.
    pub following: bool,
}

/// A stored article with what the lists show beside it.
#[derive(Debug, Clone)]
pub struct Article {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    /// Empty in lists: only a single article loads its body.
    pub body: String,
    pub tags: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub favorites_count: i64,
    /// Whether the viewer has favourited it.
    pub favorited: bool,
    pub author: Author,
    /// Why a moderator hid it (then only its author sees it).
    pub hidden_reason: Option<String>,
}

/// An author's columns as every blog query selects them: `u.id AS
/// author_id, u.username, u.bio, u.avatar_url` and the viewer's `following`.
#[derive(sqlx::FromRow)]
pub struct AuthorRow {
    author_id: i64,
    username: String,
    bio: String,
    avatar_url: String,
    following: i64,
}

impl From<AuthorRow> for Author {
    fn from(r: AuthorRow) -> Self {
        Author {
            id: r.author_id,
            username: r.username,
            bio: r.bio,
            image: r.avatar_url,
            following: r.following != 0,
        }
    }
}

/// `following` for the author `u`, as `$1` (the viewer) sees them.
pub const FOLLOWING: &str =
    "CASE WHEN EXISTS (SELECT 1 FROM follows w WHERE w.follower_id = $1 AND w.followee_id = u.id) \
     THEN 1 ELSE 0 END AS following";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    slug: String,
    title: String,
    description: String,
    body: String,
    created_at: i64,
    updated_at: i64,
    favorites_count: i64,
    favorited: i64,
    hidden_reason: Option<String>,
    #[sqlx(flatten)]
    author: AuthorRow,
}

/// The columns of [`Row`]; `$1` is the viewer. `body` is the whole text or
/// an empty string.
fn select(body: &str) -> String {
    format!(
        "SELECT a.id, a.slug, a.title, a.description, {body} AS body, a.created_at, a.updated_at, \
         (SELECT COUNT(*) FROM favorites f WHERE f.article_id = a.id) AS favorites_count, \
         CASE WHEN EXISTS (SELECT 1 FROM favorites f WHERE f.user_id = $1 AND f.article_id = a.id) \
              THEN 1 ELSE 0 END AS favorited, a.hidden_reason, \
         u.id AS author_id, u.username, u.bio, u.avatar_url, {FOLLOWING} \
         FROM articles a JOIN users u ON u.id = a.author_id AND u.disabled = 0"
    )
}

/// Which articles a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    pub tag: Option<String>,
    /// Username of the author.
    pub author: Option<String>,
    /// Username of someone who favourited them.
    pub favorited_by: Option<String>,
    /// Only authors the viewer follows ("your feed").
    pub feed: bool,
}

impl Filter {
    /// The WHERE clause (from `$2` on: `$1` is the viewer) and its values.
    fn clause(&self) -> (String, Vec<String>) {
        // Hidden articles: for their author only.
        let mut parts = vec!["(a.hidden_reason IS NULL OR a.author_id = $1)".to_string()];
        let mut binds = Vec::new();
        let next = |b: String, binds: &mut Vec<String>| {
            binds.push(b);
            format!("${}", binds.len() + 1)
        };
        if let Some(tag) = &self.tag {
            let p = next(tag.clone(), &mut binds);
            parts.push(format!(
                "a.id IN (SELECT t.article_id FROM article_tags t WHERE t.tag = {p})"
            ));
        }
        if let Some(author) = &self.author {
            let p = next(author.to_lowercase(), &mut binds);
            parts.push(format!(
                "a.author_id = (SELECT x.id FROM users x WHERE lower(x.username) = {p})"
            ));
        }
        if let Some(fan) = &self.favorited_by {
            let p = next(fan.to_lowercase(), &mut binds);
            // Someone who blocked the viewer keeps their favourites from them.
            parts.push(format!(
                "a.id IN (SELECT f.article_id FROM favorites f WHERE f.user_id = \
                 (SELECT x.id FROM users x WHERE lower(x.username) = {p}) \
                 AND NOT EXISTS (SELECT 1 FROM blocks b \
                   WHERE b.blocker_id = f.user_id AND b.blocked_id = $1))"
            ));
        }
        if self.author.is_none() {
            // The viewer's muted members stay out of every list but
            // their own author page.
            parts.push(format!(
                "NOT ({})",
                relations::muted_by_viewer("a.author_id")
            ));
        }
        if self.feed {
            parts.push(
                "a.author_id IN (SELECT w.followee_id FROM follows w WHERE w.follower_id = $1)"
                    .into(),
            );
        }
        (parts.join(" AND "), binds)
    }
}

fn bind_all<'q, O>(
    mut q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    binds: &'q [String],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = q.bind(b.as_str());
    }
    q
}

/// One page of articles, newest first, how many match in all, and (when
/// `popular` > 0) the `popular` most used tags, asked with the count.
pub async fn list(
    db: &DbPool,
    viewer: i64,
    filter: &Filter,
    (limit, offset): (i64, i64),
    popular: i64,
) -> AppResult<(Vec<Article>, i64, Vec<String>)> {
    let (clause, binds) = filter.clause();
    let n = binds.len();
    // The page's ids first, then the columns for those rows only: with a
    // deep OFFSET the skipped rows would otherwise each run the select
    // list's subqueries.
    let sql = format!(
        "{} WHERE a.id IN (SELECT a.id FROM articles a \
         JOIN users u ON u.id = a.author_id AND u.disabled = 0 \
         WHERE {clause} ORDER BY a.id DESC LIMIT ${} OFFSET ${}) ORDER BY a.id DESC",
        select("''"),
        n + 2,
        n + 3
    );
    let rows: Vec<Row> = bind_all(sqlx::query_as(&sql).bind(viewer), &binds)
        .bind(limit)
        .bind(offset)
        .fetch_all(&db.pool)
        .await?;
    // NOT IN over the (few) disabled accounts lets Postgres count from the
    // articles alone, about twice as fast as the join.
    // The count's row has no tag; the popular tags (when asked) follow.
    let mut count_sql = format!(
        "SELECT NULL AS tag, COUNT(*) AS n FROM articles a \
         WHERE a.author_id NOT IN (SELECT x.id FROM users x WHERE x.disabled <> 0) AND {clause}"
    );
    if popular > 0 {
        count_sql.push_str(&format!(
            " UNION ALL SELECT tag, n FROM ({}) p",
            popular_sql(popular)
        ));
    }
    let (total, mut tags) = crate::db::count_and_tags(
        bind_all(sqlx::query_as(&count_sql).bind(viewer), &binds)
            .fetch_all(&db.pool)
            .await?,
    );
    // As `popular_sql` orders them: most used first, then alphabetically.
    tags.sort_by(|(a, m), (b, n)| n.cmp(m).then_with(|| a.cmp(b)));
    let tags = tags.into_iter().map(|(tag, _)| tag).collect();
    Ok((with_tags(db, rows).await?, total, tags))
}

/// The article at `slug`, body included.
pub async fn get(db: &DbPool, viewer: i64, slug: &str) -> AppResult<Option<Article>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "{} WHERE a.slug = $2 AND (a.hidden_reason IS NULL OR a.author_id = $1)",
        select("a.body")
    ))
    .bind(viewer)
    .bind(slug)
    .fetch_optional(&db.pool)
    .await?;
    Ok(match row {
        Some(r) => with_tags(db, vec![r]).await?.pop(),
        None => None,
    })
}

/// The article at `slug`, or 404.
pub async fn find(db: &DbPool, viewer: i64, slug: &str) -> AppResult<Article> {
    get(db, viewer, slug).await?.ok_or(AppError::NotFound)
}

async fn with_tags(db: &DbPool, rows: Vec<Row>) -> AppResult<Vec<Article>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut tags = tags_of(db, "article_tags", "article_id", &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| Article {
            tags: tags.remove(&r.id).unwrap_or_default(),
            id: r.id,
            slug: r.slug,
            title: r.title,
            description: r.description,
            body: r.body,
            created_at: r.created_at,
            updated_at: r.updated_at,
            favorites_count: r.favorites_count,
            favorited: r.favorited != 0,
            author: r.author.into(),
            hidden_reason: r.hidden_reason,
        })
        .collect())
}

async fn set_tags(conn: &mut sqlx::AnyConnection, id: i64, tags: &[String]) -> AppResult<()> {
    sqlx::query("DELETE FROM article_tags WHERE article_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for tag in tags {
        sqlx::query("INSERT INTO article_tags (article_id, tag) VALUES ($1, $2)")
            .bind(id)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Store a new article under a fresh slug; returns the slug. A taken slug
/// (or one taken a moment ago by a parallel request) moves on to the next
/// candidate.
pub async fn create(db: &DbPool, author_id: i64, a: &ArticleInput) -> AppResult<String> {
    let base = slugify(&a.title);
    for attempt in 0..10 {
        let slug = slug_candidate(&base, attempt);
        let mut tx = begin_write(db).await?;
        let t = now();
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO articles (author_id, slug, title, description, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(author_id)
        .bind(&slug)
        .bind(&a.title)
        .bind(&a.description)
        .bind(&a.body)
        .bind(t)
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        };
        set_tags(&mut tx, id, &a.tags).await?;
        notices::article_written(&mut tx, author_id, id, &slug, &a.title, &a.body).await?;
        tx.commit().await?;
        changed(db).await;
        return Ok(slug);
    }
    Err(AppError::Conflict(
        "Could not find a free address for this title. Change the title a little.".into(),
    ))
}

/// Save new text and tags over `article`. The slug stays as it is, so
/// links to the article keep working after an edit. Members newly
/// mentioned are told; those mentioned before are not told again.
pub async fn update(db: &DbPool, article: &Article, a: &ArticleInput) -> AppResult<()> {
    let id = article.id;
    let mut tx = begin_write(db).await?;
    sqlx::query(
        "UPDATE articles SET title = $1, description = $2, body = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(&a.title)
    .bind(&a.description)
    .bind(&a.body)
    .bind(now())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    set_tags(&mut tx, id, &a.tags).await?;
    let author = article.author.id;
    notices::article_written(&mut tx, author, id, &article.slug, &a.title, &a.body).await?;
    tx.commit().await?;
    changed(db).await;
    Ok(())
}

/// Delete article `id` (its tags, favourites and comments go with it).
pub async fn delete(db: &DbPool, id: i64) -> AppResult<()> {
    sqlx::query("DELETE FROM articles WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    changed(db).await;
    Ok(())
}

/// Favourite (`on`) or unfavourite `article` as `user_id`. Doing it twice
/// changes nothing the second time; a new favourite tells the article's
/// author, in the same transaction.
pub async fn set_favorite(db: &DbPool, user_id: i64, article: &Article, on: bool) -> AppResult<()> {
    let mut tx = begin_write(db).await?;
    if on {
        let r = sqlx::query(
            "INSERT INTO favorites (user_id, article_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(article.id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        if affected(&r) > 0 {
            notices::favourited(&mut tx, user_id, article).await?;
        }
    } else {
        sqlx::query("DELETE FROM favorites WHERE user_id = $1 AND article_id = $2")
            .bind(user_id)
            .bind(article.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    changed(db).await;
    Ok(())
}

/// The most used tags, most used first.
pub async fn popular_tags(db: &DbPool, limit: i64) -> AppResult<Vec<String>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(&popular_sql(limit))
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.into_iter().map(|(tag, _)| tag).collect())
}

/// The `limit` most used tags with their counts (`tag`, `n`), most used
/// first, then alphabetically.
fn popular_sql(limit: i64) -> String {
    format!(
        "SELECT t.tag, COUNT(*) AS n FROM article_tags t \
         GROUP BY t.tag ORDER BY n DESC, t.tag LIMIT {limit}"
    )
}
