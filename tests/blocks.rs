//! Blocks and mutes (docs/social.md): a block ends follows both ways and
//! keeps the blocked member from following, commenting on the blocker's
//! articles, notifying them and seeing their favourites; a mute hides a
//! member's articles and comments from the muter only; the JSON API.
//! Every test runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::blog::*;
use common::json_api::user_with_token;
use common::*;
use rocket::http::{Method, Status};

#[rocket::async_test]
async fn a_block_works_in_every_direction() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let url = write(&alice, "Mine", "Text", "").await;
    let liked = write(&bob, "Liked", "Text", "").await;
    press(&alice, &liked, &format!("{liked}/favorite")).await;
    press(&alice, "/blog/author/bob", "/blog/author/bob/follow").await;
    press(&bob, "/blog/author/alice", "/blog/author/alice/follow").await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM follows").await, 2);

    // Blocking needs the token; then it ends the follows both ways.
    let r = post_raw(&alice, "/members/bob/block", &[], &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    let page = get(&alice, "/blog/author/bob").await;
    assert!(page.body.contains("Block bob"));
    let r = press(&alice, "/blog/author/bob", "/members/bob/block").await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/blog/author/bob"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM follows").await, 0);
    assert!(get(&alice, "/blog/author/bob")
        .await
        .body
        .contains("Unblock bob"));
    let notices = count(&app, "SELECT COUNT(*) FROM notifications").await;

    // Bob cannot follow alice again, nor comment on her articles.
    let r = press(&bob, "/blog/author/alice", "/blog/author/alice/follow").await;
    assert_eq!(r.status, Status::SeeOther);
    let page = get(&bob, "/blog/author/alice").await;
    assert!(
        page.body.contains("You cannot follow this member."),
        "{}",
        page.body
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM follows").await, 0);
    let r = submit(&bob, &url, &format!("{url}/comments"), &[("body", "Hey")]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("You cannot comment on this member"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, 0);

    // His mention and favourite reach her no more; her favourites are hidden from him.
    write(&bob, "Hello", "Hi @alice", "").await;
    press(&bob, &url, &format!("{url}/favorite")).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM notifications").await,
        notices
    );
    let favs = get(&bob, "/blog/author/alice/favorites").await;
    assert!(!favs.body.contains("Liked"), "{}", favs.body);
    let visitor = app.another_browser().await;
    assert!(get(&visitor, "/blog/author/alice/favorites")
        .await
        .body
        .contains("Liked"));

    // Blocking oneself is refused; unblocking restores following.
    let r = press(&alice, "/blog/author/alice", "/members/alice/block").await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM blocks").await, 1);
    press(&alice, "/blog/author/bob", "/members/bob/unblock").await;
    press(&bob, "/blog/author/alice", "/blog/author/alice/follow").await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM follows").await, 1);
}

#[rocket::async_test]
async fn a_mute_hides_articles_and_comments_from_the_muter_only() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let bob = app.member("bob").await;
    let url = write(&alice, "Alice writes", "Text", "rust").await;
    write(&bob, "Bob writes", "Text", "rust").await;
    submit(
        &bob,
        &url,
        &format!("{url}/comments"),
        &[("body", "Bob says hi")],
    )
    .await;
    press(&alice, "/blog/author/bob", "/blog/author/bob/follow").await;

    let r = press(&alice, "/blog/author/bob", "/members/bob/mute").await;
    assert_eq!(r.status, Status::SeeOther);
    for page in ["/blog", "/blog/tag/rust", "/blog/feed"] {
        let body = get(&alice, page).await.body;
        assert!(!body.contains("Bob writes"), "{page}");
    }
    assert!(!get(&alice, &url).await.body.contains("Bob says hi"));
    // His own page still shows his articles; others see everything.
    assert!(get(&alice, "/blog/author/bob")
        .await
        .body
        .contains("Bob writes"));
    let carol = app.member("carol").await;
    assert!(get(&carol, "/blog").await.body.contains("Bob writes"));
    assert!(get(&carol, &url).await.body.contains("Bob says hi"));

    press(&alice, "/blog/author/bob", "/members/bob/unmute").await;
    assert!(get(&alice, "/blog").await.body.contains("Bob writes"));
}

#[rocket::async_test]
async fn block_and_mute_through_the_api() {
    let app = TestApp::spawn_for_members().await;
    let (_, token) = user_with_token(&app, "alice", false).await;
    app.member("bob").await;
    let r = app.api(Method::Post, "/members/bob/block").send().await;
    assert_eq!(r.status, Status::Unauthorized);
    let r = app
        .api(Method::Post, "/members/Bob/block")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["blocked"], true);
    assert_eq!(r.json()["username"], "bob");
    let r = app
        .api(Method::Post, "/members/bob/mute")
        .token(&token)
        .send()
        .await;
    assert_eq!(
        (r.json()["blocked"].clone(), r.json()["muted"].clone()),
        (true.into(), true.into())
    );
    let r = app
        .api(Method::Delete, "/members/bob/block")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.json()["blocked"], false);
    let r = app
        .api(Method::Delete, "/members/bob/mute")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.json()["muted"], false);
    let r = app
        .api(Method::Post, "/members/nobody/block")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::NotFound);
    let r = app
        .api(Method::Post, "/members/alice/mute")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
}
