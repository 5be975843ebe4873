//! The blog pages' template structs and the links they print. Every value
//! put into a URL is percent-encoded here, so templates never build URLs
//! from user text themselves.

use std::collections::HashMap;

use askama::Template;

use super::comments::Comment;
use super::model::{ArticleForm, CommentForm};
use super::repo::{Article, Author};
use crate::error::FieldErrors;
use crate::web::enc;
use crate::web::markdown::render_markdown;
use crate::web::mentions::{split_text, Part};
use crate::web::paging::Pager;
use crate::web::text::format_time;
use crate::web::Layout;

/// Articles per page of every list.
pub const PAGE_SIZE: i64 = 20;
/// Tags in the "Popular tags" sidebar.
pub const POPULAR_TAGS: i64 = 20;

/// `/blog/<slug>`.
pub fn article_url(slug: &str) -> String {
    format!("/blog/{}", enc(slug))
}

/// `/blog/author/<username>`.
pub fn author_url(username: &str) -> String {
    format!("/blog/author/{}", enc(username))
}

/// `/blog/tag/<tag>`.
pub fn tag_url(tag: &str) -> String {
    format!("/blog/tag/{}", enc(tag))
}

/// A tag with its link.
pub struct TagView {
    pub name: String,
    pub url: String,
}

impl TagView {
    fn new(name: &str) -> TagView {
        TagView {
            name: name.to_string(),
            url: tag_url(name),
        }
    }
}

fn tag_views(tags: &[String]) -> Vec<TagView> {
    tags.iter().map(|t| TagView::new(t)).collect()
}

/// An author (or commenter) as the pages show them.
pub struct AuthorView {
    pub id: i64,
    pub username: String,
    pub url: String,
    pub bio: String,
    /// An http(s) picture address, or empty.
    pub image: String,
    /// Whether the viewer follows them.
    pub following: bool,
}

impl AuthorView {
    /// From the stored author.
    pub fn new(a: &Author) -> AuthorView {
        // Only web addresses become an <img src>: the API accepts what the
        // profile form would refuse, and a page should not fetch `data:`
        // blobs or odd schemes on a stranger's say-so.
        let image = a.image.trim();
        let image = if image.starts_with("https://") || image.starts_with("http://") {
            image.to_string()
        } else {
            String::new()
        };
        AuthorView {
            id: a.id,
            username: a.username.clone(),
            url: author_url(&a.username),
            bio: a.bio.clone(),
            image,
            following: a.following,
        }
    }
}

/// An article as the pages show it.
pub struct ArticleView {
    pub id: i64,
    /// Why a moderator hid it (shown to its author, the only one who sees it).
    pub hidden_reason: Option<String>,
    pub url: String,
    pub title: String,
    pub description: String,
    /// The body rendered from Markdown and sanitised: safe for `|safe`.
    /// Empty in lists.
    pub html: String,
    pub tags: Vec<TagView>,
    pub author: AuthorView,
    pub created: String,
    pub updated: String,
    /// True when it was edited after it was published.
    pub edited: bool,
    pub favorites_count: i64,
    pub favorited: bool,
}

impl ArticleView {
    /// For a list row (no body).
    pub fn summary(a: &Article) -> ArticleView {
        ArticleView {
            id: a.id,
            hidden_reason: a.hidden_reason.clone(),
            url: article_url(&a.slug),
            title: a.title.clone(),
            description: a.description.clone(),
            html: String::new(),
            tags: tag_views(&a.tags),
            author: AuthorView::new(&a.author),
            created: format_time(a.created_at),
            updated: format_time(a.updated_at),
            edited: a.updated_at > a.created_at,
            favorites_count: a.favorites_count,
            favorited: a.favorited,
        }
    }

    /// For the article's own page, with the rendered body.
    pub fn full(a: &Article) -> ArticleView {
        ArticleView {
            html: render_markdown(&a.body),
            ..ArticleView::summary(a)
        }
    }
}

/// A comment as the article page shows it.
pub struct CommentView {
    pub id: i64,
    /// Plain text in pieces, the mentions of members as links: each
    /// escaped by the template, line breaks kept by CSS.
    pub parts: Vec<Part>,
    pub author: AuthorView,
    pub created: String,
    /// Whether the viewer may delete it.
    pub may_delete: bool,
    /// Shown under the first comment of its thread.
    pub nested: bool,
    /// The comment it answers (id and author), when that is still there.
    pub reply_to: Option<(i64, String)>,
    /// Why a moderator hid it (its author is the only one who sees it).
    pub hidden_reason: Option<String>,
}

