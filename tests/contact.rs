//! The contact form and the mail system behind it, end to end: a real SMTP
//! server on 127.0.0.1 (tests/common/smtp.rs) receives what the app sends.

mod common;
use common::smtp::*;
use common::*;

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use groundwork::db::Backend;
use rocket::figment::Figment;
use rocket::http::Status;
use rocket::local::asynchronous::Client;

const FROM: &str = "Groundwork <noreply@example.org>";
const FROM_ADDR: &str = "noreply@example.org";
/// How long any wait for mail or a queue state may take.
const DEADLINE: Duration = Duration::from_secs(10);

/// Poll `$cond` (which may `.await`) until it holds, or fail after `$timeout`.
macro_rules! eventually {
    ($timeout:expr, $what:expr, $cond:expr) => {{
        let deadline = Instant::now() + $timeout;
        loop {
            if $cond {
                break;
            }
            if Instant::now() >= deadline {
                panic!("timed out after {:?} waiting for {}", $timeout, $what);
            }
            rocket::tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }};
}

// ---------------------------------------------------------------- set-up

/// Mail settings for quick tests: deliveries through `smtp_url`, a short
/// poll interval and retries within a couple of seconds.
fn mail_via(f: Figment, smtp_url: &str) -> Figment {
    f.merge(("mail.smtp_url", smtp_url))
        .merge(("mail.from", FROM))
        .merge(("mail.poll_interval", 0.1))
        .merge(("mail.retry_base", 1.0))
        .merge(("mail.retry_max", 2.0))
}

/// Mail settings with no SMTP server: `.eml` files in `dir`.
fn mail_to_files(f: Figment, dir: &std::path::Path) -> Figment {
    f.merge(("mail.outbox_dir", dir.display().to_string()))
        .merge(("mail.from", FROM))
        .merge(("mail.poll_interval", 0.1))
}

/// Another browser on its own app process, signed up as `username` and
/// made an admin.
async fn admin_browser(app: &TestApp, username: &str) -> Client {
    let client = app.another_browser().await;
    let r = signup(
        &client,
        username,
        &format!("{username}@example.org"),
        PASSWORD,
    )
    .await;
    assert_eq!(
        r.status,
        Status::SeeOther,
        "sign-up of {username} failed: {}",
        r.body
    );
    app.exec(&format!(
        "UPDATE users SET role = 'admin' WHERE username = '{username}'"
    ))
    .await;
    client
}

/// Send the contact form the way a browser does (token from the page,
/// empty honeypot).
async fn send_contact(
    client: &Client,
    name: &str,
    email: &str,
    subject: &str,
    message: &str,
) -> Resp {
    submit(
        client,
        "/contact",
        "/contact",
        &[
            ("name", name),
            ("email", email),
            ("subject", subject),
            ("message", message),
            ("website", ""),
        ],
    )
    .await
}

/// Assert a successful submission: 303 to the thank-you page.
fn assert_thanked(r: &Resp) {
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/contact/thanks"));
}

async fn contact_id(app: &TestApp, subject: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM contact_messages WHERE subject = '{subject}'"
    ))
    .await
}

