//! The RealWorld (Conduit) API under /api: what the official Postman suite
//! (run by CI, .ci/realworld.sh) does not check — the 401, 403, 404 and 422
//! answers, permissions, filters, the feed, and that the stored rows match.

mod common;
use common::*;
use rocket::http::{ContentType, Header, Method, Status};
use serde_json::{json, Value};

/// A request as RealWorld clients send it: `Authorization: Token <jwt>`.
async fn rw(
    app: &TestApp,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut req = app.client.req(method, uri.to_string());
    if let Some(t) = token {
        req = req.header(Header::new("Authorization", format!("Token {t}")));
    }
    if let Some(b) = body {
        req = req.header(ContentType::JSON).body(b.to_string());
    }
    Resp::read(req.dispatch().await).await
}

/// Register `name` through the API; returns its token.
async fn register(app: &TestApp, name: &str) -> String {
    let r = rw(
        app,
        Method::Post,
        "/api/users",
        None,
        Some(json!({"user": {"username": name, "email": format!("{name}@example.org"), "password": PASSWORD}})),
    )
    .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()["user"]["token"].as_str().unwrap().to_string()
}

async fn post_article(app: &TestApp, token: &str, title: &str, tags: &[&str]) -> Value {
    let r = rw(
        app,
        Method::Post,
        "/api/articles",
        Some(token),
        Some(json!({"article": {"title": title, "description": "About it", "body": "Some *text*.", "tagList": tags}})),
    )
    .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()["article"].clone()
}

fn field_error(r: &Resp, field: &str) -> String {
    let v = r.json();
    assert!(
        v["errors"]["body"].is_array(),
        "errors.body missing: {}",
        r.body
    );
    v["errors"][field][0]
        .as_str()
        .unwrap_or_else(|| panic!("no error for {field}: {}", r.body))
        .to_string()
}

#[rocket::async_test]
async fn registering_gives_a_token_that_works_with_the_token_scheme() {
    let app = TestApp::spawn().await;
    let token = register(&app, "jake").await;
    let r = rw(&app, Method::Get, "/api/user", Some(&token), None).await;
    assert_eq!(r.status, Status::Ok);
    let user = &r.json()["user"];
    assert_eq!(user["username"], "jake");
    assert_eq!(user["email"], "jake@example.org");
    assert_eq!(user["bio"], "");
    assert_eq!(user["image"], "");
    assert_eq!(user["token"], token.as_str());
    // Our own account: the same users table, a hashed password, and the
    // sign-up's verification mail queued.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users WHERE username = 'jake' AND password_hash LIKE '$argon2id$%'").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = 'jake@example.org'")
            .await,
        1
    );
    // Signing in gives another token, bound to its own session.
    let r = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "JAKE@example.org", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_ne!(r.json()["user"]["token"], token.as_str());
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions WHERE kind = 'api'")
            .await,
        2
    );
}

