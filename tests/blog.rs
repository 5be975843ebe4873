//! The blog pages: reading as a visitor; writing, editing and deleting
//! articles with their permissions (author, other member, admin with the
//! audit log); validation and escaping; Markdown sanitising; CSRF; 404s;
//! paging and the posting limit. Comments, favourites and follows are in
//! blog_social.rs. Every test runs on SQLite, and on Postgres with
//! `TEST_DATABASE_URL`.

use crate::common;
use common::blog::*;
use common::*;
use rocket::http::{RawStr, Status};

/// The slug in an article address, decoded.
fn slug_of(url: &str) -> String {
    RawStr::new(url.trim_start_matches("/blog/"))
        .percent_decode_lossy()
        .to_string()
}

#[rocket::async_test]
async fn visitors_read_the_list_an_article_and_the_tag_and_author_pages() {
    let app = TestApp::spawn_for_members().await;
    let alice = app.member("alice").await;
    let url = write(&alice, "Hello world", "Some *text*.", "Rust, web").await;
    let visitor = app.another_browser().await;

    let home = get(&visitor, "/").await;
    assert!(home.body.contains("href=\"/blog\""), "nav and home link");

    let list = get(&visitor, "/blog").await;
    assert_eq!(list.status, Status::Ok);
    for part in [
        "href=\"/blog/hello-world\">Hello world</a>",
        "href=\"/blog/author/alice\"",
        "href=\"/blog/tag/rust\"",
        "A summary",
        "Popular tags",
        "0 favourites",
    ] {
        assert!(list.body.contains(part), "{part} in {}", list.body);
    }
    assert!(!list.body.contains("Your feed"));
    assert!(!list.body.contains("Write an article"));

    let page = get(&visitor, &url).await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("<em>text</em>"));
    assert!(page.body.contains("href=\"/blog/tag/web\""));
    assert!(page.body.contains("Sign in to comment"));
    assert!(page.body.contains("/login?next=%2Fblog%2Fhello-world"));
    assert!(!page.body.contains("name=\"body\""), "no comment form");
    assert!(!page.body.contains("/edit\"") && !page.body.contains("/delete\""));
    assert!(!page.body.contains("/favorite\"") && !page.body.contains("/follow\""));

    let tag = get(&visitor, "/blog/tag/rust").await;
    assert_eq!(tag.status, Status::Ok);
    assert!(tag.body.contains("Hello world") && tag.body.contains("1 article."));
    // Tags are path segments: anything a tag may hold is percent-encoded.
    let odd = write(&alice, "Odd tag", "Text", "C/C++ & #Rust?").await;
    let odd_page = get(&visitor, &odd).await;
    let link = "/blog/tag/c%2Fc%2B%2B%20%26%20%23rust%3F";
    assert!(
        odd_page.body.contains(&format!("href=\"{link}\"")),
        "{}",
        odd_page.body
    );
    let by_odd = get(&visitor, link).await;
    assert!(by_odd.body.contains("Odd tag") && by_odd.body.contains("1 article."));
    let other_tag = get(&visitor, "/blog/tag/cooking").await;
    assert_eq!(other_tag.status, Status::Ok);
    assert!(!other_tag.body.contains("Hello world"));

    let author = get(&visitor, "/blog/author/alice").await;
    assert_eq!(author.status, Status::Ok);
    assert!(author.body.contains("Hello world"));
    assert!(
        !author.body.contains("/follow\""),
        "no follow button for visitors"
    );
    let favs = get(&visitor, "/blog/author/alice/favorites").await;
    assert_eq!(favs.status, Status::Ok);
    assert!(!favs.body.contains("Hello world"));
}

#[rocket::async_test]
async fn the_author_page_shows_bio_and_picture() {
    let app = TestApp::spawn_for_members().await;
    let _alice = app.member("alice").await;
    app.exec(
        "UPDATE users SET bio = 'I <3 dragons', avatar_url = 'https://example.org/a.png' \
         WHERE username = 'alice'",
    )
    .await;
    let page = app.get("/blog/author/ALICE").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("I &#60;3 dragons"), "{}", page.body);
    assert!(page
        .body
        .contains("src=\"https://example.org/a.png\" alt=\"alice"));
    app.exec("UPDATE users SET avatar_url = 'javascript:alert(1)' WHERE username = 'alice'")
        .await;
    let page = app.get("/blog/author/alice").await;
    assert!(!page.body.contains("<img") && !page.body.contains("javascript:"));
}

