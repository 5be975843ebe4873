//! Who may change what, and the changes the pages and the API share.
//! Authors edit and delete their own articles. An article's author may also
//! delete comments on it (as on most blogs), and admins may delete any
//! article or comment; a deletion by someone other than the author is
//! written to the audit log.

use super::comments;
use super::repo::{self, Article};
use crate::audit::{self, Actor};
use rocket::http::Status;

use crate::config::AppConfig;
use crate::db::{now, DbPool};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::CurrentUser;
use crate::web::ratelimit::{self, Limit};

/// Whether `text` holds a web link (what spam is posted for).
pub fn has_link(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["http://", "https://", "www.", "mailto:"]
        .iter()
        .any(|l| t.contains(l))
}

/// Refuse (422 on `body`) a text with a link from `me` while their email
/// address is unconfirmed, when `blog_links_need_confirmed_email` is on.
pub fn check_links(cfg: &AppConfig, me: &CurrentUser, text: &str) -> AppResult<()> {
    if cfg.blog_links_need_confirmed_email && !me.email_verified && has_link(text) {
        let mut errors = FieldErrors::default();
        errors.add(
            "body",
            "Confirm your email address before posting links (we sent you a mail).",
        );
        return Err(AppError::Validation(errors));
    }
    Ok(())
}

/// Check one new article or comment `text` by `me` ([`check_links`]) and
/// count it against `blog_posts_per_hour`, or the lower
/// `blog_new_account_posts_per_hour` while the account is younger than
/// `blog_new_account_hours` (429 beyond), so a hijacked, scripted or
/// brand-new account cannot flood the blog. Call it once the input is
/// valid, just before storing.
pub async fn count_post(
    db: &DbPool,
    cfg: &AppConfig,
    me: &CurrentUser,
    text: &str,
) -> AppResult<()> {
    check_links(cfg, me, text)?;
    let mut max = cfg.blog_posts_per_hour;
    if cfg.blog_new_account_hours > 0 {
        let created: i64 = sqlx::query_scalar("SELECT created_at FROM users WHERE id = $1")
            .bind(me.id)
            .fetch_one(&db.pool)
            .await?;
        if now() - created < cfg.blog_new_account_hours * 3600 {
            max = max.min(cfg.blog_new_account_posts_per_hour);
        }
    }
    let limit = Limit { max, window: 3600 };
    ratelimit::attempt(db, &format!("blog:post:{}", me.id), limit).await?;
    Ok(())
}

/// [`count_post`] for a page: refused, the status and the message to show
/// beside the form's text (422 for a link, 429 over the limit, with
/// everything typed kept); any other failure is an error as usual.
pub async fn post_refused(
    db: &DbPool,
    cfg: &AppConfig,
    me: &CurrentUser,
    text: &str,
) -> AppResult<Option<(Status, FieldErrors)>> {
    match count_post(db, cfg, me, text).await {
        Ok(()) => Ok(None),
        Err(AppError::Validation(errors)) => Ok(Some((Status::UnprocessableEntity, errors))),
        Err(e @ AppError::TooManyRequests { .. }) => {
            let mut errors = FieldErrors::default();
            errors.add("body", e.public_message());
            Ok(Some((Status::TooManyRequests, errors)))
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
