//! Account mail: email verification, password reset and email change, with
//! every mail received by a real SMTP server on 127.0.0.1.

use crate::common;
use common::mail::*;
use common::smtp::*;
use common::*;
use rocket::http::Status;

async fn app_with_sink() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|f| {
        f.merge(("mail.smtp_url", url))
            .merge(("mail.from", "Groundwork <noreply@example.org>"))
            .merge(("mail.poll_interval", 0.1))
    })
    .await;
    (app, sink)
}

fn path_of(link: &str) -> String {
    let after_scheme = &link[link.find("://").unwrap() + 3..];
    after_scheme[after_scheme.find('/').unwrap()..].to_string()
}

#[rocket::async_test]
async fn sign_up_mails_a_link_that_confirms_the_address_once() {
    let (app, sink) = app_with_sink().await;
    app.signed_in_user("vera").await;
    let profile = app.get("/profile").await;
    assert!(
        profile.body.contains("Please confirm your email address"),
        "banner missing"
    );

    let mails = mails_to(&sink, "vera@example.org", 1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].header("Subject").as_deref(),
        Some("Confirm your email address")
    );
    let link = mails[0]
        .link("http://localhost:8000/verify-email/")
        .expect("link in mail");
    let path = path_of(&link);

    // Opening the link changes nothing by itself (no GET changes state).
    let page = app.get(&path).await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("vera@example.org"));
    assert_eq!(
        app.scalar("SELECT email_verified FROM users WHERE username = 'vera'")
            .await,
        0
    );

    let done = app.post_raw(&path, &[("csrf_token", &page.csrf())]).await;
    assert_eq!(done.status, Status::SeeOther);
    assert_eq!(
        app.scalar("SELECT email_verified FROM users WHERE username = 'vera'")
            .await,
        1
    );
    assert!(!app
        .get("/profile")
        .await
        .body
        .contains("Please confirm your email address"));

    let again = app.get(&path).await;
    assert_eq!(again.status, Status::BadRequest);
    assert!(again
        .body
        .contains("invalid, was already used, or has expired"));
}

#[rocket::async_test]
async fn an_expired_verification_link_is_refused() {
    let (app, sink) = app_with_sink().await;
    app.signed_in_user("wendy").await;
    let link = mails_to(&sink, "wendy@example.org", 1).await[0]
        .link("http://localhost:8000/")
        .unwrap();
    app.exec("UPDATE email_tokens SET expires_at = 1").await;
    assert_eq!(app.get(&path_of(&link)).await.status, Status::BadRequest);
    assert_eq!(
        app.scalar("SELECT email_verified FROM users WHERE username = 'wendy'")
            .await,
        0
    );
}

#[rocket::async_test]
async fn resending_voids_the_older_link_and_is_rate_limited() {
    let (app, sink) = app_with_sink().await;
    app.signed_in_user("xena").await;
    let first = mails_to(&sink, "xena@example.org", 1).await[0]
        .link("http://localhost:8000/")
        .unwrap();
    for n in 0..3 {
        let r = app.submit("/profile", "/verify-email/resend", &[]).await;
        assert_eq!(r.status, Status::SeeOther, "resend {n}");
    }
    let limited = app.submit("/profile", "/verify-email/resend", &[]).await;
    assert_eq!(limited.status, Status::TooManyRequests);
    assert!(limited.header("Retry-After").is_some());
    let mails = mails_to(&sink, "xena@example.org", 4).await;
    assert_eq!(mails.len(), 4);
    assert_eq!(
        app.get(&path_of(&first)).await.status,
        Status::BadRequest,
        "older link still works"
    );
    let newest = mails
        .last()
        .unwrap()
        .link("http://localhost:8000/")
        .unwrap();
    assert_eq!(app.get(&path_of(&newest)).await.status, Status::Ok);
}

#[rocket::async_test]
async fn forgot_password_answers_the_same_for_unknown_addresses() {
    let (app, sink) = app_with_sink().await;
    app.signed_in_user("yuri").await;
    mails_to(&sink, "yuri@example.org", 1).await;
    let unknown = app
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "nobody@example.org")],
        )
        .await;
    let known = app
        .submit(
            "/password/forgot",
            "/password/forgot",
            &[("email", "yuri@example.org")],
        )
        .await;
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.location(), known.location());
    assert_eq!(known.location(), Some("/password/forgot/sent"));
    let sent = app.get("/password/forgot/sent").await;
    assert!(sent.body.contains("If an account uses that address"));
    let mails = mails_to(&sink, "yuri@example.org", 2).await;
    assert_eq!(mails.len(), 2);
    assert_eq!(
        mails[1].header("Subject").as_deref(),
        Some("Reset your password")
    );
    assert!(mails_to(&sink, "nobody@example.org", 0).await.is_empty());
}

