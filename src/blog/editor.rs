//! What members do on the blog: write, edit and delete articles, comment,
//! favourite and follow. Every action needs a signed-in member and a form
//! with a valid CSRF token; who may change what is `actions.rs`'s call.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{get, post, routes, Route, State};

use super::actions;
use super::comments;
use super::model::{validate_comment, ArticleForm, CommentForm};
use super::pages::{show_page, shown};
use super::repo;
use super::social;
use super::views::{article_url, author_url, form_of, ArticleView, DeletePage, FormPage};
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::CurrentUser;
use crate::session::{CsrfForm, NoFields};
use crate::web::{local_path, ClientIp, Layout, Reply};

#[get("/blog/new")]
fn new_article(_user: CurrentUser, layout: Layout) -> AppResult<Reply> {
    Reply::page(&FormPage {
        layout,
        slug: None,
        form: <ArticleForm as Default>::default(),
        errors: FieldErrors::default(),
    })
}

#[post("/blog", data = "<form>")]
async fn create(
    db: &Db,
    cfg: &State<AppConfig>,
    user: CurrentUser,
    layout: Layout,
    form: CsrfForm<ArticleForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let article = match form.validate() {
        Ok(a) => a,
        Err(errors) => {
            return Reply::page_with(
                Status::UnprocessableEntity,
                &FormPage {
                    layout,
                    slug: None,
                    form,
                    errors,
                },
            )
        }
    };
    if let Some((status, errors)) = actions::post_refused(db, cfg, &user, &article.body).await? {
        return Reply::page_with(
            status,
            &FormPage {
                layout,
                slug: None,
                form,
                errors,
            },
        );
    }
    let slug = repo::create(db, user.id, &article).await?;
    Ok(Reply::success(article_url(&slug), "Article published."))
}

#[get("/blog/<slug>/edit")]
async fn edit(db: &Db, user: CurrentUser, layout: Layout, slug: &str) -> AppResult<Reply> {
    let article = repo::find(db, user.id, slug).await?;
    if !actions::may_edit(&user, &article) {
        return Err(AppError::Forbidden);
    }
    Reply::page(&FormPage {
        layout,
        slug: Some(article.slug.clone()),
        form: form_of(&article),
        errors: FieldErrors::default(),
    })
}

/// Save an edit. The slug stays as it was, so links keep working.
#[post("/blog/<slug>/edit", data = "<form>")]
async fn save(
    db: &Db,
    cfg: &State<AppConfig>,
    user: CurrentUser,
    layout: Layout,
    slug: &str,
    form: CsrfForm<ArticleForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let article = repo::find(db, user.id, slug).await?;
    if !actions::may_edit(&user, &article) {
        return Err(AppError::Forbidden);
    }
    let input = match form.validate() {
        Ok(a) => a,
        Err(errors) => {
            return Reply::page_with(
                Status::UnprocessableEntity,
                &FormPage {
                    layout,
                    slug: Some(article.slug),
                    form,
                    errors,
                },
            )
        }
    };
    if let Err(AppError::Validation(errors)) = actions::check_links(cfg, &user, &input.body) {
        return Reply::page_with(
            Status::UnprocessableEntity,
            &FormPage {
                layout,
                slug: Some(article.slug),
                form,
                errors,
            },
        );
    }
    repo::update(db, &article, &input).await?;
    Ok(Reply::success(article_url(&article.slug), "Article saved."))
}

#[get("/blog/<slug>/delete")]
async fn confirm_delete(
    db: &Db,
    user: CurrentUser,
    layout: Layout,
    slug: &str,
) -> AppResult<Reply> {
    let article = repo::find(db, user.id, slug).await?;
    if !actions::may_delete(&user, &article) {
        return Err(AppError::Forbidden);
    }
    Reply::page(&DeletePage {
        layout,
        moderating: article.author.id != user.id,
        article: ArticleView::summary(&article),
    })
}

#[post("/blog/<slug>/delete", data = "<_form>")]
async fn delete(
    db: &Db,
    user: CurrentUser,
    ip: ClientIp,
    slug: &str,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let article = repo::find(db, user.id, slug).await?;
    actions::delete_article(db, &user, &ip.label(), &article).await?;
    Ok(Reply::success("/blog", "Article deleted."))
}

