//! What the blog tells members, through the site's notifications
//! (`src/notifications`): each function runs inside the transaction of the
//! action that causes it, so the notice exists exactly when the action
//! does. Mentions reach only existing members (see `web::mentions`).

use sqlx::AnyConnection;

use super::repo::Article;
use super::views::{article_url, author_url};
use crate::error::AppResult;
use crate::notifications::{notify, Kind, Notice};
use crate::web::mentions;

/// Tell the author of `article` that `actor` favourited it (grouped per
/// day with the other favourites of the article).
pub async fn favourited(conn: &mut AnyConnection, actor: i64, article: &Article) -> AppResult<()> {
    let target = format!("article:{}", article.id);
    notify(
        conn,
        &Notice {
            recipient: article.author.id,
            actor,
            kind: Kind::Favourite,
            target: &target,
            subject: &article.title,
            url: &article_url(&article.slug),
        },
    )
    .await?;
    Ok(())
}

/// Tell `followee` that `follower` (called `follower_name`) follows them
/// (grouped per day).
pub async fn followed(
    conn: &mut AnyConnection,
    follower: i64,
    follower_name: &str,
    followee: i64,
) -> AppResult<()> {
    notify(
        conn,
        &Notice {
            recipient: followee,
            actor: follower,
            kind: Kind::Follow,
            target: "me",
            subject: "",
            url: &author_url(follower_name),
        },
    )
    .await?;
    Ok(())
}

/// Tell everyone `body` mentions (existing members but the author; each
/// once per `target`, so an edit that keeps a mention tells nobody again).
/// `skip` are members already told about this text another way.
async fn tell_mentioned(
    conn: &mut AnyConnection,
    actor: i64,
    body: &str,
    target: &str,
    subject: &str,
    url: &str,
    skip: &[i64],
) -> AppResult<()> {
    let names = mentions::mentioned(body);
    let found = mentions::members(conn, &names).await?;
    for (id, _) in found.values() {
        if skip.contains(id) {
            continue;
        }
        let notice = Notice {
            recipient: *id,
            actor,
            kind: Kind::Mention,
            target,
            subject,
            url,
        };
        notify(conn, &notice).await?;
    }
    Ok(())
}

/// The mentions of an article just published or edited.
pub async fn article_written(
    conn: &mut AnyConnection,
    author: i64,
    id: i64,
    slug: &str,
    title: &str,
    body: &str,
) -> AppResult<()> {
    let target = format!("article:{id}");
    tell_mentioned(conn, author, body, &target, title, &article_url(slug), &[]).await
}

/// A new comment `comment_id` by `actor` on `article`: its author hears of
/// it as a comment, the author of the comment it answers (`parent_author`)
/// as a reply (only that, when they are the same person), and the members
/// it mentions as a mention (unless already told).
pub async fn commented(
    conn: &mut AnyConnection,
    actor: i64,
    article: &Article,
    comment_id: i64,
    parent_author: Option<i64>,
    body: &str,
) -> AppResult<()> {
    let target = format!("comment:{comment_id}");
    let url = format!("{}#comment-{comment_id}", article_url(&article.slug));
    let mut told = vec![actor];
    if let Some(parent) = parent_author {
        let notice = Notice {
            recipient: parent,
            actor,
            kind: Kind::Reply,
            target: &target,
            subject: &article.title,
            url: &url,
        };
        if notify(conn, &notice).await? {
            told.push(parent);
        }
    }
    if parent_author != Some(article.author.id) && !told.contains(&article.author.id) {
        let notice = Notice {
            recipient: article.author.id,
            actor,
            kind: Kind::Comment,
            target: &target,
            subject: &article.title,
            url: &url,
        };
        if notify(conn, &notice).await? {
            told.push(article.author.id);
        }
    }
    tell_mentioned(conn, actor, body, &target, &article.title, &url, &told).await
}
