//! The RealWorld (Conduit) API under /api: what the official Postman suite
//! (run by CI, .ci/realworld.sh) does not check — the 403, 404 and 422
//! answers for articles and comments, permissions, slugs, filters, the
//! feed, limits, and that the stored rows match. Users are in
//! conduit_users.rs.

use crate::common;
use common::conduit::*;
use common::*;
use rocket::http::{ContentType, Header, Method, Status};
use serde_json::{json, Value};

#[rocket::async_test]
async fn only_the_author_may_change_an_article_and_admins_may_delete_it() {
    let app = TestApp::spawn().await;
    let jake = register(&app, "jake").await;
    let kim = register(&app, "kim").await;
    let slug = post_article(&app, &jake, "Dragons", &["b"]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let uri = format!("/api/articles/{slug}");
    let r = rw(
        &app,
        Method::Put,
        &uri,
        Some(&kim),
        Some(json!({"article": {"body": "mine now"}})),
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
    let r = rw(&app, Method::Delete, &uri, Some(&kim), None).await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(
        app.text("SELECT body FROM articles").await.as_deref(),
        Some("Some *text*.")
    );
    // Another member may not delete jake's comment either.
    let r = rw(
        &app,
        Method::Post,
        &format!("{uri}/comments"),
        Some(&jake),
        Some(json!({"comment": {"body": "first"}})),
    )
    .await;
    let id = r.json()["comment"]["id"].as_i64().unwrap();
    let r = rw(
        &app,
        Method::Delete,
        &format!("{uri}/comments/{id}"),
        Some(&kim),
        None,
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM comments").await, 1);
    // An admin may delete it, and the audit log says so.
    app.exec("UPDATE users SET role = 'admin' WHERE username = 'kim'")
        .await;
    let r = rw(
        &app,
        Method::Delete,
        &format!("{uri}/comments/{id}"),
        Some(&kim),
        None,
    )
    .await;
    assert_eq!(r.status, Status::NoContent);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'comment.delete' AND target_name = 'jake'"
        )
        .await,
        1
    );
    let r = rw(&app, Method::Delete, &uri, Some(&kim), None).await;
    assert_eq!(r.status, Status::NoContent);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM articles").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM comments").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'article.delete' AND actor_name = 'kim' AND target_name = 'jake'").await, 1);
    let r = rw(&app, Method::Get, &uri, None, None).await;
    assert_eq!(r.status, Status::NotFound);
}