/// Add a comment. A refused one re-shows the article with the message and
/// the text as typed (422).
#[post("/blog/<slug>/comments", data = "<form>")]
async fn comment(
    db: &Db,
    cfg: &State<AppConfig>,
    user: CurrentUser,
    layout: Layout,
    slug: &str,
    form: CsrfForm<CommentForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let article = repo::find(db, user.id, slug).await?;
    let (status, errors) = match validate_comment(&form.body) {
        Err(errors) => (Status::UnprocessableEntity, errors),
        Ok(body) => match actions::post_refused(db, cfg, &user, &body).await? {
            Some(refused) => refused,
            None => match comments::add(db, user.id, &article, &body, form.parent_id).await {
                Ok(c) => {
                    return Ok(Reply::success(
                        format!("{}#comment-{}", article_url(&article.slug), c.id),
                        "Comment added.",
                    ))
                }
                Err(AppError::Validation(errors)) => (Status::UnprocessableEntity, errors),
                Err(e) => return Err(e),
            },
        },
    };
    let shown = shown(db, user.id, slug).await?;
    let page = show_page(Some(&user), layout, &shown, form, errors);
    Reply::page_with(status, &page)
}

#[post("/blog/<slug>/comments/<id>/delete", data = "<_form>")]
async fn delete_comment(
    db: &Db,
    user: CurrentUser,
    ip: ClientIp,
    slug: &str,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let article = repo::find(db, user.id, slug).await?;
    actions::delete_comment(db, &user, &ip.label(), &article, id).await?;
    Ok(Reply::success(
        format!("{}#comments", article_url(&article.slug)),
        "Comment deleted.",
    ))
}

async fn favorite(db: &Db, user: &CurrentUser, slug: &str, on: bool) -> AppResult<Reply> {
    let article = repo::find(db, user.id, slug).await?;
    repo::set_favorite(db, user.id, &article, on).await?;
    Ok(Reply::to(article_url(&article.slug)))
}

#[post("/blog/<slug>/favorite", data = "<_form>")]
async fn add_favorite(
    db: &Db,
    user: CurrentUser,
    slug: &str,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    favorite(db, &user, slug, true).await
}

#[post("/blog/<slug>/unfavorite", data = "<_form>")]
async fn remove_favorite(
    db: &Db,
    user: CurrentUser,
    slug: &str,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    favorite(db, &user, slug, false).await
}

/// A follow button's form: where to go back to (the author page when
/// absent; an article page's button comes back to the article).
#[derive(Debug, FromForm)]
struct FollowForm {
    next: Option<String>,
}

async fn follow(
    db: &Db,
    user: &CurrentUser,
    username: &str,
    on: bool,
    form: FollowForm,
) -> AppResult<Reply> {
    let back = form.next.as_deref().and_then(local_path);
    match social::set_following(db, user.id, &user.username, username, on).await {
        Ok(author) => {
            let message = if on {
                format!("You now follow {}.", author.username)
            } else {
                format!("You no longer follow {}.", author.username)
            };
            let back = back.unwrap_or_else(|| author_url(&author.username));
            Ok(Reply::success(back, message))
        }
        Err(AppError::Validation(errors)) => {
            let message = errors.get("username").unwrap_or("You cannot do that.");
            let back = back.unwrap_or_else(|| author_url(username));
            Ok(Reply::failure(back, message))
        }
        Err(e) => Err(e),
    }
}

#[post("/blog/author/<username>/follow", data = "<form>")]
async fn add_follow(
    db: &Db,
    user: CurrentUser,
    username: &str,
    form: CsrfForm<FollowForm>,
) -> AppResult<Reply> {
    follow(db, &user, username, true, form.0).await
}

#[post("/blog/author/<username>/unfollow", data = "<form>")]
async fn remove_follow(
    db: &Db,
    user: CurrentUser,
    username: &str,
    form: CsrfForm<FollowForm>,
) -> AppResult<Reply> {
    follow(db, &user, username, false, form.0).await
}

/// The members' blog actions.
pub fn routes() -> Vec<Route> {
    routes![
        new_article,
        create,
        edit,
        save,
        confirm_delete,
        delete,
        comment,
        delete_comment,
        add_favorite,
        remove_favorite,
        add_follow,
        remove_follow
    ]
}