/// The mails at the sink, less account mail (the sign-up confirmation each
/// admin gets when the tests create them).
async fn non_account_mail(app: &TestApp, sink: &SmtpSink) -> Vec<Received> {
    let account: HashSet<String> =
        sqlx::query_scalar("SELECT message_id FROM outbox WHERE related_type = 'user'")
            .fetch_all(&app.db.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    sink.received()
        .into_iter()
        .filter(|m| !account.contains(&m.header("Message-ID").unwrap_or_default()))
        .collect()
}

/// Wait for exactly `n` mails (account mail aside): at least `n` within the
/// deadline, and no more once the queue is empty and the workers had time
/// for a few more polls.
async fn expect_exactly(app: &TestApp, sink: &SmtpSink, n: usize) -> Vec<Received> {
    eventually!(
        DEADLINE,
        format!("{n} mails at the sink"),
        non_account_mail(app, sink).await.len() >= n
    );
    eventually!(
        DEADLINE,
        "the queue to drain",
        app.scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')")
            .await
            == 0
    );
    rocket::tokio::time::sleep(Duration::from_millis(500)).await;
    let got = non_account_mail(app, sink).await;
    assert_eq!(
        got.len(),
        n,
        "more mails than expected arrived: {:#?}",
        subjects(&got)
    );
    got
}

// ----------------------------------------------------------- reading mail

/// `<a@b>` or `<a@b> SIZE=1` → `a@b`.
fn bare(addr: &str) -> String {
    let a = addr.split_whitespace().next().unwrap_or("");
    a.trim_start_matches('<').trim_end_matches('>').to_string()
}

fn rcpts(m: &Received) -> Vec<String> {
    m.rcpt_to.iter().map(|a| bare(a)).collect()
}

fn subjects(mails: &[Received]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect()
}

fn split_head(s: &str) -> (&str, &str) {
    match s.find("\r\n\r\n") {
        Some(i) => (&s[..i], &s[i + 4..]),
        None => (s, ""),
    }
}

/// The names of the top-level header lines (continuation lines excluded).
fn header_names(m: &Received) -> Vec<String> {
    split_head(&m.data)
        .0
        .split("\r\n")
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, _)| n.trim().to_ascii_lowercase())
        })
        .collect()
}

/// A header of a MIME part's header block, unfolded.
fn part_header(head: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(v) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push(' ');
                v.push_str(line.trim_start());
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.eq_ignore_ascii_case(name) {
                value = Some(v.trim().to_string());
            }
        }
    }
    value
}

fn decode_qp(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if b[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("qp escape");
            out.push(u8::from_str_radix(hex, 16).expect("qp hex"));
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The parts of a multipart/alternative mail as (content type, decoded
/// text with `\n` line ends).
fn body_parts(m: &Received) -> Vec<(String, String)> {
    use base64::Engine;
    let ct = m.header("Content-Type").expect("a Content-Type header");
    assert!(
        ct.to_ascii_lowercase().starts_with("multipart/alternative"),
        "Content-Type: {ct}"
    );
    let boundary = ct
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .expect("a boundary")
        .trim_matches('"')
        .to_string();
    let body = split_head(&m.data).1;
    let delimiter = format!("--{boundary}");
    body.split(delimiter.as_str())
        .skip(1)
        .filter(|p| !p.starts_with("--"))
        .map(|p| {
            let p = p.strip_prefix("\r\n").unwrap_or(p);
            let (head, content) = split_head(p);
            let content = content.strip_suffix("\r\n").unwrap_or(content);
            let ctype = part_header(head, "Content-Type").unwrap_or_default();
            let cte = part_header(head, "Content-Transfer-Encoding")
                .unwrap_or_else(|| "7bit".into())
                .to_ascii_lowercase();
            let bytes = match cte.as_str() {
                "quoted-printable" => decode_qp(content),
                "base64" => base64::engine::general_purpose::STANDARD
                    .decode(content.split_whitespace().collect::<String>())
                    .expect("base64 part"),
                _ => content.as_bytes().to_vec(),
            };
            (
                ctype,
                String::from_utf8(bytes)
                    .expect("utf-8 part")
                    .replace("\r\n", "\n"),
            )
        })
        .collect()
}

/// The decoded part of a given media type.
fn part(m: &Received, media: &str) -> String {
    let parts = body_parts(m);
    let found: Vec<&(String, String)> = parts
        .iter()
        .filter(|(ct, _)| ct.to_ascii_lowercase().starts_with(media))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {media} part, got {:?}",
        parts.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    found[0].1.clone()
}

fn message_ids(mails: &[Received]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m.header("Message-ID").expect("a Message-ID"))
        .collect()
}

fn assert_unique(ids: &[String]) {
    let set: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        set.len(),
        ids.len(),
        "duplicate Message-IDs among {} mails",
        ids.len()
    );
}

/// `n` queued outbox rows inserted directly, with distinct recipients and
/// Message-IDs (`<bulk-i@test>`).
async fn queue_bulk(app: &TestApp, n: usize) {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "('<bulk-{i}@test>', 'contact', 'rcpt{i}@example.org', NULL, 'Bulk {i}', 'text {i}', \
                 '<p>html {i}</p>', 'queued', 0, 0, 0)"
            )
        })
        .collect();
    app.exec(&format!(
        "INSERT INTO outbox (message_id, template, to_addr, reply_to, subject, text_body, html_body, status, \
         attempts, next_attempt_at, created_at) VALUES {}",
        rows.join(", ")
    ))
    .await;
}

