//! Accounts: sign-up, its validation (usernames, emails, passwords),
//! uniqueness, hash upgrades and the sign-up limit, as a person using the
//! site would see them. The profile page is in profile.rs.
use crate::common;
use common::accounts::*;
use common::html::*;
use common::*;

use rocket::http::Status;

// ---------------------------------------------------------------- sign-up

#[rocket::async_test]
async fn sign_up_creates_the_account_and_signs_the_person_in() {
    let app = TestApp::spawn().await;
    let r = app
        .signup("Alice_1", "  Alice@Example.ORG  ", PASSWORD)
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/profile"));
    assert!(r.set_cookie("gw_session").is_some(), "no session cookie");

    assert_eq!(user_count(&app).await, 1);
    let email = stored(
        &app,
        "SELECT email FROM users WHERE username = $1",
        "Alice_1",
    )
    .await;
    assert_eq!(email.as_deref(), Some("alice@example.org"));
    let role = stored(
        &app,
        "SELECT role FROM users WHERE username = $1",
        "Alice_1",
    )
    .await;
    assert_eq!(role.as_deref(), Some("user"));
    let hash = password_hash_of(&app, "Alice_1").await;
    assert!(hash.starts_with(STRONG_HASH_PREFIX), "weak hash: {hash}");
    assert!(!hash.contains(PASSWORD));

    let page = app.get("/profile").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("Alice_1"));
    assert!(page.body.contains("alice@example.org"));
    assert!(
        page.body.contains(
            "Welcome to Groundwork, Alice_1! We sent you a link to confirm your email address."
        ),
        "no welcome message: {}",
        page.body
    );
    // The welcome is shown once.
    let again = app.get("/profile").await;
    assert!(!again.body.contains("Welcome to Groundwork"));
}

#[rocket::async_test]
async fn a_sign_up_form_with_errors_is_shown_again_with_a_message_beside_each_field() {
    let app = TestApp::spawn().await;
    let r = app.signup("al ice", "not-an-email", "short").await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("value=\"al ice\""), "username not kept");
    assert!(r.body.contains("value=\"not-an-email\""), "email not kept");
    assert_eq!(
        field_error(&r.body, "username").as_deref(),
        Some("Use only letters, digits, underscores (_) and hyphens (-).")
    );
    assert_eq!(
        field_error(&r.body, "email").as_deref(),
        Some("Enter a valid email address, like name@example.org.")
    );
    assert_eq!(
        field_error(&r.body, "password").as_deref(),
        Some("Use at least 8 characters.")
    );
    assert!(r.set_cookie("gw_session").is_none());
    assert_eq!(user_count(&app).await, 0);
}

#[rocket::async_test]
async fn a_rejected_sign_up_keeps_the_input_but_never_echoes_the_password() {
    let app = TestApp::spawn().await;
    let secret = "Unechoed-Secret-4417";
    let r = app.signup("x!", "keep.me@example.org", secret).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("value=\"x!\""));
    assert!(r.body.contains("value=\"keep.me@example.org\""));
    assert!(!r.body.contains(secret), "the password was sent back");
    assert!(field_error(&r.body, "username").is_some());
    assert_eq!(field_error(&r.body, "email"), None);
    assert_eq!(field_error(&r.body, "password"), None);
    assert_eq!(user_count(&app).await, 0);
}

#[rocket::async_test]
async fn usernames_must_be_3_to_32_letters_digits_underscores_or_hyphens() {
    let app = TestApp::spawn().await;
    let chars = "Use only letters, digits, underscores (_) and hyphens (-).";
    let length = "Use between 3 and 32 characters.";
    let long = "a".repeat(33);
    for (username, message) in [
        ("", "Choose a username."),
        ("ab", length),
        (long.as_str(), length),
        ("al ice", chars),
        ("alicé", chars),
        ("al.ice", chars),
        ("<b>x</b>", chars),
    ] {
        let r = app.signup(username, "someone@example.org", PASSWORD).await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{username:?}");
        assert_eq!(
            field_error(&r.body, "username").as_deref(),
            Some(message),
            "{username:?}"
        );
    }
    // The refused input is shown back escaped, never as markup.
    let r = app
        .signup("<b>x</b>", "someone@example.org", PASSWORD)
        .await;
    assert_shown_as_text(&r.body, "<b>x</b>");
    assert_eq!(
        extract_value(&r.body, "username").map(|v| unescape_html(&v)),
        Some("<b>x</b>".to_string())
    );
    assert_eq!(user_count(&app).await, 0);

    for (i, username) in ["abc", &"a".repeat(32), "A-b_9"].into_iter().enumerate() {
        let r = signup_elsewhere(&app, username, &format!("u{i}@example.org"), PASSWORD).await;
        assert_eq!(
            r.status,
            Status::SeeOther,
            "{username:?} refused: {}",
            r.body
        );
    }
    assert_eq!(user_count(&app).await, 3);
}

