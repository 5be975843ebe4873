//! The rest of the pages kept per process (#14): a note, its edit form,
//! every search and tag of the notes list (per member); an article with
//! its comments and every list of the blog (per reader). As in
//! `page_caches.rs`, each test first proves a page is served from the
//! cache (a row changed without telling anyone is not seen), then that
//! every change the page shows is there on the very next view, in this
//! process and in another one on the same database.

use crate::common;
use crate::page_caches::{jobs_settled, on_other, page, prompt_app};
use common::accounts::*;
use common::blog::{count, press, write};
use common::mail::send_contact;
use common::notes::create_note;
use common::*;
use rocket::http::Status;

#[rocket::async_test]
async fn a_note_its_form_its_searches_and_tags_show_every_change_at_once() {
    let app = TestApp::spawn_for_members().await;
    let browser = app.member("nia").await;
    let id = create_note(
        &browser,
        &[
            ("title", "Seed note"),
            ("body", "apple pie"),
            ("tags", "fruit"),
        ],
    )
    .await;
    let note = format!("/notes/{id}");
    let edit = format!("/notes/{id}/edit");
    let pages = [
        note.as_str(),
        edit.as_str(),
        "/notes?q=apple",
        "/notes?tag=fruit",
    ];
    for uri in pages {
        assert!(page(&browser, uri).await.contains("Seed note"), "{uri}");
    }
    app.exec_unannounced(&format!(
        "UPDATE notes SET title = 'Changed behind its back' WHERE id = {id}"
    ))
    .await;
    for uri in pages {
        let shown = page(&browser, uri).await;
        assert!(
            shown.contains("Seed note") && !shown.contains("Changed behind its back"),
            "{uri} was not served from the cache"
        );
    }

    // An edit through the form: every page shows it, a new tag lists it.
    let version = extract_value(&page(&browser, &edit).await, "version").expect("version");
    let r = submit(
        &browser,
        &edit,
        &edit,
        &[
            ("title", "Renamed note"),
            ("body", "apple **crumble**"),
            ("tags", "fruit, baked"),
            ("version", &version),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    for uri in pages.into_iter().chain(["/notes?tag=baked"]) {
        let shown = page(&browser, uri).await;
        assert!(shown.contains("Renamed note"), "{uri}: {shown}");
    }
    assert!(page(&browser, &note)
        .await
        .contains("apple <strong>crumble</strong>"));

    // A new note joins the search and the tag.
    create_note(
        &browser,
        &[
            ("title", "Apple tart"),
            ("body", "apple"),
            ("tags", "fruit"),
        ],
    )
    .await;
    for uri in ["/notes?q=apple", "/notes?tag=fruit"] {
        assert!(page(&browser, uri).await.contains("Apple tart"), "{uri}");
    }

    // A delete: the note is gone from its page and every list.
    let r = press(
        &browser,
        &format!("{note}/delete"),
        &format!("{note}/delete"),
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(get(&browser, &note).await.status, Status::NotFound);
    assert_eq!(get(&browser, &edit).await.status, Status::NotFound);
    for uri in ["/notes?q=apple", "/notes?tag=fruit", "/notes?tag=baked"] {
        assert!(!page(&browser, uri).await.contains("Renamed note"), "{uri}");
    }

    // Another member's note is 404 to them, and stays so.
    let other = app.member("omar").await;
    let tart = app
        .scalar("SELECT id FROM notes WHERE title = 'Apple tart'")
        .await;
    for _ in 0..2 {
        let r = get(&other, &format!("/notes/{tart}")).await;
        assert_eq!(r.status, Status::NotFound);
        assert!(!page(&other, "/notes?q=apple").await.contains("Apple tart"));
    }
}

#[rocket::async_test]
async fn a_note_edited_through_another_process_shows_at_once() {
    let app = TestApp::spawn_for_members().await;
    let browser = app.member("nils").await;
    let id = create_note(&browser, &[("title", "Before"), ("body", "x")]).await;
    let b = app.another_browser().await;
    app_listening(&b).await;
    let note = format!("/notes/{id}");
    for uri in [note.as_str(), "/notes?q=x"] {
        assert!(on_other(&b, &browser, uri).await.contains("Before"));
    }
    let edit = format!("/notes/{id}/edit");
    let version = extract_value(&page(&browser, &edit).await, "version").expect("version");
    let r = submit(
        &browser,
        &edit,
        &edit,
        &[("title", "After"), ("body", "x"), ("version", &version)],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    for uri in [note.as_str(), "/notes?q=x"] {
        assert!(
            on_other(&b, &browser, uri).await.contains("After"),
            "{uri} on B is stale"
        );
    }
}

#[rocket::async_test]
async fn an_article_its_comments_and_every_blog_list_show_every_change_at_once() {
    let app = TestApp::spawn_for_members().await;
    let author = app.member("ada").await;
    let reader = app.member("rex").await;
    let url = write(&author, "Seed article", "Hello @nina", "garden").await;
    let slug = url.trim_start_matches("/blog/").to_string();
    let pages = [url.as_str(), "/blog/tag/garden", "/blog/author/ada"];
    for uri in pages {
        assert!(page(&reader, uri).await.contains("Seed article"));
        assert!(app.get(uri).await.body.contains("Seed article"));
    }
    app.exec_unannounced(&format!(
        "UPDATE articles SET title = 'Changed behind its back' WHERE slug = '{slug}'"
    ))
    .await;
    for uri in pages {
        for shown in [page(&reader, uri).await, app.get(uri).await.body] {
            assert!(
                shown.contains("Seed article") && !shown.contains("Changed behind its back"),
                "{uri} was not served from the cache"
            );
        }
    }

    // A new member named in the article: the mention becomes a link.
    let link = "<a href=\"/blog/author/nina\" class=\"mention\">@nina</a>";
    assert!(!page(&reader, &url).await.contains(link));
    app.member("nina").await;
    assert!(page(&reader, &url).await.contains(link));

    // A comment, seen at once by the reader and a visitor.
    let r = submit(
        &reader,
        &url,
        &format!("{url}/comments"),
        &[("body", "First comment")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(page(&reader, &url).await.contains("First comment"));
    assert!(app.get(&url).await.body.contains("First comment"));

    // A moderator hides it: gone for the visitor.
    let comment = count(&app, "SELECT MAX(id) FROM comments").await;
    let report = format!("/report?kind=comment&id={comment}");
    let id = comment.to_string();
    let fields = [("kind", "comment"), ("id", id.as_str()), ("reason", "rude")];
    let r = submit(&author, &report, "/report", &fields).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let admin = app.admin_browser("boss").await;
    let report_id = count(&app, "SELECT MAX(id) FROM reports").await;
    assert!(page(&admin, &url).await.contains("First comment"));
    let r = submit(
        &admin,
        "/admin/reports",
        &format!("/admin/reports/{report_id}/hide"),
        &[("reason", "Be kind")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(!app.get(&url).await.body.contains("First comment"));
    assert!(!page(&admin, "/blog/tag/garden").await.is_empty());

    // A second comment, deleted by its writer.
    let r = submit(
        &reader,
        &url,
        &format!("{url}/comments"),
        &[("body", "Second comment")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(app.get(&url).await.body.contains("Second comment"));
    let second = count(&app, "SELECT MAX(id) FROM comments").await;
    let r = press(&reader, &url, &format!("{url}/comments/{second}/delete")).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(!app.get(&url).await.body.contains("Second comment"));
    assert!(!page(&reader, &url).await.contains("Second comment"));

    // A new article with the tag joins the tag's page and its author's.
    write(&author, "Second article", "Body", "garden").await;
    for uri in ["/blog/tag/garden", "/blog/author/ada"] {
        for shown in [page(&reader, uri).await, app.get(uri).await.body] {
            assert!(shown.contains("Second article"), "{uri}: {shown}");
            assert!(shown.contains("Changed behind its back"), "{uri}: {shown}");
        }
    }

    // Following and muting the author show on their page.
    let profile = "/blog/author/ada";
    assert!(page(&reader, profile).await.contains("Follow ada"));
    let r = press(&reader, profile, &format!("{profile}/follow")).await;
    assert!(r.status.code < 400, "{}", r.body);
    assert!(page(&reader, profile).await.contains("Unfollow ada"));
    let r = press(&reader, profile, "/members/ada/mute").await;
    assert!(r.status.code < 400, "{}", r.body);
    assert!(page(&reader, profile).await.contains("Unmute ada"));
}

#[rocket::async_test]
async fn a_comment_through_another_process_shows_at_once() {
    let app = TestApp::spawn_for_members().await;
    let author = app.member("ava").await;
    let url = write(&author, "Discussed", "Body", "talk").await;
    let b = app.another_browser().await;
    app_listening(&b).await;
    for uri in [url.as_str(), "/blog/tag/talk"] {
        assert!(page(&b, uri).await.contains("Discussed"));
    }
    let r = submit(
        &author,
        &url,
        &format!("{url}/comments"),
        &[("body", "Written on A")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(page(&b, &url).await.contains("Written on A"), "B is stale");
    write(&author, "Also about talk", "Body", "talk").await;
    assert!(
        page(&b, "/blog/tag/talk").await.contains("Also about talk"),
        "B's tag page is stale"
    );
}

#[rocket::async_test]
async fn an_admin_sees_a_change_to_a_members_account_at_once() {
    let app = TestApp::spawn_for_members().await;
    let admin = app.admin_browser("boss").await;
    let member = app.member("mia").await;
    let id = app
        .scalar("SELECT id FROM users WHERE username = 'mia'")
        .await;
    let uri = format!("/admin/users/{id}");
    assert!(page(&admin, &uri).await.contains("<h1>mia</h1>"));
    app.exec_unannounced(&format!(
        "UPDATE users SET display_name = 'Behind its back' WHERE id = {id}"
    ))
    .await;
    assert!(
        !page(&admin, &uri).await.contains("Behind its back"),
        "the second view was not served from the cache"
    );

    // The member renames themself, through their own process.
    let token = get(&member, "/profile").await.csrf();
    let r = post_raw(
        &member,
        "/update-profile",
        &[
            ("_method", "put"),
            ("csrf_token", &token),
            ("display_name", "Mia M."),
        ],
        &[],
    )
    .await;
    assert!(r.status.code < 400, "{}", r.body);
    assert!(page(&admin, &uri).await.contains("<dd>Mia M.</dd>"));

    // A second sign-in is listed, and the admin's disabling shows.
    let before = page(&admin, &uri).await.matches("<tr").count();
    let (_, r) = login_elsewhere(&app, "mia@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let after = page(&admin, &uri).await.matches("<tr").count();
    assert_eq!(after, before + 1, "the new session is not listed");
    let r = press(&admin, &uri, &format!("{uri}/disable")).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(page(&admin, &uri).await.contains("<dd>disabled</dd>"));
}

#[rocket::async_test]
async fn the_member_list_shows_every_change_to_an_account_at_once() {
    let app = prompt_app().await;
    let admin = app.admin_browser("root").await;
    // A sign-up anywhere in this test process empties the list (as the
    // dashboard's test explains), so the proof is tried until one pair of
    // views falls between two of theirs.
    let mut proved = false;
    for i in 0..20 {
        jobs_settled(&app).await;
        assert!(page(&admin, "/users").await.contains("root"));
        app.exec_unannounced(&format!(
            "UPDATE users SET display_name = 'Behind {i}' WHERE username = 'root'"
        ))
        .await;
        if !page(&admin, "/users")
            .await
            .contains(&format!("Behind {i}"))
        {
            proved = true;
            break;
        }
    }
    assert!(proved, "the second view was never served from the cache");

    let member = app.member("newcomer").await;
    assert!(page(&admin, "/users").await.contains(">newcomer</a>"));
    let token = get(&member, "/profile").await.csrf();
    let fields = [
        ("_method", "put"),
        ("csrf_token", token.as_str()),
        ("display_name", "New Comer"),
    ];
    let r = post_raw(&member, "/update-profile", &fields, &[]).await;
    assert!(r.status.code < 400, "{}", r.body);
    assert!(page(&admin, "/users").await.contains("New Comer"));
    let id = app
        .scalar("SELECT id FROM users WHERE username = 'newcomer'")
        .await;
    let user = format!("/admin/users/{id}");
    let r = press(&admin, &user, &format!("{user}/disable")).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(page(&admin, "/users")
        .await
        .contains("badge-muted\">disabled"));
}

#[rocket::async_test]
async fn the_inbox_shows_every_message_its_state_and_its_delivery_at_once() {
    let app = prompt_app().await;
    let admin = app.admin_browser("root").await;
    let visitor = app.another_browser().await;
    let r = send_contact(&visitor, "Vera", "vera@example.org", "First", "A question").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let mut proved = false;
    for i in 0..20 {
        jobs_settled(&app).await;
        let stored = if i == 0 {
            "First".to_string()
        } else {
            format!("Behind {}", i - 1)
        };
        assert!(page(&admin, "/admin/contact").await.contains(&stored));
        app.exec_unannounced(&format!(
            "UPDATE contact_messages SET subject = 'Behind {i}' WHERE subject = '{stored}'"
        ))
        .await;
        if !page(&admin, "/admin/contact")
            .await
            .contains(&format!("Behind {i}"))
        {
            proved = true;
            break;
        }
    }
    assert!(proved, "the second view was never served from the cache");

    // A new message, and then its mail to the admin going out.
    let r = send_contact(&visitor, "Vic", "vic@example.org", "Second", "Hello").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let inbox = page(&admin, "/admin/contact").await;
    assert!(inbox.contains(">Second</a>"), "{inbox}");
    jobs_settled(&app).await;
    let inbox = page(&admin, "/admin/contact").await;
    assert_eq!(
        inbox.matches("delivery-sent").count(),
        2,
        "both messages' mail shows as sent: {inbox}"
    );

    // Marked handled: it leaves the unhandled list, and its page (viewed
    // before, so kept) shows it handled.
    let id = app
        .scalar("SELECT id FROM contact_messages WHERE subject = 'Second'")
        .await;
    let message = format!("/admin/contact/{id}");
    assert!(page(&admin, &message)
        .await
        .contains("<dd>not handled</dd>"));
    let r = submit(
        &admin,
        &format!("/admin/contact/{id}"),
        &format!("/admin/contact/{id}/handled"),
        &[("handled", "true")],
    )
    .await;
    assert!(r.status.code < 400, "{}", r.body);
    assert!(!page(&admin, "/admin/contact").await.contains(">Second</a>"));
    assert!(page(&admin, "/admin/contact?show=handled")
        .await
        .contains(">Second</a>"));
    assert!(page(&admin, &message).await.contains("<dd>handled</dd>"));
    assert_eq!(
        get(&admin, "/admin/contact/999999").await.status,
        Status::NotFound
    );
}

#[rocket::async_test]
async fn an_article_with_a_long_thread_is_read_each_time_not_kept() {
    // Each reader keeps their own copy of an article with its comments;
    // past 128 KiB of text it is not kept, so memory stays bounded.
    let app = TestApp::spawn_for_members().await;
    let author = app.member("ada").await;
    let url = write(&author, "Long thread", "Short for now", "").await;
    let slug = url.trim_start_matches("/blog/").to_string();
    let id = app
        .scalar(&format!("SELECT id FROM articles WHERE slug = '{slug}'"))
        .await;
    let author_id = app
        .scalar("SELECT id FROM users WHERE username = 'ada'")
        .await;
    // (Longer than a form takes; nobody has viewed it yet.)
    app.exec_unannounced(&format!(
        "UPDATE articles SET body = '{}' WHERE id = {id}",
        "x".repeat(40_000)
    ))
    .await;
    for i in 0..20 {
        app.exec_unannounced(&format!(
            "INSERT INTO comments (article_id, author_id, body, created_at, updated_at) \
             VALUES ({id}, {author_id}, '{}', {i}, {i})",
            "y".repeat(5_000)
        ))
        .await;
    }
    assert!(page(&author, &url).await.contains("Long thread"));
    app.exec_unannounced(&format!(
        "UPDATE articles SET title = 'Read again' WHERE id = {id}"
    ))
    .await;
    assert!(page(&author, &url).await.contains("Read again"));
}
