//! The contact form end to end: a real SMTP server on 127.0.0.1
//! (tests/common/smtp.rs) receives what the app sends. The mail system
//! behind it (outbox, retries, workers) is tested in tests/mail.rs.

#[macro_use]
mod common;
use common::html::*;
use common::mail::*;
use common::smtp::*;
use common::*;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use rocket::http::Status;
use rocket::local::asynchronous::Client;

async fn contact_id(app: &TestApp, subject: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM contact_messages WHERE subject = '{subject}'"
    ))
    .await
}

// ------------------------------------------------------- the happy path

#[rocket::async_test]
async fn a_message_is_stored_thanked_and_mailed_once_to_each_admin() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| mail_via(f, &sink.url())).await;
    let _boss = app.admin_browser("boss").await;
    let _boss2 = app.admin_browser("boss2").await;
    let carol = app.another_browser().await;
    assert_eq!(
        signup(&carol, "carol", "carol@example.org", PASSWORD)
            .await
            .status,
        Status::SeeOther
    );

    let text = "Hello,\nI would like to join the choir.\nWhen do you rehearse?";
    let r = send_contact(
        &app.client,
        "Vera Visitor",
        "vera@example.net",
        "Joining the choir",
        text,
    )
    .await;
    assert_thanked(&r);
    let thanks = app.get("/contact/thanks").await;
    assert_eq!(thanks.status, Status::Ok);
    assert!(thanks.body.contains("Thank you"), "{}", thanks.body);

    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM contact_messages WHERE name = 'Vera Visitor' AND email = 'vera@example.net' \
             AND subject = 'Joining the choir' AND is_spam = 0 AND handled = 0"
        )
        .await,
        1
    );
    let stored = app
        .text("SELECT message FROM contact_messages")
        .await
        .unwrap();
    assert_eq!(stored, text);
    let id = contact_id(&app, "Joining the choir").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM outbox WHERE related_type = 'contact' AND related_id = {id}"
        ))
        .await,
        2,
        "one outbox row per admin"
    );

    let mails = expect_exactly(&app, &sink, 2).await;
    let to: BTreeSet<String> = mails.iter().flat_map(rcpts).collect();
    assert_eq!(
        to,
        BTreeSet::from([
            "boss2@example.org".to_string(),
            "boss@example.org".to_string()
        ])
    );
    for m in &mails {
        let admin = rcpts(m);
        assert_eq!(admin.len(), 1, "one recipient per mail: {admin:?}");
        let admin = &admin[0];
        assert_eq!(bare(&m.mail_from), FROM_ADDR);
        let from = m.header("From").unwrap();
        assert!(
            from.contains("Groundwork") && from.contains("<noreply@example.org>"),
            "From: {from}"
        );
        assert_eq!(m.header("To").as_deref(), Some(admin.as_str()));
        assert_eq!(m.header("Reply-To").as_deref(), Some("vera@example.net"));
        assert_eq!(
            m.header("Subject").as_deref(),
            Some("[Contact] Joining the choir")
        );
        let stored_id = app.text(&format!("SELECT message_id FROM outbox WHERE related_type = 'contact' AND to_addr = '{admin}'")).await;
        assert_eq!(m.header("Message-ID"), stored_id);
        // The visitor's address is in Reply-To and in no other header.
        let head = split_head(&m.data).0.replace("\r\n ", " ");
        let with_visitor: Vec<&str> = head
            .split("\r\n")
            .filter(|l| l.contains("vera@example.net"))
            .collect();
        assert_eq!(with_visitor, vec!["Reply-To: vera@example.net"]);
        let plain = part(m, "text/plain");
        assert!(plain.contains(text), "text part: {plain}");
        assert!(plain.contains("Vera Visitor"));
        let html = part(m, "text/html");
        assert!(html.contains(text), "html part: {html}");
        assert!(html.contains(&format!("/admin/contact/{id}")));
    }
    assert_unique(&message_ids(&mails));
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM outbox WHERE related_type = 'contact' AND sent_at IS NOT NULL"
        )
        .await,
        2
    );
}