#[rocket::async_test]
async fn a_member_writes_and_edits_an_article_and_slugs_stay_unique_and_stable() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("alice").await;
    let url = write(
        &app.client,
        "How to Train Your Dragon",
        "Text",
        "Dragons, training",
    )
    .await;
    assert_eq!(url, "/blog/how-to-train-your-dragon");
    let page = app.get(&url).await;
    assert!(page.body.contains("Article published."));
    assert!(
        page.body.contains(&format!("{url}/edit")) && page.body.contains(&format!("{url}/delete"))
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM articles a JOIN users u ON u.id = a.author_id \
             WHERE u.username = 'alice' AND a.slug = 'how-to-train-your-dragon' \
             AND a.title = 'How to Train Your Dragon' AND a.body = 'Text'"
        )
        .await,
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM article_tags").await, 2);

    let again = write(&app.client, "How to Train Your Dragon", "Other", "").await;
    assert_eq!(again, "/blog/how-to-train-your-dragon-2");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM articles").await, 2);

    // Non-ASCII slugs travel percent-encoded and come back whole.
    let cafe = write(&app.client, "Café Ünïcode", "Bonjour", "").await;
    assert_eq!(slug_of(&cafe), "café-ünïcode");
    let page = app.get(&cafe).await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("Bonjour"));

    // Editing keeps the slug and replaces the tags.
    let edit = app.get(&format!("{url}/edit")).await;
    assert_eq!(edit.status, Status::Ok);
    assert_eq!(
        extract_value(&edit.body, "tags").as_deref(),
        Some("dragons, training")
    );
    let r = submit(
        &app.client,
        &format!("{url}/edit"),
        &format!("{url}/edit"),
        &[
            ("title", "A new title"),
            ("description", "New summary"),
            ("body", "New text"),
            ("tags", "vikings"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some(url.as_str()));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM articles WHERE slug = 'how-to-train-your-dragon' \
             AND title = 'A new title' AND body = 'New text'"
        )
        .await,
        1
    );
    let tags: Vec<String> = sqlx::query_scalar(
        "SELECT t.tag FROM article_tags t JOIN articles a ON a.id = t.article_id \
         WHERE a.slug = 'how-to-train-your-dragon' ORDER BY t.tag",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(tags, vec!["vikings".to_string()]);
    assert!(app.get(&url).await.body.contains("Article saved."));
}