#[rocket::async_test]
async fn registration_problems_are_422_with_a_message_per_field() {
    let app = TestApp::spawn().await;
    let r = rw(
        &app,
        Method::Post,
        "/api/users",
        None,
        Some(json!({"user": {}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    for field in ["username", "email", "password"] {
        assert_eq!(field_error(&r, field), "can't be blank");
    }
    let r = rw(
        &app,
        Method::Post,
        "/api/users",
        None,
        Some(json!({"user": {"username": "x y", "email": "nope", "password": "password"}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "username");
    field_error(&r, "email");
    assert!(field_error(&r, "password").contains("common"), "{}", r.body);
    register(&app, "jake").await;
    let r = rw(&app, Method::Post, "/api/users", None, Some(json!({"user": {"username": "JAKE", "email": "jake@example.org", "password": PASSWORD}}))).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "username");
    field_error(&r, "email");
    let r = rw(
        &app,
        Method::Post,
        "/api/users",
        None,
        Some(json!({"user": {"username": 5}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "username");
    let r = rw(
        &app,
        Method::Post,
        "/api/users",
        None,
        Some(json!({"username": "a"})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "user");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);
}

#[rocket::async_test]
async fn wrong_credentials_are_refused_and_a_disabled_account_is_403() {
    let app = TestApp::spawn().await;
    register(&app, "jake").await;
    let r = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "jake@example.org", "password": "wrong password!"}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(field_error(&r, "email or password"), "is invalid");
    assert!(!r.body.contains("token"));
    let r = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "jake@example.org"}})),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "password");
    app.exec("UPDATE users SET disabled = 1 WHERE username = 'jake'")
        .await;
    let r = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "jake@example.org", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
}

#[rocket::async_test]
async fn endpoints_that_need_a_token_answer_401_without_a_valid_one() {
    let app = TestApp::spawn().await;
    let token = register(&app, "jake").await;
    let slug = post_article(&app, &token, "Hello", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let needs_token = [
        (Method::Get, "/api/user".to_string()),
        (Method::Put, "/api/user".to_string()),
        (Method::Get, "/api/articles/feed".to_string()),
        (Method::Post, "/api/articles".to_string()),
        (Method::Put, format!("/api/articles/{slug}")),
        (Method::Delete, format!("/api/articles/{slug}")),
        (Method::Post, format!("/api/articles/{slug}/favorite")),
        (Method::Delete, format!("/api/articles/{slug}/favorite")),
        (Method::Post, format!("/api/articles/{slug}/comments")),
        (Method::Delete, format!("/api/articles/{slug}/comments/1")),
        (Method::Post, "/api/profiles/jake/follow".to_string()),
        (Method::Delete, "/api/profiles/jake/follow".to_string()),
    ];
    for (method, uri) in &needs_token {
        for token in [None, Some("not-a-jwt")] {
            let r = rw(&app, *method, uri, token, Some(json!({}))).await;
            assert_eq!(
                r.status,
                Status::Unauthorized,
                "{method} {uri} with {token:?}"
            );
            assert!(r.json()["errors"]["body"][0].is_string(), "{}", r.body);
            assert_eq!(r.header("www-authenticate"), Some("Token"));
        }
    }
    // Where signing in is optional, a bad token is still refused.
    let r = rw(&app, Method::Get, "/api/articles", Some("not-a-jwt"), None).await;
    assert_eq!(r.status, Status::Unauthorized);
    // A signed-out token stops working at once.
    let r = app.api(Method::Post, "/logout").token(&token).send().await;
    assert_eq!(r.status, Status::NoContent);
    let r = rw(&app, Method::Get, "/api/user", Some(&token), None).await;
    assert_eq!(r.status, Status::Unauthorized);
    // A browser session cookie never authorizes the API.
    app.signup("kim", "kim@example.org", PASSWORD).await;
    let r = rw(&app, Method::Get, "/api/user", None, None).await;
    assert_eq!(r.status, Status::Unauthorized);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM articles").await, 1);
}

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
async fn updating_the_user_changes_the_profile_and_guards_email_and_password() {
    let app = TestApp::spawn().await;
    let token = register(&app, "jake").await;
    let other = register(&app, "kim").await;
    let put = |body: Value| {
        let token = token.clone();
        let app = &app;
        async move { rw(app, Method::Put, "/api/user", Some(&token), Some(body)).await }
    };
    let r = put(json!({"user": {"bio": "I like dragons", "image": "https://example.org/me.png", "username": "jacob"}})).await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let user = &r.json()["user"];
    assert_eq!(
        (
            user["bio"].clone(),
            user["image"].clone(),
            user["username"].clone()
        ),
        (
            json!("I like dragons"),
            json!("https://example.org/me.png"),
            json!("jacob")
        )
    );
    assert_eq!(user["token"], token.as_str());
    let r = put(json!({"user": {"image": "javascript:alert(1)"}})).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "image");
    let r = put(json!({"user": {"username": "KIM"}})).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "username");
    // An update with a taken address changes nothing at all.
    let r = put(json!({"user": {"username": "renamed", "bio": "changed",
        "email": "kim@example.org", "currentPassword": PASSWORD}}))
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "email");
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM users WHERE username = 'jacob' AND bio = 'I like dragons'"
        )
        .await,
        1
    );
    // The same email is no change; a new one needs the current password.
    let r = put(json!({"user": {"email": "jake@example.org"}})).await;
    assert_eq!(r.status, Status::Ok);
    let r = put(json!({"user": {"email": "new@example.org"}})).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "currentPassword");
    let r = put(json!({"user": {"email": "new@example.org", "currentPassword": "not it at all"}}))
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    field_error(&r, "currentPassword");
    let r = put(json!({"user": {"email": "new@example.org", "currentPassword": PASSWORD}})).await;
    assert_eq!(r.status, Status::Ok);
    // Changed once the link mailed to the new address is opened.
    assert_eq!(r.json()["user"]["email"], "jake@example.org");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = 'new@example.org'")
            .await,
        1
    );
    // A new password: the old one stops working, other sessions end.
    let second = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "jake@example.org", "password": PASSWORD}})),
    )
    .await
    .json()["user"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r =
        put(json!({"user": {"password": "a brand new passphrase", "currentPassword": PASSWORD}}))
            .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(
        rw(&app, Method::Get, "/api/user", Some(&second), None)
            .await
            .status,
        Status::Unauthorized
    );
    assert_eq!(
        rw(&app, Method::Get, "/api/user", Some(&token), None)
            .await
            .status,
        Status::Ok
    );
    assert_eq!(
        rw(&app, Method::Get, "/api/user", Some(&other), None)
            .await
            .status,
        Status::Ok
    );
    let r = rw(
        &app,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({"user": {"email": "jake@example.org", "password": "a brand new passphrase"}})),
    )
    .await;
    assert_eq!(r.status, Status::Ok);
}

#[rocket::async_test]
async fn a_front_end_on_a_configured_origin_may_call_the_api() {
    let app =
        TestApp::spawn_with(|f| f.merge(("cors_allowed_origins", vec!["https://conduit.example"])))
            .await;
    let r = app
        .client
        .options("/api/articles/feed")
        .header(Header::new("Origin", "https://conduit.example"))
        .header(Header::new("Access-Control-Request-Method", "GET"))
        .header(Header::new(
            "Access-Control-Request-Headers",
            "authorization",
        ))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::NoContent);
    let allowed = r
        .headers()
        .get_one("Access-Control-Allow-Headers")
        .unwrap_or("");
    assert!(allowed.contains("Authorization"), "{allowed}");
    let r = app
        .client
        .get("/api/tags")
        .header(Header::new("Origin", "https://conduit.example"))
        .dispatch()
        .await;
    assert_eq!(
        r.headers().get_one("Access-Control-Allow-Origin"),
        Some("https://conduit.example")
    );
    let r = app
        .client
        .get("/api/tags")
        .header(Header::new("Origin", "https://evil.example"))
        .dispatch()
        .await;
    assert_eq!(r.headers().get_one("Access-Control-Allow-Origin"), None);
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