/// A new app process with its delivery worker on, on the same database.
async fn worker_process(app: &TestApp) -> Client {
    Client::tracked(groundwork::build(
        app.figment().merge(("mail.worker", true)),
    ))
    .await
    .expect("worker process starts")
}

// ------------------------------------------------------- the happy path

#[rocket::async_test]
async fn a_message_is_stored_thanked_and_mailed_once_to_each_admin() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| mail_via(f, &sink.url())).await;
    let _boss = admin_browser(&app, "boss").await;
    let _boss2 = admin_browser(&app, "boss2").await;
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
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox WHERE related_type = 'contact' AND status = 'sent' AND sent_at IS NOT NULL").await, 2);
}

#[rocket::async_test]
async fn configured_recipients_replace_the_admins() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url())
            .merge(("contact.recipients", vec!["a@example.org", "b@example.org"]))
    })
    .await;
    let _boss = admin_browser(&app, "boss").await;

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

// ------------------------------------------------------------ outages

#[rocket::async_test]
async fn with_smtp_down_visitors_are_thanked_at_once_and_mail_goes_out_exactly_once_when_it_returns(
) {
    let port = free_port();
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &format!("smtp://127.0.0.1:{port}"))
            .merge(("contact.recipients", vec!["a@example.org", "b@example.org"]))
    })
    .await;

    for i in 1..=3 {
        let started = Instant::now();
        let r = send_contact(
            &app.client,
            "Vera",
            "vera@example.net",
            &format!("During the outage {i}"),
            "Hello",
        )
        .await;
        assert_thanked(&r);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the visitor waited {:?}",
            started.elapsed()
        );
        assert!(app.get("/contact/thanks").await.body.contains("Thank you"));
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 3);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox").await, 6);
    eventually!(
        DEADLINE,
        "a failed attempt on every outbox row",
        app.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND attempts >= 1 AND last_error IS NOT NULL")
            .await
            == 6
    );

    let sink = SmtpSink::start_on(port).await;
    let mails = expect_exactly(&app, &sink, 6).await;
    let ids = message_ids(&mails);
    assert_unique(&ids);
    let stored: BTreeSet<String> = sqlx::query_scalar("SELECT message_id FROM outbox")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), stored);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts >= 2")
            .await,
        6
    );
}

#[rocket::async_test]
async fn a_hanging_smtp_server_does_not_keep_the_visitor_waiting() {
    // A server that accepts connections and never says a word.
    let listener = rocket::tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = rocket::tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &format!("smtp://{addr}"))
            .merge(("mail.timeout", 60))
            .merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;

    for i in 1..=2 {
        let started = Instant::now();
        assert_thanked(
            &send_contact(
                &app.client,
                "Vera",
                "vera@example.net",
                &format!("Stuck {i}"),
                "Hello",
            )
            .await,
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the visitor waited {:?}",
            started.elapsed()
        );
    }
    eventually!(
        DEADLINE,
        "the worker to be stuck sending",
        app.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sending'")
            .await
            >= 1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contact_messages").await, 2);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
            .await,
        0
    );
    silent.abort();
}