#[rocket::async_test]
async fn invalid_emails_are_refused_with_a_message() {
    let app = TestApp::spawn().await;
    let invalid = "Enter a valid email address, like name@example.org.";
    let too_long = format!("{}@example.org", "a".repeat(60) + &".b".repeat(100));
    for (email, message) in [
        ("", "Enter your email address."),
        ("not-an-email", invalid),
        ("alice@", invalid),
        ("@example.org", invalid),
        ("a@b", invalid),
        ("a b@example.org", invalid),
        ("alice@exa mple.org", invalid),
        (too_long.as_str(), "That email address is too long."),
    ] {
        let r = app.signup("alice", email, PASSWORD).await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{email:?}");
        assert_eq!(
            field_error(&r.body, "email").as_deref(),
            Some(message),
            "{email:?}"
        );
    }
    assert_eq!(user_count(&app).await, 0);
}

#[rocket::async_test]
async fn short_long_common_and_personal_passwords_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let too_long = "Ab3-".repeat(32) + "x"; // 129 characters
    assert_eq!(too_long.chars().count(), 129);
    for (password, expected) in [
        ("", "Use at least 8 characters."),
        ("k7#Lq9!", "Use at least 8 characters."),
        (too_long.as_str(), "Use at most 128 characters."),
        ("password1", "commonly used"),
        ("PassWord1", "commonly used"),
        ("qwertyuiop", "commonly used"),
        ("alice-the-great", "must not be your username"),
    ] {
        let r = app
            .signup("alice-the-great", "alice@example.org", password)
            .await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{password:?}");
        let message = field_error(&r.body, "password").unwrap_or_default();
        assert!(
            message.contains(expected),
            "{password:?}: got {message:?}, wanted {expected:?}"
        );
    }
    assert_eq!(user_count(&app).await, 0);
    // Eight characters is enough.
    let r = app.signup("alice", "alice@example.org", "k7#Lq9!z").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

#[rocket::async_test]
async fn passwords_of_64_and_128_characters_are_accepted_and_work() {
    let app = TestApp::spawn().await;
    let p64: String = "Tq8-vWz2".repeat(8);
    let p128: String = "Hn4_Rk7.".repeat(16);
    assert_eq!((p64.chars().count(), p128.chars().count()), (64, 128));
    for (user, password) in [("sixtyfour", &p64), ("onetwentyeight", &p128)] {
        let email = format!("{user}@example.org");
        let r = signup_elsewhere(&app, user, &email, password).await;
        assert_eq!(r.status, Status::SeeOther, "{user}: {}", r.body);
        let (_, r) = login_elsewhere(&app, &email, password).await;
        assert_eq!(r.status, Status::SeeOther, "{user} cannot sign in");
        // One character less is a different password.
        let (_, r) = login_elsewhere(&app, &email, &password[..password.len() - 1]).await;
        assert_eq!(r.status, Status::Unauthorized);
    }
}

#[rocket::async_test]
async fn a_unicode_password_works_for_sign_in() {
    let app = TestApp::spawn().await;
    let password = "Grüße aus Köln 🌧️ — nicht gängig";
    let r = app.signup("koeln", "koeln@example.org", password).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let (_, r) = login_elsewhere(&app, "koeln@example.org", password).await;
    assert_eq!(r.status, Status::SeeOther);
    let (_, r) = login_elsewhere(&app, "koeln@example.org", "Grusse aus Koln").await;
    assert_eq!(r.status, Status::Unauthorized);

    // The limit counts characters, not bytes: 128 two-byte characters fit.
    let wide = "é".repeat(128);
    let r = signup_elsewhere(&app, "wide", "wide@example.org", &wide).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let (_, r) = login_elsewhere(&app, "wide@example.org", &wide).await;
    assert_eq!(r.status, Status::SeeOther);
}

