//! The contact form end to end: a real SMTP server on 127.0.0.1
//! (tests/common/smtp.rs) receives what the app sends. The mail system
//! behind it (outbox, retries, workers) is tested in tests/mail.rs.

use crate::common;
use common::mail::*;
use common::smtp::*;
use common::*;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use rocket::http::Status;
use rocket::local::asynchronous::Client;

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
async fn a_nul_character_in_the_message_is_refused_beside_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(|f| mail_to_files(f, dir.path())).await;
    let r = send_contact(&app.client, "Eve", "eve@example.net", "Hi", "a\0b").await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Remove the NUL character."), "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 0);
}
