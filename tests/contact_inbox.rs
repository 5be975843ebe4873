//! The contact inbox: admins only, paging, search and filters, marking
//! messages handled, and what a message's markup looks like there.
use crate::common;
use common::html::*;
use common::mail::*;
use common::smtp::*;
use common::*;

use rocket::http::Status;

// ---------------------------------------------------------- admin inbox

#[rocket::async_test]
async fn the_admin_inbox_is_for_admins_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(|f| {
        mail_to_files(f, dir.path()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;
    assert_thanked(
        &send_contact(
            &app.client,
            "Vera",
            "vera@example.net",
            "Private matter",
            "Secret",
        )
        .await,
    );
    let id = contact_id(&app, "Private matter").await;

    for uri in ["/admin/contact".to_string(), format!("/admin/contact/{id}")] {
        let r = app.get(&uri).await;
        assert_eq!(r.status, Status::SeeOther, "{uri}");
        let location = r.location().unwrap();
        let encoded = rocket::http::RawStr::new(&uri).percent_encode().to_string();
        assert_eq!(location, format!("/login?next={encoded}"), "{uri}");
        assert!(!r.body.contains("Secret"));
    }

    app.signed_in_user("carol").await;
    for uri in ["/admin/contact".to_string(), format!("/admin/contact/{id}")] {
        let r = app.get(&uri).await;
        assert_eq!(r.status, Status::Forbidden, "{uri}");
        assert!(!r.body.contains("Private matter"));
    }
    let token = app.get("/contact").await.csrf();
    let r = post_raw(
        &app.client,
        &format!("/admin/contact/{id}/handled"),
        &[("csrf_token", token.as_str()), ("handled", "true")],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contact_messages WHERE handled = 1")
            .await,
        0
    );

    let admin = app.admin_browser("boss").await;
    let r = get(&admin, "/admin/contact").await;
    assert_eq!(r.status, Status::Ok);
    assert!(
        r.body.contains("Private matter") && r.body.contains("vera@example.net"),
        "{}",
        r.body
    );
    let r = get(&admin, &format!("/admin/contact/{id}")).await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("Secret"));
    assert_eq!(
        get(&admin, "/admin/contact/999999").await.status,
        Status::NotFound
    );
}

/// The number of message rows on an inbox page.
fn rows_on(page: &Resp) -> usize {
    page.body.matches("<td><a href=\"/admin/contact/").count()
}

#[rocket::async_test]
async fn admins_page_search_and_filter_the_inbox_and_mark_messages_handled() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(|f| {
        mail_to_files(f, dir.path())
            .merge(("contact.recipients", vec!["a@example.org"]))
            .merge(("contact.per_address_per_hour", 100))
    })
    .await;
    let admin = app.admin_browser("boss").await;

    for i in 1..=23 {
        let r = send_contact(
            &app.client,
            "Vera",
            "vera@example.net",
            &format!("Message {i:02}"),
            "Ordinary text",
        )
        .await;
        assert_thanked(&r);
    }
    assert_thanked(
        &send_contact(
            &app.client,
            "Vera",
            "vera@example.net",
            "Percent",
            "I am 100% sure",
        )
        .await,
    );
    assert_thanked(
        &send_contact(
            &app.client,
            "Nadia",
            "nadia@example.net",
            "Needle in a haystack",
            "Find me",
        )
        .await,
    );
    let bot = [
        ("name", "Bot"),
        ("email", "bot@example.net"),
        ("subject", "Spam offer"),
        ("message", "Buy now"),
        ("website", "http://spam.example"),
    ];
    assert_thanked(&submit(&app.client, "/contact", "/contact", &bot).await);

    // Paging: 25 messages, 20 to a page, newest first.
    let page1 = get(&admin, "/admin/contact").await;
    assert_eq!(page1.status, Status::Ok);
    assert!(page1.body.contains("25 messages."), "{}", page1.body);
    assert!(page1.body.contains("Page 1 of 2"));
    assert_eq!(rows_on(&page1), 20);
    assert!(page1.body.contains("Needle in a haystack") && !page1.body.contains("Message 01<"));
    assert!(
        !page1.body.contains("Spam offer"),
        "spam is not in the default view"
    );
    let at = page1.body.find("rel=\"next\"").expect("a next link");
    let href_at = page1.body[..at].rfind("href=\"").unwrap() + 6;
    let next = page1.body[href_at..href_at + page1.body[href_at..].find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(next.contains("page=2"), "{next}");
    let page2 = get(&admin, &next).await;
    assert_eq!(page2.status, Status::Ok, "{next}: {}", page2.body);
    assert!(
        page2.body.contains("Page 2 of 2") && page2.body.contains("rel=\"prev\""),
        "{}",
        page2.body
    );
    assert!(!page2.body.contains("rel=\"next\""));
    assert_eq!(rows_on(&page2), 5);
    for i in 1..=5 {
        assert!(
            page2.body.contains(&format!(">Message {i:02}</a>")),
            "Message {i:02} on page 2"
        );
    }
    assert!(!page2.body.contains("Needle in a haystack"));

    // Search, case-insensitive, over name, email, subject and text.
    let r = get(&admin, "/admin/contact?q=NEEDLE").await;
    assert!(
        r.body.contains("1 message.") && r.body.contains("Needle in a haystack"),
        "{}",
        r.body
    );
    assert_eq!(rows_on(&r), 1);
    let r = get(&admin, "/admin/contact?q=find%20me").await;
    assert!(
        r.body.contains("1 message.") && r.body.contains("Needle in a haystack"),
        "{}",
        r.body
    );
    let r = get(&admin, "/admin/contact?q=nadia%40example").await;
    assert_eq!(rows_on(&r), 1);
    // LIKE wildcards are matched literally.
    let r = get(&admin, "/admin/contact?q=%25").await;
    assert!(r.body.contains("1 message."), "{}", r.body);
    assert_eq!(rows_on(&r), 1);
    assert!(r.body.contains(">Percent</a>"));
    assert!(
        r.body.contains("value=\"%\""),
        "the search box keeps the query"
    );
    let r = get(&admin, "/admin/contact?q=_").await;
    assert!(
        r.body.contains("0 messages.") && r.body.contains("No messages here."),
        "{}",
        r.body
    );

    // Filters.
    let r = get(&admin, "/admin/contact?show=spam").await;
    assert!(
        r.body.contains("1 message.") && r.body.contains("Spam offer"),
        "{}",
        r.body
    );
    let r = get(&admin, "/admin/contact?show=handled").await;
    assert!(r.body.contains("0 messages."), "{}", r.body);
    let r = get(&admin, "/admin/contact?show=all").await;
    assert!(r.body.contains("26 messages."), "{}", r.body);

    // Marking handled moves a message from one filter to the other, and back.
    let id = contact_id(&app, "Needle in a haystack").await;
    let page = get(&admin, &format!("/admin/contact/{id}")).await;
    assert!(page.body.contains("Mark as handled"));
    let handled = format!("/admin/contact/{id}/handled");
    let r = post_raw(
        &admin,
        &handled,
        &[("csrf_token", page.csrf().as_str()), ("handled", "true")],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some(format!("/admin/contact/{id}").as_str()));
    let r = get(&admin, "/admin/contact?show=handled").await;
    assert!(
        r.body.contains("1 message.") && r.body.contains("Needle in a haystack"),
        "{}",
        r.body
    );
    let r = get(&admin, "/admin/contact?show=unhandled&q=needle").await;
    assert!(r.body.contains("0 messages."), "{}", r.body);
    assert!(get(&admin, "/admin/contact")
        .await
        .body
        .contains("24 messages."));
    let page = get(&admin, &format!("/admin/contact/{id}")).await;
    assert!(page.body.contains("Mark as not handled"), "{}", page.body);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM contact_messages WHERE id = {id} AND handled_by IS NOT NULL"
        ))
        .await,
        1
    );

    let r = post_raw(
        &admin,
        &handled,
        &[("csrf_token", page.csrf().as_str()), ("handled", "false")],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther);
    assert!(get(&admin, "/admin/contact?show=handled")
        .await
        .body
        .contains("0 messages."));
    assert!(get(&admin, "/admin/contact")
        .await
        .body
        .contains("25 messages."));
    // Without the token nothing changes.
    let r = post_raw(&admin, &handled, &[("handled", "true")], &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    assert!(get(&admin, "/admin/contact?show=handled")
        .await
        .body
        .contains("0 messages."));
}