#[rocket::async_test]
async fn a_temporary_smtp_error_is_retried_until_the_server_accepts() {
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::Temporary);
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;
    let admin = admin_browser(&app, "boss").await;

    assert_thanked(
        &send_contact(
            &app.client,
            "Vera",
            "vera@example.net",
            "Try again",
            "Hello",
        )
        .await,
    );
    eventually!(
        DEADLINE,
        "a recorded 451",
        app.scalar("SELECT COUNT(*) FROM outbox WHERE related_type = 'contact' AND status = 'queued' AND attempts >= 1 \
             AND last_error LIKE '%451%'")
            .await
            == 1
    );
    let id = contact_id(&app, "Try again").await;
    let page = get(&admin, &format!("/admin/contact/{id}")).await;
    assert_eq!(page.status, Status::Ok);
    assert!(
        page.body.contains("a@example.org</strong>: retrying"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("451") && page.body.contains("next attempt"),
        "{}",
        page.body
    );
    assert!(sink.received().is_empty());

    // A second answer of 451 is still not the end.
    eventually!(
        DEADLINE,
        "a second attempt",
        app.scalar("SELECT COUNT(*) FROM outbox WHERE related_type = 'contact' AND status = 'queued' AND attempts >= 2").await == 1
    );
    sink.set_mode(Mode::Accept);
    let mails = expect_exactly(&app, &sink, 1).await;
    assert_eq!(rcpts(&mails[0]), vec!["a@example.org"]);
    assert_eq!(
        mails[0].header("Message-ID"),
        app.text("SELECT message_id FROM outbox WHERE related_type = 'contact'")
            .await
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox WHERE related_type = 'contact' AND status = 'sent' AND attempts >= 3").await, 1);
    let page = get(&admin, &format!("/admin/contact/{id}")).await;
    assert!(
        page.body.contains("a@example.org</strong>: sent"),
        "{}",
        page.body
    );
}

#[rocket::async_test]
async fn a_permanent_smtp_error_is_shown_as_failed_and_retry_now_delivers_it() {
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::Permanent);
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;
    let admin = admin_browser(&app, "boss").await;

    assert_thanked(
        &send_contact(&app.client, "Vera", "vera@example.net", "Bounced", "Hello").await,
    );
    eventually!(
        DEADLINE,
        "the mail to be marked failed",
        app.scalar(
            "SELECT COUNT(*) FROM outbox WHERE related_type = 'contact' AND status = 'failed'"
        )
        .await
            == 1
    );
    let error = app
        .text("SELECT last_error FROM outbox WHERE related_type = 'contact'")
        .await
        .unwrap();
    assert!(error.contains("550"), "last_error: {error}");
    assert_eq!(
        app.scalar("SELECT attempts FROM outbox WHERE related_type = 'contact'")
            .await,
        1,
        "a 5xx answer is not retried"
    );
    assert!(sink.received().is_empty());

    let id = contact_id(&app, "Bounced").await;
    let list = get(&admin, "/admin/contact").await;
    assert!(list.body.contains("a@example.org: failed"), "{}", list.body);
    let page = get(&admin, &format!("/admin/contact/{id}")).await;
    assert_eq!(page.status, Status::Ok);
    assert!(
        page.body.contains("a@example.org</strong>: failed"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("550") && page.body.contains("Mailbox unavailable"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Retry now"));
    let prefix = format!("action=\"/admin/contact/{id}/deliveries/");
    let at = page.body.find(&prefix).expect("a retry form") + "action=\"".len();
    let action = page.body[at..at + page.body[at..].find('"').unwrap()].to_string();
    assert!(action.ends_with("/retry"), "{action}");

    sink.set_mode(Mode::Accept);
    let r = post_raw(
        &admin,
        &action,
        &[("csrf_token", page.csrf().as_str())],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some(format!("/admin/contact/{id}").as_str()));
    let mails = expect_exactly(&app, &sink, 1).await;
    assert_eq!(rcpts(&mails[0]), vec!["a@example.org"]);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM outbox WHERE related_type = 'contact' AND status = 'sent'"
        )
        .await,
        1
    );
    let page = get(&admin, &format!("/admin/contact/{id}")).await;
    assert!(
        page.body.contains("a@example.org</strong>: sent"),
        "{}",
        page.body
    );
}

#[rocket::async_test]
async fn retry_now_needs_a_csrf_token_and_an_admin() {
    let sink = SmtpSink::start().await;
    sink.set_mode(Mode::Permanent);
    let app = TestApp::spawn_with(|f| {
        mail_via(f, &sink.url()).merge(("contact.recipients", vec!["a@example.org"]))
    })
    .await;
    let admin = admin_browser(&app, "boss").await;
    assert_thanked(
        &send_contact(&app.client, "Vera", "vera@example.net", "Bounced", "Hello").await,
    );
    eventually!(
        DEADLINE,
        "a failure",
        app.scalar(
            "SELECT COUNT(*) FROM outbox WHERE related_type = 'contact' AND status = 'failed'"
        )
        .await
            == 1
    );
    let id = contact_id(&app, "Bounced").await;
    let delivery = app
        .scalar("SELECT id FROM outbox WHERE related_type = 'contact'")
        .await;
    let action = format!("/admin/contact/{id}/deliveries/{delivery}/retry");

    get(&admin, "/admin/contact").await;
    assert_eq!(
        post_raw(&admin, &action, &[], &[]).await.status,
        Status::Forbidden
    );
    // The visitor's browser is no admin, token or not.
    let token = app.get("/contact").await.csrf();
    let r = post_raw(&app.client, &action, &[("csrf_token", token.as_str())], &[]).await;
    // Anonymous: sent to sign in, like every admin route.
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/login"));
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM outbox WHERE related_type = 'contact' AND status = 'failed'"
        )
        .await,
        1
    );
}