#[rocket::async_test]
async fn invalid_input_is_refused_with_422_and_shown_back_escaped() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("alice").await;
    let r = submit(
        &app.client,
        "/blog/new",
        "/blog",
        &[
            ("title", "<script>alert(1)</script>"),
            ("description", "kept summary"),
            ("body", ""),
            ("tags", "a, b"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(
        r.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("<script>"));
    assert!(r.body.contains("kept summary") && r.body.contains("value=\"a, b\""));
    assert!(r.body.contains("Write the article"));
    assert!(r.body.contains("aria-invalid=\"true\""));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM articles").await, 0);

    let too_many: String = (0..11).map(|i| format!("t{i},")).collect();
    let r = submit(
        &app.client,
        "/blog/new",
        "/blog",
        &[
            ("title", "T"),
            ("description", "D"),
            ("body", "B"),
            ("tags", &too_many),
        ],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Use at most 10 tags."), "{}", r.body);

    // An edit with errors leaves the stored article as it was.
    let url = write(&app.client, "Stable", "Text", "").await;
    let r = submit(
        &app.client,
        &format!("{url}/edit"),
        &format!("{url}/edit"),
        &[("title", ""), ("description", "D"), ("body", "typed text")],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Give the article a title") && r.body.contains("typed text"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM articles WHERE title = 'Stable' AND body = 'Text'"
        )
        .await,
        1
    );
}

#[rocket::async_test]
async fn markdown_is_rendered_and_script_is_not() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("alice").await;
    let url = write(
        &app.client,
        "Markdown",
        "# Heading\n\n**bold** <script>alert(1)</script> [x](javascript:alert(1)) \
         <img src=x onerror=alert(1)>",
        "",
    )
    .await;
    let page = app.get(&url).await;
    assert!(page.body.contains("<strong>bold</strong>"));
    assert!(page.body.contains("<h1>Heading</h1>"));
    assert!(!common::html::without_site_script(&page.body).contains("<script"));
    assert!(!page.body.contains("javascript:"));
    assert!(!page.body.contains("<img"));
}

#[rocket::async_test]
async fn another_member_can_neither_edit_nor_delete_an_article() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("alice").await;
    let url = write(&app.client, "Mine", "Original", "").await;
    let bob = app.member("bob").await;
    let page = get(&bob, &url).await;
    assert!(!page.body.contains(&format!("{url}/edit")));
    assert!(!page.body.contains(&format!("{url}/delete")));
    assert_eq!(
        get(&bob, &format!("{url}/edit")).await.status,
        Status::Forbidden
    );
    assert_eq!(
        get(&bob, &format!("{url}/delete")).await.status,
        Status::Forbidden
    );
    let r = submit(
        &bob,
        &url,
        &format!("{url}/edit"),
        &[
            ("title", "Hacked"),
            ("description", "D"),
            ("body", "Hacked"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
    let r = press(&bob, &url, &format!("{url}/delete")).await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM articles WHERE title = 'Mine' AND body = 'Original'"
        )
        .await,
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, 0);

    // The author deletes through the confirmation page; nothing is audited.
    let confirm = app.get(&format!("{url}/delete")).await;
    assert!(confirm.body.contains("Delete the article"));
    let r = press(
        &app.client,
        &format!("{url}/delete"),
        &format!("{url}/delete"),
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/blog"));
    assert!(app.get("/blog").await.body.contains("Article deleted."));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM articles").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, 0);
    assert_eq!(app.get(&url).await.status, Status::NotFound);
}

#[rocket::async_test]
async fn an_admin_deletes_another_members_article_and_it_is_audited() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("boss").await;
    app.exec("UPDATE users SET role = 'admin' WHERE username = 'boss'")
        .await;
    let alice = app.member("alice").await;
    let url = write(&alice, "Spam", "Buy now", "ads").await;
    let page = app.get(&url).await;
    assert!(page.body.contains(&format!("{url}/delete")));
    assert!(
        !page.body.contains(&format!("{url}/edit")),
        "admins moderate, not edit"
    );
    assert_eq!(
        app.get(&format!("{url}/edit")).await.status,
        Status::Forbidden
    );
    let confirm = app.get(&format!("{url}/delete")).await;
    assert!(confirm.body.contains("as an admin"));
    let r = press(&app.client, &url, &format!("{url}/delete")).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM articles").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM article_tags").await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'article.delete' \
             AND actor_name = 'boss' AND target_name = 'alice' AND ip <> ''"
        )
        .await,
        1
    );
}

#[rocket::async_test]
async fn member_pages_send_visitors_to_sign_in() {
    let app = TestApp::spawn_for_members().await;
    for page in ["/blog/feed", "/blog/new"] {
        let r = app.get(page).await;
        assert_eq!(r.status, Status::SeeOther, "{page}");
        assert!(r.location().unwrap().starts_with("/login?next="), "{page}");
    }
}

#[rocket::async_test]
async fn forms_without_a_csrf_token_are_refused_and_store_nothing() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("alice").await;
    let url = write(&app.client, "Target", "Text", "").await;
    let _bob = app.member("bob").await;
    let fields = [("title", "T"), ("description", "D"), ("body", "B")];
    for (action, fields) in [
        ("/blog".to_string(), &fields[..]),
        (format!("{url}/edit"), &fields[..]),
        (format!("{url}/comments"), &[("body", "hi")][..]),
        (format!("{url}/favorite"), &[][..]),
        ("/blog/author/bob/follow".to_string(), &[][..]),
        (format!("{url}/delete"), &[][..]),
    ] {
        let r = app.post_raw(&action, fields).await;
        assert_eq!(r.status, Status::Forbidden, "{action}");
        let r = app
            .post_raw(&action, &[&[("csrf_token", "forged")], fields].concat())
            .await;
        assert_eq!(r.status, Status::Forbidden, "{action}");
    }
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM articles WHERE title = 'Target' AND body = 'Text'"
        )
        .await,
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM articles").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM favorites").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM follows").await, 0);
}

