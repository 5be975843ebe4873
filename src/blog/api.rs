//! Conduit's articles, favourites, comments and tags under `/api`, on the
//! same queries and permission rules as the blog pages.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route, State};
use serde::Deserialize;
use serde_json::{json, Value};

use super::actions;
use super::comments;
use super::conduit::{article_json, comment_json, Conduit, ConduitResult, Viewer};
use super::model::{validate_comment, ArticleInput};
use super::repo::{self, Filter};
use crate::api::json::{Fields, JsonBody};
use crate::api::ApiUser;
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::web::paging::{LimitOffsetQuery, Paging};
use crate::web::text::split_tags;
use crate::web::ClientIp;

/// Most articles one page holds.
const LIMIT_MAX: i64 = 100;
/// Tags `GET /api/tags` lists.
const TAGS_LIMIT: i64 = 100;

/// `{"article": {...}}` for create and update; on update, a field left
/// out keeps its value.
#[derive(Debug, Deserialize)]
pub struct ArticleBody {
    pub article: ArticleFields,
}

/// The fields of an `article` object.
#[derive(Debug, Deserialize)]
pub struct ArticleFields {
    pub title: Option<String>,
    pub description: Option<String>,
    pub body: Option<String>,
    #[serde(rename = "tagList")]
    pub tag_list: Option<Vec<String>>,
}

impl Fields for ArticleBody {
    const FIELDS: &'static [&'static str] = &["article", "title", "description", "body", "tagList"];
}

/// `{"comment": {"body": ...}}`.
#[derive(Debug, Deserialize)]
pub struct CommentBody {
    pub comment: CommentFields,
}

/// The fields of a `comment` object.
#[derive(Debug, Deserialize)]
pub struct CommentFields {
    pub body: Option<String>,
}

impl Fields for CommentBody {
    const FIELDS: &'static [&'static str] = &["comment", "body"];
}

/// `limit` (1–100, default 20) and `offset` (0 or more, default 0).
fn paging(query: &LimitOffsetQuery<'_>) -> Result<Paging, Conduit> {
    let mut errors = FieldErrors::default();
    let paging = query.paging(20, LIMIT_MAX, &mut errors);
    errors.into_result()?;
    Ok(paging)
}

async fn page(db: &Db, viewer: i64, filter: &Filter, paging: Paging) -> ConduitResult<Json<Value>> {
    let (articles, total, _) =
        repo::list(db, viewer, filter, (paging.limit, paging.offset), 0).await?;
    let list: Vec<Value> = articles.iter().map(|a| article_json(a, false)).collect();
    Ok(Json(json!({ "articles": list, "articlesCount": total })))
}

