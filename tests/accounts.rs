//! Accounts: sign-up, validation, the profile, password change and account
//! deletion, as a person using the site would see them.
mod common;
use common::html::unescape_html as unescape;
use common::*;

use rocket::http::Status;
use rocket::local::asynchronous::Client;

/// The PHC prefix of an argon2id hash at the OWASP parameters.
const STRONG_HASH_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// The text of the message shown beside `field` (`<p id="FIELD-error">`).
fn field_error(body: &str, field: &str) -> Option<String> {
    let marker = format!("id=\"{field}-error\">");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find("</p>")?;
    Some(unescape(&body[start..start + end]))
}

/// `text` appears in `body` only as escaped text: a browser shows it, but
/// never reads it as markup.
fn assert_shown_as_text(body: &str, text: &str) {
    assert!(!body.contains(text), "{text:?} sent unescaped");
    assert!(unescape(body).contains(text), "{text:?} not shown");
}

/// Sign up from a browser of its own (the default one may be signed in).
async fn signup_elsewhere(app: &TestApp, username: &str, email: &str, password: &str) -> Resp {
    let browser = app.another_browser().await;
    signup(&browser, username, email, password).await
}

/// Sign in from a browser of its own; returns the browser and the response.
async fn login_elsewhere(app: &TestApp, email: &str, password: &str) -> (Client, Resp) {
    let browser = app.another_browser().await;
    let r = login(&browser, email, password).await;
    (browser, r)
}

/// The profile form exactly as a browser sends it: `_method=put` first
/// (Rocket only honours the override as the first field), then the token.
async fn update_profile(client: &Client, fields: &[(&str, &str)]) -> Resp {
    let token = get(client, "/profile").await.csrf();
    assert!(!token.is_empty(), "no CSRF token on /profile");
    let mut all = vec![("_method", "put"), ("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    post_raw(client, "/update-profile", &all, &[]).await
}

/// One stored string, looked up by a bound value.
async fn stored(app: &TestApp, sql: &str, key: &str) -> Option<String> {
    sqlx::query_scalar(sql)
        .bind(key)
        .fetch_optional(&app.db.pool)
        .await
        .expect(sql)
}

async fn password_hash_of(app: &TestApp, username: &str) -> String {
    stored(
        app,
        "SELECT password_hash FROM users WHERE username = $1",
        username,
    )
    .await
    .expect("user exists")
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

async fn user_count(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM users").await
}

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
        extract_value(&r.body, "username").map(|v| unescape(&v)),
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
    let r = signup_elsewhere(&app, "bobby", "bob@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let message = field_error(&r.body, "email").unwrap_or_default();
    assert!(message.contains("already exists"), "{message:?}");
    assert_eq!(field_error(&r.body, "username"), None);
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
        assert!(unescape(body).contains(&format!(">{payload}</textarea>")));
        // The quote cannot end the value attribute early.
        let value = extract_value(body, "display_name").unwrap_or_default();
        assert_eq!(unescape(&value), payload);
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
    let shown = unescape(&page.body);
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
