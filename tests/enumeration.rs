//! Nobody learns which addresses have accounts, and nobody makes the site
//! mail strangers without end (issue 13, items 8 and 9): the sign-up form
//! answers a taken address as it answers a new one and mails the owner;
//! refused sign-ups count against the per-address limit on every path;
//! forgot-password does the same work whatever the address; email-change
//! requests are limited per member, on the profile and the API alike.

use crate::common;

use common::accounts::{signup_elsewhere, user_count};
use common::conduit::rw;
use common::{submit, TestApp, PASSWORD};
use rocket::http::{Method, Status};
use serde_json::json;

const WELCOME_TAIL: &str = "We sent you a link to confirm your email address.";

/// How many mails from `template` were queued to `to`.
async fn queued(app: &TestApp, to: &str, template: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM outbox WHERE to_addr = '{to}' AND template = '{template}'"
    ))
    .await
}

/// The flash message a response sets, decoded enough to read.
fn flash(r: &common::Resp) -> String {
    let cookie = r.set_cookie("_flash").unwrap_or_default();
    let value = cookie.split(';').next().unwrap_or_default();
    value
        .replace("%20", " ")
        .replace("%21", "!")
        .replace("%2C", ",")
}

#[rocket::async_test]
async fn a_taken_address_gets_the_new_account_answer_and_its_owner_a_mail() {
    let app = TestApp::spawn().await;
    let new = signup_elsewhere(&app, "carol", "carol@example.org", PASSWORD).await;
    let taken = signup_elsewhere(&app, "carla", "Carol@Example.org", PASSWORD).await;
    // The same answer: a redirect to the same place, the same message.
    assert_eq!(new.status, Status::SeeOther);
    assert_eq!(taken.status, new.status);
    assert_eq!(taken.location(), new.location());
    assert!(flash(&new).contains(WELCOME_TAIL), "{}", flash(&new));
    assert!(flash(&taken).contains(WELCOME_TAIL), "{}", flash(&taken));
    assert!(!taken.body.contains("already"));
    // No second account, and the owner hears of it once an hour at most.
    assert_eq!(user_count(&app).await, 1);
    assert_eq!(queued(&app, "carol@example.org", "signup_attempt").await, 1);
    let again = signup_elsewhere(&app, "carlo", "carol@example.org", PASSWORD).await;
    assert_eq!(again.location(), new.location());
    assert_eq!(queued(&app, "carol@example.org", "signup_attempt").await, 1);
    let body = app
        .text("SELECT text_body FROM outbox WHERE template = 'signup_attempt'")
        .await
        .unwrap_or_default();
    assert!(body.contains("Hello carol"), "{body}");
    assert!(body.contains("/password/forgot"), "{body}");
}

#[rocket::async_test]
async fn a_taken_username_is_said_but_not_whether_the_address_is_taken() {
    let app = TestApp::spawn().await;
    signup_elsewhere(&app, "dave", "dave@example.org", PASSWORD).await;
    let r = signup_elsewhere(&app, "Dave", "dave@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("That username is taken"), "{}", r.body);
    assert!(!r.body.contains("already exists"));
    assert!(r.body.contains("value=\"dave@example.org\""));
    assert_eq!(queued(&app, "dave@example.org", "signup_attempt").await, 0);
}

#[rocket::async_test]
async fn refused_sign_ups_count_against_the_per_address_limit_on_every_path() {
    let app = TestApp::spawn_with(|f| f.merge(("signups_per_address_per_hour", 4))).await;
    let r = signup_elsewhere(&app, "erin", "erin@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    // The form, the JSON API and RealWorld's /api/users each probe once.
    let r = signup_elsewhere(&app, "erin2", "erin@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let body = json!({"username": "erin3", "email": "erin@example.org", "password": PASSWORD});
    let r = app
        .api(Method::Post, "/signup")
        .json(&body.to_string())
        .send()
        .await;
    assert_eq!(r.status, Status::Conflict, "{}", r.body);
    let body =
        json!({"user": {"username": "erin4", "email": "erin@example.org", "password": PASSWORD}});
    let r = rw(&app, Method::Post, "/api/users", None, Some(body.clone())).await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    // Four counted: the next probe is refused before anything is looked up.
    let r = rw(&app, Method::Post, "/api/users", None, Some(body)).await;
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
    let r = signup_elsewhere(&app, "frank", "frank@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::TooManyRequests);
    assert_eq!(user_count(&app).await, 1);
}

#[rocket::async_test]
async fn forgot_password_does_the_same_work_for_unknown_addresses() {
    let app = TestApp::spawn().await;
    signup_elsewhere(&app, "gina", "gina@example.org", PASSWORD).await;
    let before = app.scalar("SELECT COUNT(*) FROM outbox").await;
    for email in ["gina@example.org", "nobody@example.org"] {
        let browser = app.another_browser().await;
        let fields = [("email", email)];
        let r = submit(&browser, "/password/forgot", "/password/forgot", &fields).await;
        assert_eq!(r.location(), Some("/password/forgot/sent"));
    }
    // While answering, each request queued one job and nothing else; the
    // job looks the address up afterwards.
    let jobs = app
        .scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'password_reset'")
        .await;
    assert_eq!(jobs, 2);
    for _ in 0..100 {
        let pending = app
            .scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'password_reset' AND state IN ('queued', 'running')")
            .await;
        if pending == 0 {
            break;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(queued(&app, "gina@example.org", "password_reset").await, 1);
    assert_eq!(
        queued(&app, "nobody@example.org", "password_reset").await,
        0
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox").await, before + 1);
}

#[rocket::async_test]
async fn email_change_requests_are_limited_per_member_on_the_profile_and_the_api() {
    let app = TestApp::spawn().await;
    let browser = app.member("hana").await;
    for n in 1..=2 {
        let fields = [
            ("new_email", format!("hana{n}@elsewhere.example")),
            ("password", PASSWORD.to_string()),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = submit(&browser, "/profile", "/account/email", &fields).await;
        assert_eq!(r.location(), Some("/profile"), "{}", r.body);
    }
    // The API counts against the same limit.
    let login = json!({"user": {"email": "hana@example.org", "password": PASSWORD}});
    let r = rw(&app, Method::Post, "/api/users/login", None, Some(login)).await;
    let token = r.json()["user"]["token"].as_str().unwrap().to_string();
    let change = |n: u32| json!({"user": {"email": format!("hana-api{n}@elsewhere.example"), "currentPassword": PASSWORD}});
    let r = rw(
        &app,
        Method::Put,
        "/api/user",
        Some(&token),
        Some(change(3)),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let r = rw(
        &app,
        Method::Put,
        "/api/user",
        Some(&token),
        Some(change(4)),
    )
    .await;
    assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
    let fields = [
        ("new_email", "hana5@elsewhere.example"),
        ("password", PASSWORD),
    ];
    let r = submit(&browser, "/profile", "/account/email", &fields).await;
    assert_eq!(r.status, Status::TooManyRequests);
    let mailed = app
        .scalar("SELECT COUNT(*) FROM outbox WHERE template = 'email_change'")
        .await;
    assert_eq!(mailed, 3);
}