// ------------------------------------------- several processes, leases

/// 200 queued mails, two app processes with workers on one database: 200
/// arrivals, 200 distinct Message-IDs. On Postgres this goes through
/// `FOR UPDATE SKIP LOCKED`.
#[rocket::async_test]
async fn two_app_processes_deliver_200_queued_mails_exactly_once() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| mail_via(f, &sink.url()).merge(("mail.worker", false))).await;
    queue_bulk(&app, 200).await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'queued'")
            .await,
        200
    );

    // On Postgres, another process in the middle of a claim holds row locks
    // on the first mails in the queue; the workers must go round them
    // (`SKIP LOCKED`) rather than wait, or take them too.
    let held = if app.db.backend == Backend::Postgres {
        let mut tx = app.db.pool.begin().await.unwrap();
        let locked: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM outbox ORDER BY id LIMIT 10 FOR UPDATE")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        assert_eq!(locked.len(), 10);
        Some(tx)
    } else {
        None
    };

    let started = Instant::now();
    let (one, two) = rocket::tokio::join!(worker_process(&app), worker_process(&app));
    if let Some(tx) = held {
        let got = sink.wait_for(190, Duration::from_secs(20)).await;
        assert_eq!(
            got.len(),
            190,
            "mails not under another claimer's lock go out meanwhile"
        );
        let locked: BTreeSet<String> = (0..10).map(|i| format!("<bulk-{i}@test>")).collect();
        assert!(
            message_ids(&got).iter().all(|id| !locked.contains(id)),
            "a locked row was taken"
        );
        tx.rollback().await.unwrap();
    }
    let got = sink.wait_for(200, Duration::from_secs(20)).await;
    assert!(
        got.len() >= 200,
        "only {} of 200 mails arrived in {:?}",
        got.len(),
        started.elapsed()
    );
    let mails = expect_exactly(&app, &sink, 200).await;
    let ids = message_ids(&mails);
    assert_unique(&ids);
    let expected: BTreeSet<String> = (0..200).map(|i| format!("<bulk-{i}@test>")).collect();
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), expected);
    for m in &mails {
        let n = m
            .header("Message-ID")
            .unwrap()
            .trim_start_matches("<bulk-")
            .trim_end_matches("@test>")
            .to_string();
        assert_eq!(
            rcpts(m),
            vec![format!("rcpt{n}@example.org")],
            "each mail went to its own recipient"
        );
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 1")
            .await,
        200
    );
    drop((one, two));
}