fn some_text(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[get("/articles?<tag>&<author>&<favorited>&<query..>")]
async fn list(
    db: &Db,
    viewer: Viewer,
    tag: Option<&str>,
    author: Option<&str>,
    favorited: Option<&str>,
    query: LimitOffsetQuery<'_>,
) -> ConduitResult<Json<Value>> {
    let paging = paging(&query)?;
    let filter = Filter {
        tag: tag.and_then(|t| split_tags(t).into_iter().next()),
        author: some_text(author),
        favorited_by: some_text(favorited),
        feed: false,
    };
    page(db, viewer.id(), &filter, paging).await
}

#[get("/articles/feed?<query..>")]
async fn feed(db: &Db, me: ApiUser, query: LimitOffsetQuery<'_>) -> ConduitResult<Json<Value>> {
    let paging = paging(&query)?;
    let filter = Filter {
        feed: true,
        ..Filter::default()
    };
    page(db, me.0.id, &filter, paging).await
}

async fn one(db: &Db, viewer: i64, slug: &str) -> ConduitResult<Json<Value>> {
    let article = repo::find(db, viewer, slug).await?;
    Ok(Json(json!({ "article": article_json(&article, true) })))
}

#[post("/articles", data = "<body>")]
async fn create(
    db: &Db,
    cfg: &State<AppConfig>,
    me: ApiUser,
    body: JsonBody<ArticleBody>,
) -> ConduitResult<(Status, Json<Value>)> {
    let JsonBody(ArticleBody { article: a }) = body;
    let input = ArticleInput::validate(
        a.title.as_deref().unwrap_or(""),
        a.description.as_deref().unwrap_or(""),
        a.body.as_deref().unwrap_or(""),
        &a.tag_list.unwrap_or_default(),
    )
    .map_err(AppError::Validation)?;
    actions::count_post(db, cfg, &me.0, &input.body).await?;
    let slug = repo::create(db, me.0.id, &input).await?;
    Ok((Status::Created, one(db, me.0.id, &slug).await?))
}

#[get("/articles/<slug>")]
async fn show(db: &Db, viewer: Viewer, slug: &str) -> ConduitResult<Json<Value>> {
    one(db, viewer.id(), slug).await
}

/// Update an article (its author only: 403 for anyone else). The slug
/// stays the same when the title changes, so links keep working.
#[put("/articles/<slug>", data = "<body>")]
async fn update(
    db: &Db,
    cfg: &State<AppConfig>,
    me: ApiUser,
    slug: &str,
    body: JsonBody<ArticleBody>,
) -> ConduitResult<Json<Value>> {
    let JsonBody(ArticleBody { article: a }) = body;
    let stored = repo::find(db, me.0.id, slug).await?;
    if !actions::may_edit(&me.0, &stored) {
        return Err(AppError::Forbidden.into());
    }
    let tags = a.tag_list.unwrap_or_else(|| stored.tags.clone());
    let input = ArticleInput::validate(
        a.title.as_deref().unwrap_or(&stored.title),
        a.description.as_deref().unwrap_or(&stored.description),
        a.body.as_deref().unwrap_or(&stored.body),
        &tags,
    )
    .map_err(AppError::Validation)?;
    actions::check_links(cfg, &me.0, &input.body)?;
    repo::update(db, &stored, &input).await?;
    one(db, me.0.id, slug).await
}

#[delete("/articles/<slug>")]
async fn delete(db: &Db, me: ApiUser, ip: ClientIp, slug: &str) -> ConduitResult<Status> {
    let article = repo::find(db, me.0.id, slug).await?;
    actions::delete_article(db, &me.0, &ip.label(), &article).await?;
    Ok(Status::NoContent)
}

async fn favorite_as(db: &Db, me: &ApiUser, slug: &str, on: bool) -> ConduitResult<Json<Value>> {
    let article = repo::find(db, me.0.id, slug).await?;
    repo::set_favorite(db, me.0.id, &article, on).await?;
    one(db, me.0.id, slug).await
}

#[post("/articles/<slug>/favorite")]
async fn favorite(db: &Db, me: ApiUser, slug: &str) -> ConduitResult<Json<Value>> {
    favorite_as(db, &me, slug, true).await
}

#[delete("/articles/<slug>/favorite")]
async fn unfavorite(db: &Db, me: ApiUser, slug: &str) -> ConduitResult<Json<Value>> {
    favorite_as(db, &me, slug, false).await
}

#[get("/articles/<slug>/comments")]
async fn list_comments(db: &Db, viewer: Viewer, slug: &str) -> ConduitResult<Json<Value>> {
    let article = repo::find(db, viewer.id(), slug).await?;
    let list = comments::list(db, viewer.id(), article.id).await?;
    let list: Vec<Value> = list.iter().map(comment_json).collect();
    Ok(Json(json!({ "comments": list })))
}

#[post("/articles/<slug>/comments", data = "<body>")]
async fn add_comment(
    db: &Db,
    cfg: &State<AppConfig>,
    me: ApiUser,
    slug: &str,
    body: JsonBody<CommentBody>,
) -> ConduitResult<Json<Value>> {
    let JsonBody(CommentBody { comment }) = body;
    let text =
        validate_comment(comment.body.as_deref().unwrap_or("")).map_err(AppError::Validation)?;
    let article = repo::find(db, me.0.id, slug).await?;
    actions::count_post(db, cfg, &me.0, &text).await?;
    let comment = comments::add(db, me.0.id, &article, &text, None).await?;
    Ok(Json(json!({ "comment": comment_json(&comment) })))
}

/// Delete a comment: its author, the article's author or an admin (403
/// for anyone else, 404 when the article has no such comment).
#[delete("/articles/<slug>/comments/<id>")]
async fn delete_comment(
    db: &Db,
    me: ApiUser,
    ip: ClientIp,
    slug: &str,
    id: &str,
) -> ConduitResult<Status> {
    let article = repo::find(db, me.0.id, slug).await?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    actions::delete_comment(db, &me.0, &ip.label(), &article, id).await?;
    Ok(Status::NoContent)
}

#[get("/tags")]
async fn tags(db: &Db) -> ConduitResult<Json<Value>> {
    Ok(Json(
        json!({ "tags": repo::popular_tags(db, TAGS_LIMIT).await? }),
    ))
}

/// The article, comment and tag routes, mounted at `/api`.
pub fn routes() -> Vec<Route> {
    routes![
        list,
        feed,
        create,
        show,
        update,
        delete,
        favorite,
        unfavorite,
        list_comments,
        add_comment,
        delete_comment,
        tags
    ]
}