#[rocket::async_test]
async fn a_reset_link_sets_the_password_once_and_ends_every_session() {
    let (app, sink) = app_with_sink().await;
    app.signed_in_user("zoe").await;
    let other = app.another_browser().await;
    login(&other, "zoe@example.org", PASSWORD).await;
    assert_eq!(get(&other, "/profile").await.status, Status::Ok);

    app.submit(
        "/password/forgot",
        "/password/forgot",
        &[("email", "zoe@example.org")],
    )
    .await;
    app.submit(
        "/password/forgot",
        "/password/forgot",
        &[("email", "zoe@example.org")],
    )
    .await;
    let mails = mails_to(&sink, "zoe@example.org", 3).await;
    let older = path_of(
        &mails[1]
            .link("http://localhost:8000/password/reset/")
            .unwrap(),
    );
    let newest = path_of(
        &mails[2]
            .link("http://localhost:8000/password/reset/")
            .unwrap(),
    );
    assert_eq!(
        app.get(&older).await.status,
        Status::BadRequest,
        "a newer link voids the older one"
    );

    let weak = app
        .submit(&newest, &newest, &[("new_password", "password1")])
        .await;
    assert_eq!(weak.status, Status::UnprocessableEntity);
    assert!(weak.body.contains("commonly used"));

    let done = app
        .submit(
            &newest,
            &newest,
            &[("new_password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(done.status, Status::SeeOther);
    assert_eq!(done.location(), Some("/login"));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions").await,
        0,
        "every session ended"
    );
    assert_eq!(get(&other, "/profile").await.status, Status::SeeOther);
    assert_eq!(
        app.get(&newest).await.status,
        Status::BadRequest,
        "single use"
    );

    assert_eq!(
        app.login("zoe@example.org", PASSWORD).await.status,
        Status::Unauthorized
    );
    assert_eq!(
        app.login("zoe@example.org", "a brand new passphrase")
            .await
            .status,
        Status::SeeOther
    );
}

#[rocket::async_test]
async fn links_are_built_from_base_url_never_from_the_host_header() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|f| {
        f.merge(("mail.smtp_url", url))
            .merge(("mail.poll_interval", 0.1))
            .merge(("base_url", "https://groundwork.example"))
    })
    .await;
    let email = "ann@example.org";
    assert_eq!(
        app.signup("annie", email, PASSWORD).await.status,
        Status::SeeOther
    );
    let token = app.get("/password/forgot").await.csrf();
    post_raw(
        &app.client,
        "/password/forgot",
        &[("csrf_token", &token), ("email", email)],
        &[
            ("Host", "evil.example"),
            ("X-Forwarded-Host", "evil.example"),
        ],
    )
    .await;
    let mails = mails_to(&sink, email, 2).await;
    assert_eq!(mails.len(), 2);
    for m in &mails {
        assert!(!m.decoded().contains("evil.example"));
        assert!(m.link("https://groundwork.example/").is_some());
    }
}

#[rocket::async_test]
async fn changing_the_email_confirms_the_new_address_and_tells_the_old_one() {
    let (app, sink) = app_with_sink().await;
    app.signed_in_user("hugo").await;
    let wrong = app
        .submit(
            "/profile",
            "/account/email",
            &[
                ("new_email", "hugo@new.example"),
                ("password", "not my password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, Status::SeeOther);
    assert!(app
        .get("/profile")
        .await
        .body
        .contains("That is not your password"));

    let ok = app
        .submit(
            "/profile",
            "/account/email",
            &[("new_email", "Hugo@New.Example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(ok.status, Status::SeeOther);
    let to_new = mails_to(&sink, "hugo@new.example", 1).await;
    assert_eq!(to_new.len(), 1);
    assert_eq!(
        to_new[0].header("Subject").as_deref(),
        Some("Confirm your new email address")
    );
    let to_old = mails_to(&sink, "hugo@example.org", 2).await;
    assert!(to_old
        .iter()
        .any(|m| m.header("Subject").as_deref() == Some("Your email address is being changed")));
    assert_eq!(
        app.text("SELECT email FROM users WHERE username = 'hugo'")
            .await
            .as_deref(),
        Some("hugo@example.org")
    );

    let path = path_of(
        &to_new[0]
            .link("http://localhost:8000/account/email/confirm/")
            .unwrap(),
    );
    let page = app.get(&path).await;
    assert!(page.body.contains("hugo@new.example"));
    let done = app.post_raw(&path, &[("csrf_token", &page.csrf())]).await;
    assert_eq!(done.status, Status::SeeOther);
    assert_eq!(
        app.text("SELECT email FROM users WHERE username = 'hugo'")
            .await
            .as_deref(),
        Some("hugo@new.example")
    );
    assert_eq!(
        app.scalar("SELECT email_verified FROM users WHERE username = 'hugo'")
            .await,
        1
    );
    app.submit("/profile", "/logout", &[]).await;
    assert_eq!(
        app.login("hugo@new.example", PASSWORD).await.status,
        Status::SeeOther
    );
}
