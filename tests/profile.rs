//! The profile page: changing the profile through the form (validation,
//! escaping, fields it does not own), changing the password and deleting
//! the account, as a person using the site would see them.
use crate::common;
use common::accounts::*;
use common::html::*;
use common::*;

use rocket::http::Status;
use rocket::local::asynchronous::Client;

/// The profile form exactly as a browser sends it: `_method=put` first
/// (Rocket only honours the override as the first field), then the token.
async fn update_profile(client: &Client, fields: &[(&str, &str)]) -> Resp {
    let token = get(client, "/profile").await.csrf();
    assert!(!token.is_empty(), "no CSRF token on /profile");
    let mut all = vec![("_method", "put"), ("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    post_raw(client, "/update-profile", &all, &[]).await
}

async fn profile_of(app: &TestApp, username: &str) -> (String, String, String) {
    let get = |col: &'static str| {
        let sql = format!("SELECT {col} FROM users WHERE username = $1");
        async move { stored(app, &sql, username).await.expect("user exists") }
    };
    (
        get("display_name").await,
        get("bio").await,
        get("avatar_url").await,
    )
}

// ---------------------------------------------------------------- profile

#[rocket::async_test]
async fn the_profile_page_sends_anonymous_visitors_to_sign_in_and_back() {
    let app = TestApp::spawn().await;
    let r = app.get("/profile").await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/login?next=%2Fprofile"));

    // Signing up elsewhere, then in here, lands back on the profile.
    let r = signup_elsewhere(&app, "alice", "alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let page = app.get("/login?next=%2Fprofile").await;
    assert_eq!(
        extract_value(&page.body, "next").as_deref(),
        Some("/profile")
    );
    let r = app
        .submit(
            "/login?next=%2Fprofile",
            "/login",
            &[
                ("email", "alice@example.org"),
                ("password", PASSWORD),
                ("next", "/profile"),
            ],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/profile"));
    assert_eq!(app.get("/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn profile_changes_are_saved_through_the_html_form() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let r = update_profile(
        &app.client,
        &[
            ("display_name", "  Alice Example  "),
            ("bio", "Line one\r\nLine two"),
            ("avatar_url", "https://example.org/alice.png"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/profile"));
    assert_eq!(
        profile_of(&app, "alice").await,
        (
            "Alice Example".to_string(),
            "Line one\nLine two".to_string(),
            "https://example.org/alice.png".to_string()
        )
    );
    let page = app.get("/profile").await;
    assert!(page.body.contains("Your profile has been saved."));
    assert_eq!(
        extract_value(&page.body, "display_name").as_deref(),
        Some("Alice Example")
    );
    assert!(page.body.contains(">Line one\nLine two</textarea>"));
    assert_eq!(
        extract_value(&page.body, "avatar_url").as_deref(),
        Some("https://example.org/alice.png")
    );
}

#[rocket::async_test]
async fn the_profile_form_ignores_fields_it_does_not_own() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let r = signup_elsewhere(&app, "bob", "bob@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let bob_id = app
        .scalar("SELECT id FROM users WHERE username = 'bob'")
        .await
        .to_string();
    let r = update_profile(
        &app.client,
        &[
            ("display_name", "Alice"),
            ("role", "admin"),
            ("id", &bob_id),
            ("user_id", &bob_id),
            ("username", "mallory"),
            ("email", "mallory@example.org"),
            ("email_verified", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let row = |col: &'static str, user: &'static str| {
        let app = &app;
        async move {
            stored(
                app,
                &format!("SELECT {col} FROM users WHERE username = $1"),
                user,
            )
            .await
            .unwrap_or_default()
        }
    };
    assert_eq!(row("role", "alice").await, "user");
    assert_eq!(row("email", "alice").await, "alice@example.org");
    assert_eq!(row("display_name", "alice").await, "Alice");
    assert_eq!(row("display_name", "bob").await, "");
    assert_eq!(
        app.scalar("SELECT email_verified FROM users WHERE username = 'alice'")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE username = 'mallory'")
            .await,
        0
    );
}

#[rocket::async_test]
async fn unsafe_avatar_urls_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let r = update_profile(&app.client, &[("display_name", "Before")]).await;
    assert_eq!(r.status, Status::SeeOther);

    let scheme = "Use an address starting with http:// or https://.";
    let too_long = format!("https://example.org/{}", "a".repeat(481));
    for (url, message) in [
        ("javascript:alert(1)", scheme),
        ("JaVaScRiPt:alert(document.cookie)", scheme),
        (" javascript:alert(1)", scheme),
        (
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            scheme,
        ),
        ("//evil.example/a.png", scheme),
        ("ftp://example.org/a.png", scheme),
        ("https://", "That does not look like a web address."),
        (
            "https://example.org/\"onerror=\"alert(1)",
            "That does not look like a web address.",
        ),
        (too_long.as_str(), "That address is too long."),
    ] {
        let r = update_profile(
            &app.client,
            &[("display_name", "After"), ("avatar_url", url)],
        )
        .await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{url:?} accepted");
        assert_eq!(
            field_error(&r.body, "avatar_url").as_deref(),
            Some(message),
            "{url:?}"
        );
        assert!(!r.body.contains("href=\"javascript"));
        assert!(!r.body.contains("src=\"javascript"));
        assert_eq!(
            profile_of(&app, "alice").await,
            ("Before".into(), String::new(), String::new()),
            "{url:?} changed the profile"
        );
    }
    // http is fine too.
    let r = update_profile(&app.client, &[("avatar_url", "http://example.org/a.png")]).await;
    assert_eq!(r.status, Status::SeeOther);
}

#[rocket::async_test]
async fn overlong_display_names_and_bios_are_refused_with_a_message() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;

    let r = update_profile(&app.client, &[("display_name", &"a".repeat(65))]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(
        field_error(&r.body, "display_name").as_deref(),
        Some("Use at most 64 characters.")
    );
    let r = update_profile(&app.client, &[("bio", &"b".repeat(1001))]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(
        field_error(&r.body, "bio").as_deref(),
        Some("Use at most 1000 characters.")
    );
    // The person's input is kept so they can shorten it.
    assert!(r.body.contains(&"b".repeat(1001)));
    assert_eq!(
        profile_of(&app, "alice").await,
        (String::new(), String::new(), String::new())
    );

    // The limits count characters, and are inclusive.
    let name = "é".repeat(64);
    let bio = "ü".repeat(1000);
    let r = update_profile(&app.client, &[("display_name", &name), ("bio", &bio)]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(profile_of(&app, "alice").await, (name, bio, String::new()));
}

#[rocket::async_test]
async fn markup_in_the_profile_comes_back_escaped() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let payload = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>";
    let r = update_profile(&app.client, &[("display_name", payload), ("bio", payload)]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        profile_of(&app, "alice").await,
        (payload.to_string(), payload.to_string(), String::new())
    );

    let check = |body: &str| {
        assert!(!body.contains("<script>alert(1)"), "raw script tag");
        assert!(!body.contains("<img src=x"), "raw img tag");
        assert_shown_as_text(body, "<script>alert(1)</script>");
        assert_shown_as_text(body, "\"><img src=x onerror=alert(1)>");
        // In the textarea, exactly as typed.
        assert!(unescape_html(body).contains(&format!(">{payload}</textarea>")));
        // The quote cannot end the value attribute early.
        let value = extract_value(body, "display_name").unwrap_or_default();
        assert_eq!(unescape_html(&value), payload);
    };
    let page = app.get("/profile").await;
    assert_eq!(page.status, Status::Ok);
    check(&page.body);

    // The same holds on a form shown again with errors.
    let r = update_profile(
        &app.client,
        &[
            ("display_name", payload),
            ("bio", payload),
            ("avatar_url", "javascript:alert(1)"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    check(&r.body);
}

#[rocket::async_test]
async fn sql_metacharacters_and_emoji_are_stored_and_shown_verbatim() {
    let app = TestApp::spawn().await;
    // An email with a quote, a percent sign and an underscore is valid.
    let email = "o'brien+100%_x@example.org";
    let r = app.signup("obrien", email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let name = "O'Brien \"Bob\" 100% _x_ \\ 😀";
    let bio = "Robert'); DROP TABLE users;--\n50% off_ \\n 'single' \"double\" `tick` 🎉🦀 ;";
    let r = update_profile(&app.client, &[("display_name", name), ("bio", bio)]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);

    assert_eq!(user_count(&app).await, 1);
    let (stored_name, stored_bio, _) = profile_of(&app, "obrien").await;
    assert_eq!(stored_name, name);
    assert_eq!(stored_bio, bio);
    let stored_email = stored(
        &app,
        "SELECT email FROM users WHERE username = $1",
        "obrien",
    )
    .await;
    assert_eq!(stored_email.as_deref(), Some(email));

    let page = app.get("/profile").await;
    let shown = unescape_html(&page.body);
    assert!(shown.contains(name), "display name altered");
    assert!(shown.contains(bio), "bio altered");
    assert!(shown.contains(email), "email altered");

    let (_, r) = login_elsewhere(&app, email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    // A pattern character is not a wildcard at sign-in.
    let (_, r) = login_elsewhere(&app, "o'brien+100%@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::Unauthorized);
}

// ---------------------------------------------------------------- password

#[rocket::async_test]
async fn changing_the_password_needs_the_current_one() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let before = password_hash_of(&app, "alice").await;

    let r = app
        .submit(
            "/profile",
            "/account/password",
            &[
                ("current_password", "not my password"),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(
        field_error(&r.body, "current_password").as_deref(),
        Some("That is not your current password.")
    );
    assert_eq!(password_hash_of(&app, "alice").await, before);

    // The new one must follow the same rules as at sign-up.
    let r = app
        .submit(
            "/profile",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "password1"),
            ],
        )
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(field_error(&r.body, "new_password")
        .unwrap_or_default()
        .contains("commonly used"));
    assert_eq!(password_hash_of(&app, "alice").await, before);

    let (_, r) = login_elsewhere(&app, "alice@example.org", "a brand new passphrase").await;
    assert_eq!(r.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn a_password_change_signs_out_other_sessions_and_keeps_this_one() {
    let app = TestApp::spawn().await;
    let email = app.signed_in_user("alice").await;
    let (other, r) = login_elsewhere(&app, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(get(&other, "/profile").await.status, Status::Ok);

    let new_password = "a brand new passphrase";
    let r = app
        .submit(
            "/profile",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
            ],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/profile"));
    let page = app.get("/profile").await;
    assert_eq!(page.status, Status::Ok, "this session was ended");
    assert!(page.body.contains("Your password has been changed."));
    assert!(page
        .body
        .contains("Your other session has been signed out."));
    let hash = password_hash_of(&app, "alice").await;
    assert!(hash.starts_with(STRONG_HASH_PREFIX));

    let r = get(&other, "/profile").await;
    assert_eq!(r.status, Status::SeeOther, "the other session survived");
    assert!(r.location().unwrap_or_default().starts_with("/login"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);

    let (_, r) = login_elsewhere(&app, &email, PASSWORD).await;
    assert_eq!(
        r.status,
        Status::Unauthorized,
        "the old password still works"
    );
    let (_, r) = login_elsewhere(&app, &email, new_password).await;
    assert_eq!(r.status, Status::SeeOther, "the new password does not work");
}

// ---------------------------------------------------------------- deletion

#[rocket::async_test]
async fn deleting_the_account_needs_the_password() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let r = app
        .submit(
            "/profile",
            "/account/delete",
            &[("password", "not my password")],
        )
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r
        .body
        .contains("That is not your password. Your account has not been deleted."));
    assert_eq!(user_count(&app).await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);
    assert_eq!(app.get("/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn deleting_the_account_removes_it_and_its_sessions() {
    let app = TestApp::spawn().await;
    let email = app.signed_in_user("alice").await;
    let alice = app
        .scalar("SELECT id FROM users WHERE username = 'alice'")
        .await;
    let (other, r) = login_elsewhere(&app, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let bob = app.another_browser().await;
    let r = signup(&bob, "bob", "bob@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let alice_sessions = format!("SELECT COUNT(*) FROM sessions WHERE user_id = {alice}");
    assert_eq!(app.scalar(&alice_sessions).await, 2);

    let r = app
        .submit("/profile", "/account/delete", &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/"));

    let home = app.get("/").await;
    assert!(home
        .body
        .contains("Your account and everything in it have been deleted."));
    assert!(!home.body.contains("Sign out"), "still signed in");
    assert!(home.body.contains("href=\"/login\""));
    assert_eq!(app.get("/profile").await.status, Status::SeeOther);

    let users = format!("SELECT COUNT(*) FROM users WHERE id = {alice}");
    assert_eq!(app.scalar(&users).await, 0);
    assert_eq!(app.scalar(&alice_sessions).await, 0);
    assert_eq!(get(&other, "/profile").await.status, Status::SeeOther);
    let (_, r) = login_elsewhere(&app, &email, PASSWORD).await;
    assert_eq!(r.status, Status::Unauthorized);

    // Nobody else is touched.
    assert_eq!(user_count(&app).await, 1);
    assert_eq!(get(&bob, "/profile").await.status, Status::Ok);
}

#[rocket::async_test]
async fn the_last_admin_cannot_delete_their_account() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    app.exec("UPDATE users SET role = 'admin' WHERE username = 'alice'")
        .await;
    let r = app
        .submit("/profile", "/account/delete", &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("You are the only admin."), "{}", r.body);
    assert_eq!(user_count(&app).await, 1);
    assert_eq!(app.get("/profile").await.status, Status::Ok);

    // With another admin, an admin may leave.
    let r = signup_elsewhere(&app, "bob", "bob@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    app.exec("UPDATE users SET role = 'admin' WHERE username = 'bob'")
        .await;
    let r = app
        .submit("/profile", "/account/delete", &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
            .await,
        1
    );
}

#[rocket::async_test]
async fn ending_someone_elses_session_by_id_is_not_found_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let bob = app.another_browser().await;
    let r = signup(&bob, "bob", "bob@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let bob_session = app
        .scalar(
            "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.username = 'bob'",
        )
        .await;

    let r = app
        .submit("/profile", &format!("/sessions/{bob_session}/end"), &[])
        .await;
    assert_eq!(r.status, Status::NotFound);
    let still = format!("SELECT COUNT(*) FROM sessions WHERE id = {bob_session}");
    assert_eq!(app.scalar(&still).await, 1);
    assert_eq!(get(&bob, "/profile").await.status, Status::Ok);
    assert_eq!(app.get("/profile").await.status, Status::Ok);
}