#[rocket::async_test]
async fn unknown_articles_profiles_and_comments_are_404() {
    let app = TestApp::spawn().await;
    let token = register(&app, "jake").await;
    let slug = post_article(&app, &token, "Real", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let other = post_article(&app, &token, "Other", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let r = rw(
        &app,
        Method::Post,
        &format!("/api/articles/{other}/comments"),
        Some(&token),
        Some(json!({"comment": {"body": "there"}})),
    )
    .await;
    let on_other = r.json()["comment"]["id"].as_i64().unwrap();
    let cases = [
        (Method::Get, "/api/articles/nope".to_string(), None),
        (
            Method::Put,
            "/api/articles/nope".to_string(),
            Some(json!({"article": {"body": "x"}})),
        ),
        (Method::Delete, "/api/articles/nope".to_string(), None),
        (
            Method::Post,
            "/api/articles/nope/favorite".to_string(),
            None,
        ),
        (Method::Get, "/api/articles/nope/comments".to_string(), None),
        (
            Method::Post,
            "/api/articles/nope/comments".to_string(),
            Some(json!({"comment": {"body": "x"}})),
        ),
        (
            Method::Delete,
            format!("/api/articles/{slug}/comments/999"),
            None,
        ),
        (
            Method::Delete,
            format!("/api/articles/{slug}/comments/abc"),
            None,
        ),
        // A comment id that belongs to another article.
        (
            Method::Delete,
            format!("/api/articles/{slug}/comments/{on_other}"),
            None,
        ),
        (Method::Get, "/api/profiles/nobody".to_string(), None),
        (
            Method::Post,
            "/api/profiles/nobody/follow".to_string(),
            None,
        ),
        (Method::Get, "/api/no-such-endpoint".to_string(), None),
    ];
    for (method, uri, body) in cases {
        let r = rw(&app, method, &uri, Some(&token), body).await;
        assert_eq!(r.status, Status::NotFound, "{method} {uri}: {}", r.body);
        assert!(r.json()["errors"]["body"][0].is_string(), "{}", r.body);
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM comments").await, 1);
}

#[rocket::async_test]
async fn invalid_articles_comments_and_paging_are_422() {
    let app = TestApp::spawn().await;
    let token = register(&app, "jake").await;
    let r = rw(
        &app,
        Method::Post,
        "/api/articles",
        Some(&token),
        Some(json!({"article": {"title": " "}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    for field in ["title", "description", "body"] {
        field_error(&r, field);
    }
    let r = rw(&app, Method::Post, "/api/articles", Some(&token), Some(json!({"article": {"title": "t".repeat(201), "description": "d", "body": "b", "tagList": "x"}}))).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "tagList");
    let r = rw(
        &app,
        Method::Post,
        "/api/articles",
        Some(&token),
        Some(json!({"article": {"title": "t".repeat(201), "description": "d", "body": "b"}})),
    )
    .await;
    assert!(field_error(&r, "title").contains("200"));
    let many: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    let r = rw(
        &app,
        Method::Post,
        "/api/articles",
        Some(&token),
        Some(json!({"article": {"title": "t", "description": "d", "body": "b", "tagList": many}})),
    )
    .await;
    field_error(&r, "tagList");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM articles").await, 0);
    let slug = post_article(&app, &token, "Fine", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let r = rw(
        &app,
        Method::Put,
        &format!("/api/articles/{slug}"),
        Some(&token),
        Some(json!({"article": {"body": ""}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "body");
    let r = rw(
        &app,
        Method::Post,
        &format!("/api/articles/{slug}/comments"),
        Some(&token),
        Some(json!({"comment": {"body": "  "}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "body");
    for q in ["limit=0", "limit=101", "limit=abc", "offset=-1", "offset=x"] {
        let r = rw(&app, Method::Get, &format!("/api/articles?{q}"), None, None).await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{q}");
        field_error(&r, q.split('=').next().unwrap());
    }
    let r = rw(
        &app,
        Method::Post,
        "/api/profiles/jake/follow",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    // Not JSON at all.
    let r = app
        .client
        .post("/api/articles")
        .header(Header::new("Authorization", format!("Token {token}")))
        .header(ContentType::JSON)
        .body("{not json")
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::BadRequest);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM follows").await, 0);
}

#[rocket::async_test]
async fn slugs_are_unique_and_stay_when_the_title_changes() {
    let app = TestApp::spawn().await;
    let token = register(&app, "jake").await;
    let a = post_article(
        &app,
        &token,
        "How to train your dragon",
        &["training", "dragons", "Dragons"],
    )
    .await;
    assert_eq!(a["slug"], "how-to-train-your-dragon");
    assert_eq!(a["tagList"], json!(["dragons", "training"]));
    assert_eq!(a["author"]["username"], "jake");
    assert_eq!(a["favorited"], false);
    let b = post_article(&app, &token, "How to train your dragon", &[]).await;
    assert_eq!(b["slug"], "how-to-train-your-dragon-2");
    let c = post_article(&app, &token, "Feed", &[]).await;
    assert_eq!(c["slug"], "feed-2");
    // Who wrote it comes from the token, never from the body.
    register(&app, "kim").await;
    let r = rw(
        &app,
        Method::Post,
        "/api/articles",
        Some(&token),
        Some(json!({"article": {"title": "Mine", "description": "d", "body": "b",
            "author": {"username": "kim"}, "author_id": 2, "slug": "chosen", "favoritesCount": 99}})),
    )
    .await;
    assert_eq!(r.status, Status::Created);
    let a = &r.json()["article"];
    assert_eq!(
        (
            a["author"]["username"].clone(),
            a["slug"].clone(),
            a["favoritesCount"].clone()
        ),
        (json!("jake"), json!("mine"), json!(0))
    );
    let r = rw(
        &app,
        Method::Put,
        "/api/articles/how-to-train-your-dragon",
        Some(&token),
        Some(json!({"article": {"title": "A new title"}})),
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    let v = r.json();
    assert_eq!(v["article"]["slug"], "how-to-train-your-dragon");
    assert_eq!(v["article"]["title"], "A new title");
    assert_eq!(v["article"]["tagList"], json!(["dragons", "training"]));
    assert!(v["article"]["createdAt"]
        .as_str()
        .unwrap()
        .ends_with(".000Z"));
}

#[rocket::async_test]
async fn lists_filter_by_tag_author_and_favourite_and_the_feed_follows() {
    let app = TestApp::spawn().await;
    let jake = register(&app, "jake").await;
    let kim = register(&app, "kim").await;
    let ann = register(&app, "ann").await;
    post_article(&app, &jake, "J1", &["rust"]).await;
    let j2 = post_article(&app, &jake, "J2", &["sql"]).await;
    post_article(&app, &kim, "K1", &["rust"]).await;
    post_article(&app, &ann, "A1", &[]).await;
    let count = |r: &Resp| r.json()["articlesCount"].as_i64().unwrap();
    let titles = |r: &Resp| -> Vec<String> {
        r.json()["articles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect()
    };
    let r = rw(&app, Method::Get, "/api/articles", None, None).await;
    assert_eq!(
        (count(&r), titles(&r)),
        (4, vec!["A1".into(), "K1".into(), "J2".into(), "J1".into()])
    );
    assert!(
        r.json()["articles"][0].get("body").is_none(),
        "lists leave the body out"
    );
    let r = rw(&app, Method::Get, "/api/articles?tag=rust", None, None).await;
    assert_eq!(titles(&r), vec!["K1", "J1"]);
    let r = rw(
        &app,
        Method::Get,
        "/api/articles?author=JAKE&limit=1&offset=1",
        None,
        None,
    )
    .await;
    assert_eq!((count(&r), titles(&r)), (2, vec!["J1".into()]));
    let slug = j2["slug"].as_str().unwrap();
    let r = rw(
        &app,
        Method::Post,
        &format!("/api/articles/{slug}/favorite"),
        Some(&kim),
        None,
    )
    .await;
    assert_eq!(
        (
            r.json()["article"]["favorited"].clone(),
            r.json()["article"]["favoritesCount"].clone()
        ),
        (json!(true), json!(1))
    );
    // Favouriting twice counts once.
    rw(
        &app,
        Method::Post,
        &format!("/api/articles/{slug}/favorite"),
        Some(&kim),
        None,
    )
    .await;
    let r = rw(
        &app,
        Method::Get,
        "/api/articles?favorited=kim",
        Some(&kim),
        None,
    )
    .await;
    assert_eq!(titles(&r), vec!["J2"]);
    assert_eq!(r.json()["articles"][0]["favoritesCount"], 1);
    assert_eq!(r.json()["articles"][0]["favorited"], true);
    let r = rw(
        &app,
        Method::Get,
        "/api/articles?favorited=kim",
        Some(&ann),
        None,
    )
    .await;
    assert_eq!(r.json()["articles"][0]["favorited"], false);
    let r = rw(&app, Method::Get, "/api/articles?author=nobody", None, None).await;
    assert_eq!((count(&r), titles(&r).len()), (0, 0));
    // The feed: only authors ann follows.
    let r = rw(&app, Method::Get, "/api/articles/feed", Some(&ann), None).await;
    assert_eq!(count(&r), 0);
    let r = rw(
        &app,
        Method::Post,
        "/api/profiles/jake/follow",
        Some(&ann),
        None,
    )
    .await;
    assert_eq!(r.json()["profile"]["following"], true);
    let r = rw(&app, Method::Get, "/api/articles/feed", Some(&ann), None).await;
    assert_eq!((count(&r), titles(&r)), (2, vec!["J2".into(), "J1".into()]));
    assert_eq!(r.json()["articles"][0]["author"]["following"], true);
    let r = rw(&app, Method::Get, "/api/profiles/jake", Some(&ann), None).await;
    assert_eq!(r.json()["profile"]["following"], true);
    let r = rw(&app, Method::Get, "/api/profiles/jake", None, None).await;
    assert_eq!(r.json()["profile"]["following"], false);
    rw(
        &app,
        Method::Delete,
        "/api/profiles/jake/follow",
        Some(&ann),
        None,
    )
    .await;
    let r = rw(&app, Method::Get, "/api/articles/feed", Some(&ann), None).await;
    assert_eq!(count(&r), 0);
    let r = rw(&app, Method::Get, "/api/tags", None, None).await;
    assert_eq!(r.json()["tags"], json!(["rust", "sql"]));
    // A disabled author's articles leave every list.
    app.exec("UPDATE users SET disabled = 1 WHERE username = 'jake'")
        .await;
    let r = rw(&app, Method::Get, "/api/articles", None, None).await;
    assert_eq!((count(&r), titles(&r)), (2, vec!["A1".into(), "K1".into()]));
    let r = rw(&app, Method::Get, "/api/articles?author=jake", None, None).await;
    assert_eq!(count(&r), 0);
    let r = rw(&app, Method::Get, "/api/articles/j2", None, None).await;
    assert_eq!(r.status, Status::NotFound);
}

#[rocket::async_test]
async fn comments_are_listed_oldest_first_and_removable_by_the_article_author() {
    let app = TestApp::spawn().await;
    let jake = register(&app, "jake").await;
    let kim = register(&app, "kim").await;
    let slug = post_article(&app, &jake, "Talk", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let uri = format!("/api/articles/{slug}/comments");
    let r = rw(
        &app,
        Method::Post,
        &uri,
        Some(&kim),
        Some(json!({"comment": {"body": "<b>hi</b>"}})),
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    let id = r.json()["comment"]["id"].as_i64().unwrap();
    assert_eq!(r.json()["comment"]["author"]["username"], "kim");
    rw(
        &app,
        Method::Post,
        &uri,
        Some(&jake),
        Some(json!({"comment": {"body": "reply"}})),
    )
    .await;
    let r = rw(&app, Method::Get, &uri, None, None).await;
    let bodies: Vec<Value> = r.json()["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].clone())
        .collect();
    assert_eq!(bodies, vec![json!("<b>hi</b>"), json!("reply")]);
    let r = rw(
        &app,
        Method::Delete,
        &format!("{uri}/{id}"),
        Some(&jake),
        None,
    )
    .await;
    assert_eq!(r.status, Status::NoContent);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM comments").await, 1);
}

#[rocket::async_test]
async fn posting_faster_than_the_hourly_limit_is_429() {
    let app = TestApp::spawn_with(|f| f.merge(("blog_posts_per_hour", 2))).await;
    let token = register(&app, "jake").await;
    let slug = post_article(&app, &token, "One", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let uri = format!("/api/articles/{slug}/comments");
    let body = json!({"comment": {"body": "hi"}});
    let r = rw(&app, Method::Post, &uri, Some(&token), Some(body.clone())).await;
    assert_eq!(r.status, Status::Ok);
    let r = rw(&app, Method::Post, &uri, Some(&token), Some(body)).await;
    assert_eq!(r.status, Status::TooManyRequests);
    assert!(r.header("retry-after").is_some());
    assert!(r.json()["errors"]["body"][0].is_string(), "{}", r.body);
    let r = rw(
        &app,
        Method::Post,
        "/api/articles",
        Some(&token),
        Some(json!({"article": {"title": "Two", "description": "d", "body": "b"}})),
    )
    .await;
    assert_eq!(r.status, Status::TooManyRequests);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM articles").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM comments").await, 1);
}

#[rocket::async_test]
async fn an_address_holding_a_nul_is_400_in_each_format_never_a_500() {
    let app = TestApp::spawn().await;
    let token = register(&app, "jake").await;
    // The API answers in its own error format.
    for uri in [
        "/api/articles?author=ja%00ke",
        "/api/articles?tag=%00",
        "/api/articles/a%00b",
        "/api/profiles/a%00b",
    ] {
        let r = rw(&app, Method::Get, uri, Some(&token), None).await;
        assert_eq!(r.status, Status::BadRequest, "{uri}");
        assert!(field_error_body(&r).contains("NUL"), "{uri}: {}", r.body);
    }
    let r = rw(
        &app,
        Method::Delete,
        "/api/articles/a%00b",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, Status::BadRequest);
    // The other JSON API (notes: its tag filter reached Postgres before).
    let r = app
        .api(Method::Get, "/notes?tag=a%00b")
        .token(&token)
        .send()
        .await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (Status::BadRequest, json!("bad_request"))
    );
    // Pages answer with the error page.
    for uri in [
        "/blog/tag/ru%00st",
        "/blog/author/ja%00ke",
        "/blog/a%00b",
        "/blog?page=%00",
    ] {
        let r = app.get(uri).await;
        assert_eq!(r.status, Status::BadRequest, "{uri}");
        assert!(r.body.contains("NUL character"), "{uri}");
    }
}

fn field_error_body(r: &Resp) -> String {
    r.json()["errors"]["body"][0]
        .as_str()
        .unwrap_or("")
        .to_string()
}
