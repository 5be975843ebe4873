//! The public blog pages: the lists (global, your feed, by tag), an
//! author's profile with their articles or favourites, and an article with
//! its comments. Anyone may read them; a signed-in member sees their own
//! favourites and follows, and the buttons to change them.

use rocket::{get, routes, Route, State};

use super::actions;
use super::cache::{BlogCache, Shown};
use std::collections::{HashMap, HashSet};

use super::comments::{self, Comment};
use super::model::CommentForm;
use super::repo::{self, Filter};
use super::social;
use super::views::{
    author_url, tag_url, ArticleView, AuthorPage, AuthorView, CommentView, ListPage, ShowPage, Tab,
    PAGE_SIZE, POPULAR_TAGS,
};
use crate::db::{Db, DbPool};
use crate::error::{AppResult, FieldErrors};
use crate::moderation::relations::{self, Relation};
use crate::session::CurrentUser;
use crate::web::mentions::{self, link_html};
use crate::web::paging::{Pager, Paging};
use crate::web::text::split_tags;
use crate::web::{Layout, Reply};

/// The viewer's id, 0 for a visitor (no account has id 0).
fn viewer(user: &Option<CurrentUser>) -> i64 {
    user.as_ref().map_or(0, |u| u.id)
}

/// A list page: the `tab`'s articles (the `tag`'s on a tag page), page
/// `page`, with the popular tags beside them.
async fn list_page(
    db: &DbPool,
    cache: &BlogCache,
    viewer: i64,
    layout: Layout,
    tab: Tab,
    tag: String,
    page: Option<i64>,
) -> AppResult<Reply> {
    let (filter, base) = match tab {
        Tab::Global => (Filter::default(), "/blog".to_string()),
        Tab::Feed => (
            Filter {
                feed: true,
                ..Filter::default()
            },
            "/blog/feed".to_string(),
        ),
        Tab::Tag => (
            Filter {
                tag: Some(tag.clone()),
                ..Filter::default()
            },
            tag_url(&tag),
        ),
    };
    let paging = Paging::page(page, PAGE_SIZE);
    let listed = cache
        .list(
            db,
            viewer,
            &filter,
            (paging.limit, paging.offset),
            POPULAR_TAGS,
        )
        .await?;
    let (articles, total, popular) = &*listed;
    Reply::page(&ListPage::new(
        layout,
        tab,
        tag,
        articles,
        popular,
        Pager::new(base, paging, *total),
    ))
}

#[get("/blog?<page>")]
async fn global(
    db: &Db,
    cache: &State<BlogCache>,
    user: Option<CurrentUser>,
    layout: Layout,
    page: Option<i64>,
) -> AppResult<Reply> {
    let viewer = viewer(&user);
    list_page(db, cache, viewer, layout, Tab::Global, String::new(), page).await
}

#[get("/blog/feed?<page>")]
async fn feed(
    db: &Db,
    cache: &State<BlogCache>,
    user: CurrentUser,
    layout: Layout,
    page: Option<i64>,
) -> AppResult<Reply> {
    list_page(db, cache, user.id, layout, Tab::Feed, String::new(), page).await
}

#[get("/blog/tag/<tag>?<page>")]
async fn tag(
    db: &Db,
    cache: &State<BlogCache>,
    user: Option<CurrentUser>,
    layout: Layout,
    tag: &str,
    page: Option<i64>,
) -> AppResult<Reply> {
    // Tags are stored normalised (see `split_tags`): look them up the same way.
    let tag = split_tags(tag).into_iter().next().unwrap_or_default();
    list_page(db, cache, viewer(&user), layout, Tab::Tag, tag, page).await
}

/// An author's page: their articles, or (`favorites`) the ones they liked.
async fn author_page(
    db: &DbPool,
    cache: &BlogCache,
    user: Option<CurrentUser>,
    layout: Layout,
    (username, favorites): (&str, bool),
    page: Option<i64>,
) -> AppResult<Reply> {
    let viewer = viewer(&user);
    let load = async {
        let author = social::find(db, viewer, username).await?;
        let relation = if viewer != 0 && viewer != author.id {
            relations::relation(db, viewer, author.id).await?
        } else {
            Relation::default()
        };
        Ok((author, relation))
    };
    let found = cache.author(viewer, username, load).await?;
    let (author, relation) = &*found;
    let paging = Paging::page(page, PAGE_SIZE);
    let filter = if favorites {
        Filter {
            favorited_by: Some(author.username.clone()),
            ..Filter::default()
        }
    } else {
        Filter {
            author: Some(author.username.clone()),
            ..Filter::default()
        }
    };
    let listed = cache
        .list(db, viewer, &filter, (paging.limit, paging.offset), 0)
        .await?;
    let (articles, total, _) = &*listed;
    let may_follow = user.as_ref().is_some_and(|u| u.id != author.id);
    let author = AuthorView::new(author);
    let base = if favorites {
        format!("{}/favorites", author.url)
    } else {
        author.url.clone()
    };
    Reply::page(&AuthorPage {
        layout,
        may_follow,
        blocked: relation.blocked,
        muted: relation.muted,
        favorites,
        articles: articles.iter().map(ArticleView::summary).collect(),
        pager: Pager::new(base, paging, *total),
        author,
    })
}

