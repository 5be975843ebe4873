//! The blog's content as moderation sees it: articles and comments can be
//! reported, shown in the admins' queue and hidden (`src/moderation`
//! knows no app: the blog registers these when it starts).

use std::collections::HashMap;
use std::sync::Arc;

use super::views::article_url;
use crate::db::{id_list, DbPool};
use crate::error::AppResult;
use crate::moderation::reports::{ReportTarget, ReportTargets, Reported};

/// An article's or comment's id, author id, author name, two texts, the
/// article's slug and why it is hidden.
type Row = (i64, i64, String, String, String, String, Option<String>);

/// How much of a body the queue shows.
const EXCERPT: usize = 600;

fn excerpt(text: &str) -> String {
    let mut s: String = text.chars().take(EXCERPT).collect();
    if text.chars().count() > EXCERPT {
        s.push('…');
    }
    s
}

struct Articles;

#[rocket::async_trait]
impl ReportTarget for Articles {
    async fn describe(&self, db: &DbPool, ids: &[i64]) -> AppResult<HashMap<i64, Reported>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT a.id, a.author_id, u.username, a.title, a.body, a.slug, a.hidden_reason \
             FROM articles a JOIN users u ON u.id = a.author_id WHERE a.id IN ({})",
            id_list(ids)
        ))
        .fetch_all(&db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, author_id, author_name, title, body, slug, hidden_reason)| {
                    let reported = Reported {
                        author_id,
                        author_name,
                        title,
                        text: excerpt(&body),
                        url: article_url(&slug),
                        hidden_reason,
                    };
                    (id, reported)
                },
            )
            .collect())
    }

    async fn hide(&self, db: &DbPool, id: i64, reason: &str) -> AppResult<()> {
        sqlx::query("UPDATE articles SET hidden_reason = $1 WHERE id = $2")
            .bind(reason)
            .bind(id)
            .execute(&db.pool)
            .await?;
        super::cache::changed(db).await;
        Ok(())
    }
}

struct Comments;

#[rocket::async_trait]
impl ReportTarget for Comments {
    async fn describe(&self, db: &DbPool, ids: &[i64]) -> AppResult<HashMap<i64, Reported>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT c.id, c.author_id, u.username, c.body, a.title, a.slug, c.hidden_reason \
             FROM comments c JOIN articles a ON a.id = c.article_id \
             JOIN users u ON u.id = c.author_id WHERE c.id IN ({})",
            id_list(ids)
        ))
        .fetch_all(&db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, author_id, author_name, body, title, slug, hidden_reason)| {
                    let reported = Reported {
                        author_id,
                        author_name,
                        title: format!("comment on {title}"),
                        text: excerpt(&body),
                        url: format!("{}#comment-{id}", article_url(&slug)),
                        hidden_reason,
                    };
                    (id, reported)
                },
            )
            .collect())
    }

    async fn hide(&self, db: &DbPool, id: i64, reason: &str) -> AppResult<()> {
        sqlx::query("UPDATE comments SET hidden_reason = $1 WHERE id = $2")
            .bind(reason)
            .bind(id)
            .execute(&db.pool)
            .await?;
        super::cache::changed(db).await;
        Ok(())
    }
}

/// Register articles and comments as reportable content.
pub fn register(targets: &ReportTargets) {
    targets.register("article", Arc::new(Articles));
    targets.register("comment", Arc::new(Comments));
}
