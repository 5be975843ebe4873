//! The profile page's per-process cache (#14): a second view of `/profile`
//! asks the database nothing, yet every change the page shows is there on
//! the very next view, in this process and in another one on the same
//! database.
//!
//! Each test first proves the page really is served from the cache: a bio
//! written to the database without telling anyone is not seen. Without
//! the invalidation each change below calls, every test here fails.

use crate::common;
use common::accounts::*;
use common::json_api::token_for;
use common::passkey::add_passkey;
use common::twostep::enrol;
use common::*;
use rocket::http::Status;
use rocket::local::asynchronous::Client;

/// `browser`'s profile page, which must open.
async fn profile(browser: &Client) -> String {
    let r = get(browser, "/profile").await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    r.body
}

/// How many sessions the page lists ("Where you are signed in").
fn listed_sessions(page: &str) -> usize {
    page.matches("/end\" class=\"inline-form\"").count()
}

/// Save the public profile through its form (`_method=put` first, as a
/// browser sends it), which must be accepted.
async fn save_profile(browser: &Client, display_name: &str, bio: &str) {
    let token = get(browser, "/profile").await.csrf();
    let fields = [
        ("_method", "put"),
        ("csrf_token", token.as_str()),
        ("display_name", display_name),
        ("bio", bio),
        ("avatar_url", ""),
    ];
    let r = post_raw(browser, "/update-profile", &fields, &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

/// Sign `username` up in a browser of its own, open the profile there and
/// prove the next view comes from the cache.
async fn cached_member(app: &TestApp, username: &str) -> (Client, String) {
    let (browser, email) = user_in_own_browser(app, username).await;
    profile(&browser).await;
    app.exec_unannounced(&format!(
        "UPDATE users SET bio = 'written behind its back' WHERE username = '{username}'"
    ))
    .await;
    let page = profile(&browser).await;
    assert!(
        !page.contains("written behind its back"),
        "the second view was not served from the cache"
    );
    (browser, email)
}

#[rocket::async_test]
async fn every_change_the_profile_shows_is_there_on_the_next_view() {
    let app = TestApp::spawn_for_members().await;
    let (browser, email) = cached_member(&app, "petra").await;
    assert_eq!(listed_sessions(&profile(&browser).await), 1);

    // The public profile.
    save_profile(&browser, "Petra Quill", "Keeps bees.").await;
    let page = profile(&browser).await;
    assert!(page.contains("value=\"Petra Quill\""), "{page}");
    assert!(page.contains("Keeps bees."));

    // The time zone.
    let r = submit(
        &browser,
        "/account/time-zone",
        "/account/time-zone",
        &[("time_zone", "Europe/Vilnius")],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(profile(&browser)
        .await
        .contains("<strong>Europe/Vilnius</strong>"));

    // A sign-in elsewhere, then an API token: both listed at once.
    let (away, r) = login_elsewhere(&app, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(listed_sessions(&profile(&browser).await), 2);
    token_for(&app.client, &email).await;
    let page = profile(&browser).await;
    assert_eq!(listed_sessions(&page), 3);
    assert!(page.contains("API token"), "{page}");

    // Signing the other browser out.
    assert_eq!(logout(&away).await.status, Status::SeeOther);
    assert_eq!(listed_sessions(&profile(&browser).await), 2);

    // Two-step sign-in on, then a passkey.
    assert!(profile(&browser)
        .await
        .contains("Two-step sign-in is <strong>off</strong>"));
    enrol(&browser).await;
    assert!(profile(&browser)
        .await
        .contains("Two-step sign-in is <strong>on</strong>"));
    let (_key, done) = add_passkey(&browser, "Phone").await;
    assert_eq!(done.status, Status::Ok, "{}", done.body);
    assert!(profile(&browser)
        .await
        .contains("You have <strong>1</strong> passkey."));
}

#[rocket::async_test]
async fn a_change_made_through_another_process_is_seen_at_once() {
    let app = TestApp::spawn_for_members().await;
    let (browser, email) = user_in_own_browser(&app, "quinn").await;
    // Process B: the same session (its cookie as the browser holds it,
    // sealed with the key the processes share), its profile cached there.
    let b = app.another_browser().await;
    app_listening(&b).await;
    let cookie = format!(
        "{SESSION}={}",
        browser.cookies().get(SESSION).expect("signed in").value()
    );
    let header = [("Cookie", cookie.as_str())];
    let on_b = || get_with(&b, "/profile", &header);
    let r = on_b().await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(listed_sessions(&r.body), 1);
    app.exec_unannounced(
        "UPDATE users SET bio = 'written behind its back' WHERE username = 'quinn'",
    )
    .await;
    assert!(
        !on_b().await.body.contains("written behind its back"),
        "B: not cached"
    );

    // Process A: a new display name, then a sign-in elsewhere.
    save_profile(&browser, "Quinn Example", "").await;
    let r = on_b().await;
    assert!(
        r.body.contains("value=\"Quinn Example\""),
        "B is stale: {}",
        r.body
    );
    let (_away, r) = login_elsewhere(&app, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(listed_sessions(&on_b().await.body), 2, "B is stale");
}