#[rocket::async_test]
async fn configured_recipients_replace_the_admins() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url())
            .merge(("contact.recipients", vec!["a@example.org", "b@example.org"]))
    })
    .await;
    let _boss = app.admin_browser("boss").await;

    assert_thanked(
        &send_contact(
            &app.client,
            "Vera",
            "vera@example.net",
            "Hello",
            "A message",
        )
        .await,
    );
    let mails = expect_exactly(&app, &sink, 2).await;
    let to: BTreeSet<String> = mails.iter().flat_map(rcpts).collect();
    assert_eq!(
        to,
        BTreeSet::from(["a@example.org".to_string(), "b@example.org".to_string()])
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox WHERE related_type = 'contact' AND to_addr = 'boss@example.org'").await, 0);
}

// ------------------------------------------------------ injection, spam

#[rocket::async_test]
async fn line_breaks_in_name_and_subject_never_make_headers_or_recipients() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;

    let attempts = [
        (
            "Eve\r\nBcc: victim@example.org",
            "Hello\r\nBcc: victim@example.org\r\nX-Injected: yes",
        ),
        (
            "Eve\nBcc: victim@example.org",
            "Hi\nBcc: victim@example.org",
        ),
        (
            "Eve\rBcc: victim@example.org",
            "Hey\rBcc: victim@example.org",
        ),
    ];
    for (name, subject) in attempts {
        assert_thanked(&send_contact(&app.client, name, "eve@example.net", subject, "Body").await);
    }
    let mails = expect_exactly(&app, &sink, 3).await;
    for m in &mails {
        let names = header_names(m);
        assert!(
            !names.iter().any(|n| n == "bcc" || n == "x-injected"),
            "injected header in {names:?}:\n{}",
            m.data
        );
        assert_eq!(rcpts(m), vec!["a@example.org"], "extra recipients");
        assert_eq!(m.header("To").as_deref(), Some("a@example.org"));
        assert_eq!(m.header("Reply-To").as_deref(), Some("eve@example.net"));
        let subject = m.header("Subject").unwrap();
        assert!(
            subject.starts_with("[Contact] H") && subject.contains("Bcc: victim@example.org"),
            "{subject}"
        );
    }
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT name, subject FROM contact_messages")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    for (name, subject) in stored {
        assert!(
            !name.contains(['\r', '\n']) && !subject.contains(['\r', '\n']),
            "{name:?} / {subject:?}"
        );
    }
}

#[rocket::async_test]
async fn an_email_address_with_a_line_break_is_refused_beside_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(|f| mail_to_files(f, dir.path())).await;
    let _boss = app.admin_browser("boss").await;

    for email in [
        "eve@example.net\r\nBcc: victim@example.org",
        "eve@example.net\nBcc: victim@example.org",
    ] {
        let r = send_contact(&app.client, "Eve", email, "Hello", "Body").await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{email:?}");
        assert!(
            r.body
                .contains("id=\"email-error\">Enter a valid email address"),
            "{}",
            r.body
        );
        assert!(r.body.contains("aria-invalid=\"true\""));
        assert!(
            r.body.contains("value=\"Eve\"") && r.body.contains("value=\"Hello\""),
            "input kept"
        );
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE related_type = 'contact'")
            .await,
        0
    );
}

#[rocket::async_test]
async fn the_honeypot_gets_the_same_thanks_but_is_stored_as_spam_and_mailed_to_nobody() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;

    let fields = [
        ("name", "Bot"),
        ("email", "bot@example.net"),
        ("subject", "Cheap pills"),
        ("message", "Buy now"),
        ("website", "http://spam.example"),
    ];
    let spam = submit(&app.client, "/contact", "/contact", &fields).await;
    assert_thanked(&spam);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM contact_messages WHERE subject = 'Cheap pills' AND is_spam = 1"
        )
        .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox").await, 0);

    // A real message after it is the only mail that ever arrives.
    let real = send_contact(
        &app.client,
        "Vera",
        "vera@example.net",
        "A real question",
        "Hello",
    )
    .await;
    assert_thanked(&real);
    assert_eq!(spam.body, real.body, "a bot can tell it was caught");
    let mails = expect_exactly(&app, &sink, 1).await;
    assert_eq!(
        mails[0].header("Subject").as_deref(),
        Some("[Contact] A real question")
    );
}