#[rocket::async_test]
async fn a_long_password_is_never_silently_truncated() {
    let app = TestApp::spawn().await;
    let password: String = "Vb6+Jm2;".repeat(13)[..100].to_string();
    assert_eq!(password.len(), 100);
    let r = app.signup("long", "long@example.org", &password).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);

    let (_, r) = login_elsewhere(&app, "long@example.org", &password[..72]).await;
    assert_eq!(
        r.status,
        Status::Unauthorized,
        "first 72 characters accepted"
    );
    assert!(r.body.contains("Incorrect email or password."));
    assert!(r.set_cookie("gw_session").is_none());

    let (_, r) = login_elsewhere(&app, "long@example.org", &password).await;
    assert_eq!(r.status, Status::SeeOther);
}

#[rocket::async_test]
async fn usernames_are_unique_regardless_of_case() {
    let app = TestApp::spawn().await;
    let r = app.signup("Alice", "alice@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let r = signup_elsewhere(&app, "alice", "other@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let message = field_error(&r.body, "username").unwrap_or_default();
    assert!(message.contains("taken"), "{message:?}");
    assert!(r.body.contains("value=\"alice\""));
    assert!(r.body.contains("value=\"other@example.org\""));
    assert_eq!(user_count(&app).await, 1);
}

#[rocket::async_test]
async fn emails_are_unique_after_normalisation() {
    let app = TestApp::spawn().await;
    let r = app.signup("bob", " Bob@Example.ORG ", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    // The form does not say the address is taken (tests/enumeration.rs).
    let r = signup_elsewhere(&app, "bobby", "bob@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(user_count(&app).await, 1);
    let email = stored(&app, "SELECT email FROM users WHERE username = $1", "bob").await;
    assert_eq!(email.as_deref(), Some("bob@example.org"));
    // Signing in works with any spelling of it.
    let (_, r) = login_elsewhere(&app, "  BOB@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
}

#[rocket::async_test]
async fn an_older_password_hash_is_upgraded_at_the_next_sign_in() {
    use argon2::password_hash::rand_core::OsRng;
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Argon2, Params, Version};

    let app = TestApp::spawn().await;
    app.signed_in_user("olduser").await;
    let salt = SaltString::generate(&mut OsRng);
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(8192, 1, 1, None).expect("params"),
    )
    .hash_password(PASSWORD.as_bytes(), &salt)
    .expect("hash")
    .to_string();
    sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
        .bind(&weak)
        .bind("olduser")
        .execute(&app.db.pool)
        .await
        .expect("store weak hash");

    // A wrong password changes nothing.
    let (_, r) = login_elsewhere(&app, "olduser@example.org", "not the password").await;
    assert_eq!(r.status, Status::Unauthorized);
    assert_eq!(password_hash_of(&app, "olduser").await, weak);

    let (_, r) = login_elsewhere(&app, "olduser@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    let upgraded = password_hash_of(&app, "olduser").await;
    assert!(upgraded.starts_with(STRONG_HASH_PREFIX), "{upgraded}");
    let (_, r) = login_elsewhere(&app, "olduser@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
}

#[rocket::async_test]
async fn a_burst_of_parallel_sign_ups_from_one_address_stops_at_the_limit() {
    let app = TestApp::spawn_with(|f| f.merge(("signups_per_address_per_hour", 3))).await;
    let mut ready = Vec::new();
    for i in 0..8 {
        let browser = app.another_browser().await;
        let token = get(&browser, "/signup").await.csrf();
        ready.push((i, browser, token));
    }
    let tasks: Vec<_> = ready
        .into_iter()
        .map(|(i, browser, token)| {
            rocket::tokio::spawn(async move {
                let name = format!("burst{i}");
                let email = format!("burst{i}@example.org");
                let fields = [
                    ("csrf_token", token.as_str()),
                    ("username", &name),
                    ("email", &email),
                    ("password", PASSWORD),
                ];
                post_raw(&browser, "/signup", &fields, &[]).await.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == Status::SeeOther).count();
    let limited = statuses
        .iter()
        .filter(|s| **s == Status::TooManyRequests)
        .count();
    assert_eq!((created, limited), (3, 5), "{statuses:?}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 3);
}
