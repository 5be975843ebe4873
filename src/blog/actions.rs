//! Who may change what, and the changes the pages and the API share.
//! Authors edit and delete their own articles. An article's author may also
//! delete comments on it (as on most blogs), and admins may delete any
//! article or comment; a deletion by someone other than the author is
//! written to the audit log.

use super::comments;
use super::repo::{self, Article};
use crate::audit::{self, Actor};
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::CurrentUser;
use crate::web::ratelimit::{self, Limit};

/// Count one new article or comment by `user_id` against
/// `blog_posts_per_hour` (429 beyond), so a hijacked or scripted account
/// cannot flood the blog. Call it once the input is valid, just before
/// storing.
pub async fn count_post(db: &DbPool, cfg: &AppConfig, user_id: i64) -> AppResult<()> {
    let limit = Limit {
        max: cfg.blog_posts_per_hour,
        window: 3600,
    };
    ratelimit::attempt(db, &format!("blog:post:{user_id}"), limit).await?;
    Ok(())
}

/// [`count_post`] for a page: over the limit, the message to show beside
/// the form's text (the page answers 429 with everything typed kept);
/// any other failure is an error as usual.
pub async fn post_refused(
    db: &DbPool,
    cfg: &AppConfig,
    user_id: i64,
) -> AppResult<Option<FieldErrors>> {
    match count_post(db, cfg, user_id).await {
        Ok(()) => Ok(None),
        Err(e @ AppError::TooManyRequests { .. }) => {
            let mut errors = FieldErrors::default();
            errors.add("body", e.public_message());
            Ok(Some(errors))
        }
        Err(e) => Err(e),
    }
}

/// True when `me` may edit `article`: only its author.
pub fn may_edit(me: &CurrentUser, article: &Article) -> bool {
    article.author.id == me.id
}

/// True when `me` may delete `article`: its author or an admin.
pub fn may_delete(me: &CurrentUser, article: &Article) -> bool {
    may_edit(me, article) || me.is_admin()
}

fn actor(me: &CurrentUser, ip: &str) -> Actor {
    Actor {
        id: me.id,
        name: me.username.clone(),
        ip: ip.to_string(),
    }
}

/// Delete `article` as `me` (403 unless allowed).
pub async fn delete_article(
    db: &DbPool,
    me: &CurrentUser,
    ip: &str,
    article: &Article,
) -> AppResult<()> {
    if !may_delete(me, article) {
        return Err(AppError::Forbidden);
    }
    repo::delete(db, article.id).await?;
    if article.author.id != me.id {
        let target = Some((article.author.id, article.author.username.as_str()));
        let detail = format!("{} ({})", article.title, article.slug);
        audit::record(db, &actor(me, ip), "article.delete", target, &detail).await?;
    }
    Ok(())
}

/// True when `me` may delete a comment written by `comment_author` on
/// `article`.
pub fn may_delete_comment(me: &CurrentUser, article: &Article, comment_author: i64) -> bool {
    comment_author == me.id || article.author.id == me.id || me.is_admin()
}

/// Delete comment `id` of `article` as `me`: 404 when the article has no
/// such comment, 403 when `me` may not.
pub async fn delete_comment(
    db: &DbPool,
    me: &CurrentUser,
    ip: &str,
    article: &Article,
    id: i64,
) -> AppResult<()> {
    let (author, author_name) = comments::author_of(db, article.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !may_delete_comment(me, article, author) {
        return Err(AppError::Forbidden);
    }
    comments::delete(db, id).await?;
    if author != me.id && me.is_admin() && article.author.id != me.id {
        let detail = format!("comment {id} on {}", article.slug);
        audit::record(
            db,
            &actor(me, ip),
            "comment.delete",
            Some((author, author_name.as_str())),
            &detail,
        )
        .await?;
    }
    Ok(())
}