impl CommentView {
    /// From the stored comment; `all` are the article's comments (to name
    /// the one it answers), `links` the mention links of the page.
    pub fn new(
        c: &Comment,
        may_delete: bool,
        nested: bool,
        all: &[Comment],
        links: &HashMap<String, String>,
    ) -> CommentView {
        let reply_to = c
            .parent_id
            .and_then(|p| all.iter().find(|o| o.id == p))
            .map(|p| (p.id, p.author.username.clone()));
        CommentView {
            id: c.id,
            parts: split_text(&c.body, links),
            author: AuthorView::new(&c.author),
            created: format_time(c.created_at),
            may_delete,
            nested,
            reply_to,
            hidden_reason: c.hidden_reason.clone(),
        }
    }
}

/// Which tab of the list is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Global,
    Feed,
    Tag,
}

/// `/blog`, `/blog/feed` and `/blog/tag/<tag>`.
#[derive(Template)]
#[template(path = "blog/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub tab: Tab,
    /// The tag of a tag page (empty otherwise).
    pub tag: String,
    pub tag_url: String,
    pub articles: Vec<ArticleView>,
    pub popular: Vec<TagView>,
    pub pager: Pager,
}

impl ListPage {
    /// The list page's parts that every tab shares.
    pub fn new(
        layout: Layout,
        tab: Tab,
        tag: String,
        articles: &[Article],
        popular: &[String],
        pager: Pager,
    ) -> ListPage {
        ListPage {
            layout,
            tab,
            tag_url: tag_url(&tag),
            tag,
            articles: articles.iter().map(ArticleView::summary).collect(),
            popular: tag_views(popular),
            pager,
        }
    }
}

/// `/blog/author/<username>` and its `/favorites`.
#[derive(Template)]
#[template(path = "blog/author.html")]
pub struct AuthorPage {
    pub layout: Layout,
    pub author: AuthorView,
    /// Whether the viewer is signed in and is not this author (may follow,
    /// block and mute).
    pub may_follow: bool,
    /// The viewer blocked this author.
    pub blocked: bool,
    /// The viewer muted this author.
    pub muted: bool,
    /// The favourites tab rather than the author's own articles.
    pub favorites: bool,
    pub articles: Vec<ArticleView>,
    pub pager: Pager,
}

impl AuthorPage {
    /// The author's name as a path segment (for the block and mute forms).
    pub fn enc_name(&self) -> String {
        enc(&self.author.username)
    }
}

/// `/blog/<slug>`, also re-shown with a comment's errors (422).
#[derive(Template)]
#[template(path = "blog/show.html")]
pub struct ShowPage {
    pub layout: Layout,
    pub article: ArticleView,
    pub comments: Vec<CommentView>,
    pub signed_in: bool,
    /// Signed in and not the author.
    pub may_follow: bool,
    pub may_edit: bool,
    pub may_delete: bool,
    /// The author of the comment the form answers, for a reply.
    pub replying_to: Option<String>,
    pub comment: CommentForm,
    pub errors: FieldErrors,
}

impl ShowPage {
    /// The sign-in link that comes back to this article.
    pub fn login_url(&self) -> String {
        format!("/login?next={}", enc(&self.article.url))
    }
}

/// The write and edit form.
#[derive(Template)]
#[template(path = "blog/form.html")]
pub struct FormPage {
    pub layout: Layout,
    /// The article being edited; None for a new one.
    pub slug: Option<String>,
    pub form: ArticleForm,
    pub errors: FieldErrors,
}

impl FormPage {
    /// Where the form posts.
    pub fn action(&self) -> String {
        match &self.slug {
            Some(slug) => format!("{}/edit", article_url(slug)),
            None => "/blog".into(),
        }
    }
    /// Where "Cancel" goes.
    pub fn cancel(&self) -> String {
        match &self.slug {
            Some(slug) => article_url(slug),
            None => "/blog".into(),
        }
    }
}

/// The form filled from a stored article.
pub fn form_of(a: &Article) -> ArticleForm {
    ArticleForm {
        title: a.title.clone(),
        description: a.description.clone(),
        body: a.body.clone(),
        tags: a.tags.join(", "),
    }
}

/// `/blog/<slug>/delete`: the confirmation step.
#[derive(Template)]
#[template(path = "blog/delete.html")]
pub struct DeletePage {
    pub layout: Layout,
    pub article: ArticleView,
    /// True when an admin deletes someone else's article.
    pub moderating: bool,
}