#[rocket::async_test]
async fn the_per_address_limit_answers_429_with_retry_after_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(|f| {
        mail_to_files(f, dir.path()).merge(("contact.per_address_per_hour", 2))
    })
    .await;
    let token = app.get("/contact").await.csrf();
    let post = |ip: &'static str, subject: &'static str| {
        post_from_address(&app.client, token.clone(), ip, subject)
    };

    // A form sent back for correction does not count.
    for _ in 0..3 {
        assert_eq!(
            post("203.0.113.7", "").await.status,
            Status::UnprocessableEntity
        );
    }
    assert_thanked(&post("203.0.113.7", "First").await);
    assert_thanked(&post("203.0.113.7", "Second").await);
    let r = post("203.0.113.7", "Third").await;
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
    let retry_after: i64 = r
        .header("Retry-After")
        .expect("a Retry-After header")
        .parse()
        .expect("seconds");
    assert!(
        (1..=3600).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    assert!(r.body.contains("Too many"), "{}", r.body);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contact_messages WHERE subject = 'Third'")
            .await,
        0
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 2);

    // The limit is per address: another visitor is not affected.
    assert_thanked(&post("203.0.113.8", "From elsewhere").await);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 3);
}

#[rocket::async_test]
async fn a_burst_of_parallel_messages_from_one_address_still_stops_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(|f| {
        mail_to_files(f, dir.path()).merge(("contact.per_address_per_hour", 2))
    })
    .await;
    let token = app.get("/contact").await.csrf();
    let subjects: Vec<String> = (0..8).map(|i| format!("Burst {i}")).collect();
    let answers = rocket::futures::future::join_all(
        subjects
            .iter()
            .map(|s| post_from_address(&app.client, token.clone(), "203.0.113.9", s)),
    )
    .await;
    let thanked = answers
        .iter()
        .filter(|r| r.status == Status::SeeOther)
        .count();
    let limited = answers
        .iter()
        .filter(|r| r.status == Status::TooManyRequests)
        .count();
    assert_eq!(
        (thanked, limited),
        (2, 6),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 2);
}

async fn post_from_address(client: &Client, token: String, ip: &str, subject: &str) -> Resp {
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    let fields = [
        ("csrf_token", token.as_str()),
        ("name", "Vera"),
        ("email", "vera@example.net"),
        ("subject", subject),
        ("message", "Hello"),
    ];
    post_from(client, addr, "/contact", &fields, &[]).await
}

// ----------------------------------------------------------- validation

#[rocket::async_test]
async fn empty_fields_are_refused_with_a_message_beside_each() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(|f| mail_to_files(f, dir.path())).await;
    let r = send_contact(&app.client, "", "", "  ", "\r\n").await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    for (field, message) in [
        ("name", "Tell us your name."),
        ("email", "Enter your email address."),
        ("subject", "Add a subject."),
        ("message", "Write your message."),
    ] {
        assert!(
            r.body
                .contains(&format!("id=\"{field}-error\">{message}</p>")),
            "{field}: {}",
            r.body
        );
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox").await, 0);
}