#[rocket::async_test]
async fn unknown_articles_and_authors_are_404() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("alice").await;
    for page in [
        "/blog/no-such-article",
        "/blog/no-such-article/edit",
        "/blog/no-such-article/delete",
        "/blog/author/nobody",
        "/blog/author/nobody/favorites",
    ] {
        assert_eq!(app.get(page).await.status, Status::NotFound, "{page}");
    }
    let visitor = app.another_browser().await;
    assert_eq!(get(&visitor, "/blog/nope").await.status, Status::NotFound);
    for action in [
        "/blog/no-such-article/comments",
        "/blog/no-such-article/favorite",
        "/blog/no-such-article/delete",
    ] {
        let r = submit(&app.client, "/blog", action, &[("body", "hi")]).await;
        assert_eq!(r.status, Status::NotFound, "{action}");
    }
}

#[rocket::async_test]
async fn lists_page_by_twenty_newest_first_with_popular_tags() {
    let app = TestApp::spawn_for_members().await;
    app.signed_in_user("alice").await;
    let user = app.scalar("SELECT id FROM users").await;
    for i in 0..25 {
        let id = app
            .scalar(&format!(
                "INSERT INTO articles (author_id, slug, title, description, body, created_at, updated_at) \
                 VALUES ({user}, 'post-{i:02}', 'Post {i:02}', 'd', 'b', {t}, {t}) RETURNING id",
                t = 1_700_000_000 + i
            ))
            .await;
        let tag = if i % 5 == 0 { "rare" } else { "common" };
        app.exec(&format!(
            "INSERT INTO article_tags (article_id, tag) VALUES ({id}, '{tag}')"
        ))
        .await;
    }
    let first = app.get("/blog").await;
    assert!(first.body.contains("25 articles.") && first.body.contains("Page 1 of 2"));
    let newest = first.body.find("Post 24").expect("newest shown");
    assert!(newest < first.body.find("Post 23").expect("next shown"));
    assert!(!first.body.contains("Post 04"));
    assert!(first.body.contains("href=\"/blog?page=2\""));
    let popular = &first.body[first.body.find("Popular tags").unwrap()..];
    assert!(popular.find("#common").unwrap() < popular.find("#rare").unwrap());

    let second = app.get("/blog?page=2").await;
    assert!(second.body.contains("Post 00") && second.body.contains("Page 2 of 2"));
    assert!(!second.body.contains("Post 05"));
    let tag = app.get("/blog/tag/rare").await;
    assert!(tag.body.contains("5 articles.") && !tag.body.contains("Post 01"));
    let author = app.get("/blog/author/alice?page=2").await;
    assert!(author.body.contains("Post 00") && author.body.contains("Page 2 of 2"));
}

#[rocket::async_test]
async fn a_member_posting_too_fast_is_slowed_down_and_keeps_what_they_typed() {
    let app = TestApp::spawn_with(|f| f.merge(("blog_posts_per_hour", 2))).await;
    let alice = app.member("alice").await;
    let url = write(&alice, "First", "One.", "").await;
    let r = submit(
        &alice,
        &url,
        &format!("{url}/comments"),
        &[("body", "A comment")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    // The third post of the hour: refused, the typed text shown again.
    let r = submit(
        &alice,
        &url,
        &format!("{url}/comments"),
        &[("body", "Too soon")],
    )
    .await;
    assert_eq!(r.status, Status::TooManyRequests);
    assert!(
        r.body.contains("Too soon") && r.body.contains("Too many attempts"),
        "{}",
        r.body
    );
    let r = submit(
        &alice,
        "/blog/new",
        "/blog",
        &[
            ("title", "Second"),
            ("description", "d"),
            ("body", "My long text"),
            ("tags", ""),
        ],
    )
    .await;
    assert_eq!(r.status, Status::TooManyRequests);
    assert!(
        r.body.contains("My long text") && r.body.contains("value=\"Second\""),
        "{}",
        r.body
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM articles").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, 1);
    // Another member is not slowed down by alice.
    let bob = app.member("bob").await;
    let r = submit(&bob, &url, &format!("{url}/comments"), &[("body", "Hi")]).await;
    assert_eq!(r.status, Status::SeeOther);
}