#[rocket::async_test]
async fn a_mail_claimed_by_a_dead_worker_is_taken_over_once_its_lease_lapses() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| mail_via(f, &sink.url()).merge(("mail.worker", false))).await;
    queue_bulk(&app, 2).await;
    let now = groundwork::db::now();
    // Row 0: its worker died and the lease ran out. Row 1: a live worker holds it.
    app.exec(&format!(
        "UPDATE outbox SET status = 'sending', attempts = 1, locked_until = {} WHERE message_id = '<bulk-0@test>'",
        now - 5
    ))
    .await;
    app.exec(&format!(
        "UPDATE outbox SET status = 'sending', attempts = 1, locked_until = {} WHERE message_id = '<bulk-1@test>'",
        now + 3600
    ))
    .await;

    let _worker = worker_process(&app).await;
    let got = sink.wait_for(1, DEADLINE).await;
    assert_eq!(message_ids(&got), vec!["<bulk-0@test>".to_string()]);
    eventually!(
        DEADLINE,
        "the taken-over mail to be marked sent",
        app.scalar(
            "SELECT COUNT(*) FROM outbox WHERE message_id = '<bulk-0@test>' AND status = 'sent'"
        )
        .await
            == 1
    );
    rocket::tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sink.received().len(),
        1,
        "a mail under a live lease was sent"
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM outbox WHERE message_id = '<bulk-1@test>' AND status = 'sending'"
        )
        .await,
        1
    );
}

/// SECURITY.md 36: at shutdown the worker finishes the mail in hand and
/// hands back the rest, so nothing waits out a lease and nothing is sent twice.
#[rocket::async_test]
async fn a_worker_shutting_down_hands_back_its_unsent_mail() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|f| mail_via(f, &sink.url()).merge(("mail.worker", false))).await;
    queue_bulk(&app, 60).await;

    let first = worker_process(&app).await;
    assert!(!sink.wait_for(1, DEADLINE).await.is_empty());
    first.terminate().await;
    eventually!(
        Duration::from_secs(5),
        "no mail left claimed by the stopped worker",
        app.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sending'")
            .await
            == 0
    );
    let sent = app
        .scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
        .await;
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sink.received().len() as i64,
        sent,
        "every mail that arrived is recorded as sent"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND attempts <> 0")
            .await,
        0,
        "mail handed back unsent keeps its attempt count"
    );

    let _second = worker_process(&app).await;
    let mails = expect_exactly(&app, &sink, 60).await;
    assert_unique(&message_ids(&mails));
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
    let _boss = admin_browser(&app, "boss").await;

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

    let admin = admin_browser(&app, "boss").await;
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

/// How many escaped `<script>` tags a page holds (askama writes `&#60;`;
/// `&lt;` is as good).
fn escaped_script(body: &str) -> usize {
    body.matches("&#60;script&#62;").count() + body.matches("&lt;script&gt;").count()
}

/// HTML text with its character references decoded.
fn unescape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let entity = &rest[1..e];
            match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }
        });
        match (decoded, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
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
    let admin = admin_browser(&app, "boss").await;

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
    let admin = admin_browser(&app, "boss").await;

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

// ------------------------------------------------------ .eml, acknowledgement

#[rocket::async_test]
async fn without_an_smtp_url_mails_are_written_as_eml_files() {
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
            "Written to disk",
            "Hello files",
        )
        .await,
    );

    let eml_files = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir.path())
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default()
    };
    eventually!(DEADLINE, "an .eml file", eml_files().len() == 1);
    eventually!(
        DEADLINE,
        "the mail to be marked sent",
        app.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
            .await
            == 1
    );
    assert_eq!(eml_files().len(), 1);
    let eml = std::fs::read_to_string(&eml_files()[0]).unwrap();
    let message_id = app.text("SELECT message_id FROM outbox").await.unwrap();
    let as_received = Received {
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: eml.clone(),
    };
    assert_eq!(
        as_received.header("To").as_deref(),
        Some("a@example.org"),
        "{eml}"
    );
    assert_eq!(
        as_received.header("Reply-To").as_deref(),
        Some("vera@example.net")
    );
    assert_eq!(
        as_received.header("Subject").as_deref(),
        Some("[Contact] Written to disk")
    );
    assert_eq!(as_received.header("Message-ID"), Some(message_id));
    assert!(as_received
        .header("From")
        .unwrap()
        .contains("<noreply@example.org>"));
    assert!(part(&as_received, "text/plain").contains("Hello files"));
    assert!(part(&as_received, "text/html").contains("Hello files"));
}

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
    let admin = admin_browser(&app, "boss").await;
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