#[get("/blog/author/<username>?<page>")]
async fn author(
    db: &Db,
    cache: &State<BlogCache>,
    user: Option<CurrentUser>,
    layout: Layout,
    username: &str,
    page: Option<i64>,
) -> AppResult<Reply> {
    author_page(db, cache, user, layout, (username, false), page).await
}

#[get("/blog/author/<username>/favorites?<page>")]
async fn favorites(
    db: &Db,
    cache: &State<BlogCache>,
    user: Option<CurrentUser>,
    layout: Layout,
    username: &str,
    page: Option<i64>,
) -> AppResult<Reply> {
    author_page(db, cache, user, layout, (username, true), page).await
}

/// What the article page for `slug` shows `viewer` (0: a visitor), from
/// the database: the article, its comments, the members they mention.
pub(super) async fn shown(db: &DbPool, viewer: i64, slug: &str) -> AppResult<Shown> {
    let article = repo::find(db, viewer, slug).await?;
    let stored = comments::list(db, viewer, article.id).await?;
    let links = mention_links(db, &article.body, &stored).await?;
    Ok((article, stored, links))
}

/// The article page of `shown` as `user` sees it, with `comment` (and its
/// `errors`) in the comment form: also what a refused comment re-shows.
pub(super) fn show_page(
    user: Option<&CurrentUser>,
    layout: Layout,
    (article, stored, links): &Shown,
    comment: CommentForm,
    errors: FieldErrors,
) -> ShowPage {
    let replying_to = comment
        .parent_id
        .and_then(|id| stored.iter().find(|c| c.id == id))
        .map(|c| c.author.username.clone());
    let comments = threads(stored)
        .into_iter()
        .map(|(c, nested)| {
            let may = user.is_some_and(|u| actions::may_delete_comment(u, article, c.author.id));
            CommentView::new(c, may, nested, stored, links)
        })
        .collect();
    let mut view = ArticleView::full(article);
    view.html = link_html(&view.html, links);
    ShowPage {
        layout,
        comments,
        signed_in: user.is_some(),
        may_follow: user.is_some_and(|u| u.id != article.author.id),
        may_edit: user.is_some_and(|u| actions::may_edit(u, article)),
        may_delete: user.is_some_and(|u| actions::may_delete(u, article)),
        article: view,
        replying_to,
        comment,
        errors,
    }
}

/// Most distinct names one article page looks up for its mention links.
const MENTION_LOOKUP_MAX: usize = 200;

/// The profile links of the members mentioned in an article and its
/// comments (lower-case name → address): one query for the whole page.
async fn mention_links(
    db: &DbPool,
    body: &str,
    comments: &[Comment],
) -> AppResult<HashMap<String, String>> {
    let mut names: Vec<String> = Vec::new();
    let texts = std::iter::once(body).chain(comments.iter().map(|c| c.body.as_str()));
    for name in texts.flat_map(mentions::mentioned) {
        if names.len() >= MENTION_LOOKUP_MAX {
            break;
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let mut conn = db.pool.acquire().await?;
    let found = mentions::members(&mut conn, &names).await?;
    Ok(found
        .into_iter()
        .map(|(lower, (_, name))| (lower, author_url(&name)))
        .collect())
}

/// The comments in page order: each top-level comment followed by the
/// replies of its thread, oldest first, however deep they answered (one
/// level of nesting shown). A reply whose thread's first comment is gone
/// shows as top-level. The bool says "shown nested".
fn threads(all: &[Comment]) -> Vec<(&Comment, bool)> {
    let ids: HashSet<i64> = all.iter().map(|c| c.id).collect();
    let is_root = |c: &Comment| c.thread_id.is_none_or(|t| !ids.contains(&t));
    let mut out = Vec::with_capacity(all.len());
    for root in all.iter().filter(|c| is_root(c)) {
        out.push((root, false));
        for reply in all.iter().filter(|c| c.thread_id == Some(root.id)) {
            out.push((reply, true));
        }
    }
    out
}

/// The article; `?reply_to=<comment>` opens the comment form as a reply.
#[get("/blog/<slug>?<reply_to>")]
async fn show(
    db: &Db,
    cache: &State<BlogCache>,
    user: Option<CurrentUser>,
    layout: Layout,
    slug: &str,
    reply_to: Option<i64>,
) -> AppResult<Reply> {
    let viewer = viewer(&user);
    let shown = cache.article(viewer, slug, shown(db, viewer, slug)).await?;
    let form = CommentForm {
        parent_id: reply_to,
        ..CommentForm::default()
    };
    let page = show_page(user.as_ref(), layout, &shown, form, FieldErrors::default());
    Reply::page(&page)
}

/// The public blog pages.
pub fn routes() -> Vec<Route> {
    routes![global, feed, tag, author, favorites, show]
}