#[rocket::async_test]
async fn too_long_fields_are_refused_with_their_limits_and_the_input_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(|f| {
        mail_to_files(f, dir.path()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;

    let long_name = "n".repeat(101);
    let r = send_contact(
        &app.client,
        &long_name,
        "kept@example.net",
        "Kept subject",
        "Kept message",
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(
        r.body
            .contains("id=\"name-error\">Use at most 100 characters (you have 101).</p>"),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!("value=\"{long_name}\"")));
    assert!(r.body.contains("value=\"kept@example.net\""));
    assert!(r.body.contains("value=\"Kept subject\""));
    assert!(r.body.contains(">Kept message</textarea>"));
    assert!(!r.body.contains("id=\"subject-error\"") && !r.body.contains("id=\"message-error\""));

    let r = send_contact(
        &app.client,
        "Vera",
        "vera@example.net",
        &"s".repeat(151),
        &"m".repeat(5001),
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(
        r.body
            .contains("id=\"subject-error\">Use at most 150 characters (you have 151).</p>"),
        "{}",
        r.body
    );
    assert!(r
        .body
        .contains("id=\"message-error\">Use at most 5000 characters (you have 5001).</p>"));
    assert!(r
        .body
        .contains(&format!(">{}</textarea>", "m".repeat(5001))));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 0);

    // Exactly at the limits is fine.
    let r = send_contact(
        &app.client,
        &"n".repeat(100),
        "vera@example.net",
        &"s".repeat(150),
        &"m".repeat(5000),
    )
    .await;
    assert_thanked(&r);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 1);
}

#[rocket::async_test]
async fn a_post_without_a_valid_csrf_token_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(|f| {
        mail_to_files(f, dir.path()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;
    let fields = [
        ("name", "Vera"),
        ("email", "vera@example.net"),
        ("subject", "Hello"),
        ("message", "Body"),
    ];

    let r = app.post_raw("/contact", &fields).await;
    assert_eq!(r.status, Status::Forbidden, "{}", r.body);
    app.get("/contact").await;
    let mut forged = vec![("csrf_token", "not-the-token")];
    forged.extend_from_slice(&fields);
    assert_eq!(
        app.post_raw("/contact", &forged).await.status,
        Status::Forbidden
    );
    // A token from another browser is no good either.
    let other = app.another_browser().await;
    let theirs = get(&other, "/contact").await.csrf();
    let mut stolen = vec![("csrf_token", theirs.as_str())];
    stolen.extend_from_slice(&fields);
    assert_eq!(
        app.post_raw("/contact", &stolen).await.status,
        Status::Forbidden
    );

    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox").await, 0);
    // The same browser with its real token gets through.
    assert_thanked(&send_contact(&app.client, "Vera", "vera@example.net", "Hello", "Body").await);
}

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

// ------------------------------------------------------ acknowledgement

#[rocket::async_test]
async fn no_acknowledgement_goes_to_the_visitor_by_default() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;
    assert_thanked(
        &send_contact(
            &app.client,
            "Vera",
            "vera@example.net",
            "No receipt",
            "Hello",
        )
        .await,
    );
    let mails = expect_exactly(&app, &sink, 1).await;
    assert_eq!(rcpts(&mails[0]), vec!["a@example.org"]);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = 'vera@example.net'")
            .await,
        0
    );
}

#[rocket::async_test]
async fn with_acknowledge_on_the_visitor_gets_an_acknowledgement_too() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url())
            .merge(("contact.recipients", vec!["a@example.org"]))
            .merge(("contact.acknowledge", true))
    })
    .await;
    assert_thanked(
        &send_contact(
            &app.client,
            "Vera",
            "vera@example.net",
            "Please confirm",
            "Hello",
        )
        .await,
    );
    let mails = expect_exactly(&app, &sink, 2).await;
    let to: BTreeSet<String> = mails.iter().flat_map(rcpts).collect();
    assert_eq!(
        to,
        BTreeSet::from(["a@example.org".to_string(), "vera@example.net".to_string()])
    );
    let ack = mails
        .iter()
        .find(|m| rcpts(m) == vec!["vera@example.net"])
        .unwrap();
    assert_eq!(
        ack.header("Subject").as_deref(),
        Some("We received your message")
    );
    assert_eq!(ack.header("To").as_deref(), Some("vera@example.net"));
    assert!(ack
        .header("From")
        .unwrap()
        .contains("<noreply@example.org>"));
    assert_eq!(ack.header("Reply-To"), None);
    assert!(part(ack, "text/plain").contains("Please confirm"));
    assert!(part(ack, "text/html").contains("Please confirm"));
    assert_unique(&message_ids(&mails));
}

#[rocket::async_test]
async fn an_inbox_search_with_a_nul_byte_is_answered_not_a_server_error() {
    let app = TestApp::spawn().await;
    let admin = app.admin_browser("boss").await;
    let r = get(&admin, "/admin/contact?show=all&q=a%00b").await;
    assert_eq!(r.status, Status::BadRequest, "{}", r.body);
    assert!(r.body.contains("NUL character"), "{}", r.body);
}

#[rocket::async_test]
async fn a_nul_character_in_the_message_is_refused_beside_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(|f| mail_to_files(f, dir.path())).await;
    let r = send_contact(&app.client, "Eve", "eve@example.net", "Hi", "a\0b").await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Remove the NUL character."), "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 0);
}
