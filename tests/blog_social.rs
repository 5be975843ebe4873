//! The blog's social side: comments (added escaped, deleted by those who
//! may), favourites and their counts, and following authors into the feed.
//! Every test runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::blog::*;
use common::*;
use rocket::http::Status;

#[rocket::async_test]
async fn comments_are_added_escaped_and_deleted_by_those_who_may() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("alice").await;
    let url = write(&app.client, "Discuss", "Text", "").await;
    let bob = app.member("bob").await;
    let carol = app.member("carol").await;

    let r = submit(
        &bob,
        &url,
        &format!("{url}/comments"),
        &[("body", "<b>first</b>\nsecond line")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let id = count(&app, "SELECT id FROM comments").await;
    assert_eq!(r.location(), Some(format!("{url}#comment-{id}").as_str()));
    let page = get(&bob, &url).await;
    assert!(page.body.contains("Comment added."));
    assert!(
        page.body
            .contains("&#60;b&#62;first&#60;/b&#62;\nsecond line"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Comments (1)"));
    assert!(page.body.contains(&format!("{url}/comments/{id}/delete")));

    // A refused comment re-shows the article with the text as typed.
    let long = format!("<i>{}</i>", "x".repeat(5000));
    let r = submit(&bob, &url, &format!("{url}/comments"), &[("body", &long)]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Use at most 5000 characters"));
    assert!(r.body.contains(&format!("&#60;i&#62;{}", "x".repeat(5000))));
    assert!(r.body.contains("Discuss"));
    let r = submit(&bob, &url, &format!("{url}/comments"), &[("body", "  ")]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Write something first."));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, 1);

    // Carol neither sees a delete button nor may delete it.
    let page = get(&carol, &url).await;
    assert!(!page.body.contains(&format!("/comments/{id}/delete")));
    let r = press(&carol, &url, &format!("{url}/comments/{id}/delete")).await;
    assert_eq!(r.status, Status::Forbidden);
    let r = press(&carol, &url, &format!("{url}/comments/999999/delete")).await;
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, 1);

    // The commenter deletes their own; the article's author deletes any.
    let r = press(&bob, &url, &format!("{url}/comments/{id}/delete")).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, 0);
    let r = submit(&carol, &url, &format!("{url}/comments"), &[("body", "hi")]).await;
    assert_eq!(r.status, Status::SeeOther);
    let id = count(&app, "SELECT id FROM comments").await;
    assert!(app
        .get(&url)
        .await
        .body
        .contains(&format!("/comments/{id}/delete")));
    let r = press(&app.client, &url, &format!("{url}/comments/{id}/delete")).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, 0);

    // A visitor cannot comment (the sign-in page gives a valid token).
    let visitor = app.another_browser().await;
    let r = submit(
        &visitor,
        "/login",
        &format!("{url}/comments"),
        &[("body", "hi")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.location().unwrap().starts_with("/login"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, 0);
}

#[rocket::async_test]
async fn favouriting_and_unfavouriting_change_the_count() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("alice").await;
    let url = write(&app.client, "Likeable", "Text", "").await;
    let bob = app.member("bob").await;
    for _ in 0..2 {
        let r = press(&bob, &url, &format!("{url}/favorite")).await;
        assert_eq!(r.status, Status::SeeOther);
        assert_eq!(r.location(), Some(url.as_str()));
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM favorites").await, 1);
    let page = get(&bob, &url).await;
    assert!(page
        .body
        .contains("Unfavourite <span class=\"favorites-count\">(1)</span>"));
    assert!(app.get("/blog").await.body.contains("1 favourite<"));
    assert!(get(&bob, "/blog/author/bob/favorites")
        .await
        .body
        .contains("Likeable"));

    let r = press(&bob, &url, &format!("{url}/unfavorite")).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM favorites").await, 0);
    let page = get(&bob, &url).await;
    assert!(page
        .body
        .contains("Favourite <span class=\"favorites-count\">(0)</span>"));
    assert!(!get(&bob, "/blog/author/bob/favorites")
        .await
        .body
        .contains("Likeable"));
}

#[rocket::async_test]
async fn following_an_author_fills_the_feed_with_their_articles_only() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("bob").await;
    let alice = app.member("alice").await;
    let carol = app.member("carol").await;
    write(&alice, "From Alice", "Text", "").await;
    write(&carol, "From Carol", "Text", "").await;

    let feed = app.get("/blog/feed").await;
    assert_eq!(feed.status, Status::Ok);
    assert!(!feed.body.contains("From Alice") && !feed.body.contains("From Carol"));
    assert!(app.get("/blog").await.body.contains("href=\"/blog/feed\""));

    let author = app.get("/blog/author/alice").await;
    assert!(author.body.contains("Follow alice"));
    let r = press(
        &app.client,
        "/blog/author/alice",
        "/blog/author/alice/follow",
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/blog/author/alice"));
    let author = app.get("/blog/author/alice").await;
    assert!(author.body.contains("You now follow alice."));
    assert!(author.body.contains("Unfollow alice"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM follows").await, 1);

    let feed = app.get("/blog/feed").await;
    assert!(feed.body.contains("From Alice"), "{}", feed.body);
    assert!(!feed.body.contains("From Carol"));

    // The article page's button comes back to the article.
    let article = app.get("/blog/from-alice").await;
    assert!(article.body.contains("Unfollow alice"));
    let r = submit(
        &app.client,
        "/blog/from-alice",
        "/blog/author/alice/unfollow",
        &[("next", "/blog/from-alice")],
    )
    .await;
    assert_eq!(r.location(), Some("/blog/from-alice"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM follows").await, 0);
    assert!(!app.get("/blog/feed").await.body.contains("From Alice"));

    // Following oneself is refused with a message, not an error page.
    assert!(!app
        .get("/blog/author/bob")
        .await
        .body
        .contains("Follow bob"));
    let r = press(&app.client, "/blog/author/bob", "/blog/author/bob/follow").await;
    assert_eq!(r.status, Status::SeeOther);
    assert!(app
        .get("/blog/author/bob")
        .await
        .body
        .contains("You cannot follow yourself."));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM follows").await, 0);
    let r = press(&app.client, "/blog", "/blog/author/nobody/follow").await;
    assert_eq!(r.status, Status::NotFound);
}