#[rocket::async_test]
async fn markup_in_a_message_comes_back_escaped_on_admin_pages_and_in_the_mail() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| mail_via(f, &sink.url())).await;
    let admin = app.admin_browser("boss").await;

    let name = "<script>alert('name')</script>";
    let subject = "<script>alert('subject')</script>\"><img src=x onerror=alert(1)>";
    let message = "<script>alert('message')</script>\n<img src=x onerror=alert(2)>";
    assert_thanked(&send_contact(&app.client, name, "eve@example.net", subject, message).await);
    let id = app.scalar("SELECT id FROM contact_messages").await;

    let list = get(&admin, "/admin/contact").await;
    let show = get(&admin, &format!("/admin/contact/{id}")).await;
    let mails = expect_exactly(&app, &sink, 1).await;
    let html = part(&mails[0], "text/html");
    for (what, body, shown) in [
        ("inbox", &list.body, vec![name, subject]),
        ("message page", &show.body, vec![name, subject, message]),
        ("HTML mail", &html, vec![name, subject, message]),
    ] {
        assert!(
            !body.contains("<script>") && !body.contains("<img src=x"),
            "raw markup in the {what}:\n{body}"
        );
        assert!(
            escaped_script(body) >= shown.len(),
            "escaped <script> in the {what}:\n{body}"
        );
        let text = unescape_html(body);
        for payload in shown {
            assert!(
                text.contains(payload),
                "{payload:?} is shown (escaped) in the {what}:\n{body}"
            );
        }
    }
    // The plain-text part is text: it carries the message as written.
    assert!(part(&mails[0], "text/plain").contains(message));
}

#[rocket::async_test]
async fn an_inbox_search_with_a_nul_byte_is_answered_not_a_server_error() {
    let app = TestApp::spawn().await;
    let admin = app.admin_browser("boss").await;
    let r = get(&admin, "/admin/contact?show=all&q=a%00b").await;
    assert_eq!(r.status, Status::BadRequest, "{}", r.body);
    assert!(r.body.contains("NUL character"), "{}", r.body);
}
