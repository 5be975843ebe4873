//! Sign-in with GitHub, Google and a generic OpenID Connect provider, run
//! end to end against a fake provider on 127.0.0.1 (tests/common/oauth.rs).
//! Nothing of ours is mocked: the app sends the browser to the provider,
//! the test plays the person there, and the callback comes back to the app.
//! Flows that must fail (bad state, provider errors) are in
//! oauth_failures.rs.

use crate::common;

use common::oauth::{FakeProvider, FakeUser, IdTokenMode};
use common::oauth_flow::*;
use common::{get, TestApp, PASSWORD};
use rocket::http::Status;

// ------------------------------------------------------------- the flow

#[rocket::async_test]
async fn the_authorization_request_carries_state_pkce_and_the_exact_redirect_uri() {
    let (_fake, app) = setup().await;
    let r = get(&app.client, "/auth/github").await;
    assert_eq!(r.status, Status::SeeOther);
    let url = r.location().unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/authorize?", _fake.base)),
        "{url}"
    );
    assert_eq!(query(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(
        query(&url, "client_id").as_deref(),
        Some(common::oauth::GITHUB_ID)
    );
    assert_eq!(
        query(&url, "redirect_uri").as_deref(),
        Some("http://localhost:8000/auth/github/callback")
    );
    assert_eq!(
        query(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(query(&url, "code_challenge").is_some_and(|c| c.len() >= 43));
    assert!(query(&url, "state").is_some_and(|s| s.len() >= 32));
    assert_eq!(
        query(&url, "scope").as_deref(),
        Some("read:user user:email")
    );
    let cookie = r.set_cookie("gw_oauth").expect("the flow cookie");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/auth", "Max-Age="] {
        assert!(cookie.contains(part), "{part} missing: {cookie}");
    }
    // The state and verifier are sealed, not readable in the cookie.
    assert!(!cookie.contains(&query(&url, "state").unwrap()));

    let google = begin(&app.client, "/auth/google").await;
    assert_eq!(
        query(&google, "scope").as_deref(),
        Some("openid email profile")
    );
    assert_eq!(
        query(&google, "redirect_uri").as_deref(),
        Some("http://localhost:8000/auth/google/callback")
    );
    assert_ne!(query(&google, "state"), query(&url, "state"));
}

#[rocket::async_test]
async fn a_new_github_user_gets_an_account_without_a_password() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "Octo@Example.org"));
    let r = sign_in_with(&app.client, "github", "1001").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/"));
    assert!(
        r.set_cookie("gw_session").is_some(),
        "a session was started"
    );
    assert_eq!(whoami(&app.client).await.as_deref(), Some("octocat"));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE password_hash IS NULL")
            .await,
        1
    );
    // The primary verified address, never the verified secondary one.
    assert_eq!(
        app.text("SELECT email FROM users").await.as_deref(),
        Some("octo@example.org")
    );
    assert_eq!(app.scalar("SELECT email_verified FROM users").await, 1);
    assert_eq!(
        app.text("SELECT provider || ':' || provider_user_id FROM identities")
            .await
            .as_deref(),
        Some("github:1001")
    );
    // The profile offers to set a password and lists the connection.
    let profile = get(&app.client, "/profile").await;
    assert!(profile.body.contains("Set a password"));
    assert!(profile.body.contains("connected as octo@example.org"));
}

#[rocket::async_test]
async fn a_returning_user_signs_in_to_the_same_account() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    sign_in_with(&app.client, "github", "1001").await;
    let other = app.another_browser().await;
    let r = sign_in_with(&other, "github", "1001").await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(whoami(&other).await.as_deref(), Some("octocat"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 2);
}

#[rocket::async_test]
async fn starting_the_flow_while_signed_in_connects_instead_of_switching_accounts() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    sign_in_with(&app.client, "github", "1001").await;
    let session = app.text("SELECT token_hash FROM sessions").await;
    let r = sign_in_with(&app.client, "github", "1001").await;
    assert_eq!(r.location(), Some("/profile"));
    assert!(get(&app.client, "/profile")
        .await
        .body
        .contains("already connected"));
    assert_eq!(app.text("SELECT token_hash FROM sessions").await, session);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 1);
}

#[rocket::async_test]
async fn a_taken_username_gets_a_unique_variant() {
    let (fake, app) = setup().await;
    let other = app.another_browser().await;
    common::signup(&other, "octocat", "someone@example.org", PASSWORD).await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    sign_in_with(&app.client, "github", "1001").await;
    assert_eq!(whoami(&app.client).await.as_deref(), Some("octocat2"));
}

#[rocket::async_test]
async fn an_unverified_provider_email_makes_an_unverified_account_and_mails_a_link() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::unverified(
        "2002",
        "Ada Lovelace",
        "ada@example.org",
    ));
    let r = sign_in_with(&app.client, "google", "2002").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        whoami(&app.client).await.as_deref(),
        Some("Ada-Lovelace-Example")
    );
    assert_eq!(app.scalar("SELECT email_verified FROM users").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = 'ada@example.org'")
            .await,
        1
    );
}

#[rocket::async_test]
async fn a_provider_that_gives_no_email_is_explained() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser {
        email: None,
        ..FakeUser::verified("3003", "ghost", "x@example.org")
    });
    let r = sign_in_with(&app.client, "google", "3003").await;
    assert_eq!(r.status, Status::BadRequest);
    assert!(
        r.body.contains("did not tell us an email address"),
        "{}",
        r.body
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
}

// ------------------------------------------------------------- linking

/// A local account with a password; its email verified or not. The
/// returned client is signed out.
async fn local_account(app: &TestApp, username: &str, verified: bool) -> String {
    let browser = app.another_browser().await;
    let email = format!("{username}@example.org");
    let r = common::signup(&browser, username, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
    if verified {
        app.exec(&format!(
            "UPDATE users SET email_verified = 1 WHERE username = '{username}'"
        ))
        .await;
    }
    email
}

/// Mark `username`'s address as confirmed (as the mailed link would).
async fn confirm_address(app: &TestApp, username: &str) {
    app.exec(&format!(
        "UPDATE users SET email_verified = 1 WHERE username = '{username}'"
    ))
    .await;
}

#[rocket::async_test]
async fn a_verified_email_on_both_sides_links_to_the_existing_account() {
    let (fake, app) = setup().await;
    let email = local_account(&app, "grace", true).await;
    fake.add_user(FakeUser::verified("4004", "ghopper", &email));
    let r = sign_in_with(&app.client, "google", "4004").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(whoami(&app.client).await.as_deref(), Some("grace"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM identities i JOIN users u ON u.id = i.user_id WHERE u.username = 'grace'").await,
        1
    );
}

#[rocket::async_test]
async fn an_unverified_provider_email_is_not_linked() {
    let (fake, app) = setup().await;
    let email = local_account(&app, "grace", true).await;
    fake.add_user(FakeUser::unverified("4004", "ghopper", &email));
    let r = sign_in_with(&app.client, "github", "4004").await;
    assert_eq!(r.status, Status::Conflict);
    assert!(r.body.contains("sign in with your password"), "{}", r.body);
    assert!(r.body.contains("profile page"));
    assert!(r.set_cookie("gw_session").is_none());
    assert_eq!(whoami(&app.client).await, None);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);
}

#[rocket::async_test]
async fn an_unverified_local_email_is_not_linked() {
    let (fake, app) = setup().await;
    let email = local_account(&app, "grace", false).await;
    fake.add_user(FakeUser::verified("4004", "ghopper", &email));
    let r = sign_in_with(&app.client, "google", "4004").await;
    assert_eq!(r.status, Status::Conflict);
    assert!(r.body.contains("sign in with your password"), "{}", r.body);
    assert_eq!(whoami(&app.client).await, None);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 0);
}

#[rocket::async_test]
async fn connecting_from_the_profile_links_the_signed_in_account() {
    let (fake, app) = setup().await;
    // The addresses differ and the provider's is not verified: the person
    // proved both by being signed in here and at the provider. (Their own
    // address must be confirmed: tests/oauth_security.rs.)
    app.signed_in_user("grace").await;
    confirm_address(&app, "grace").await;
    fake.add_user(FakeUser::unverified("4004", "ghopper", "other@example.net"));
    let profile = get(&app.client, "/profile").await;
    assert!(
        profile.body.contains("href=\"/auth/github\""),
        "connect link"
    );
    let r = sign_in_with(&app.client, "github", "4004").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), Some("/profile"));
    assert_eq!(whoami(&app.client).await.as_deref(), Some("grace"));
    assert!(get(&app.client, "/profile")
        .await
        .body
        .contains("Disconnect GitHub"));
    // Signing in with GitHub in another browser now reaches grace.
    let other = app.another_browser().await;
    sign_in_with(&other, "github", "4004").await;
    assert_eq!(whoami(&other).await.as_deref(), Some("grace"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);
}

#[rocket::async_test]
async fn a_provider_account_linked_elsewhere_cannot_be_connected_again() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let other = app.another_browser().await;
    sign_in_with(&other, "github", "1001").await;
    app.signed_in_user("grace").await;
    confirm_address(&app, "grace").await;
    let r = sign_in_with(&app.client, "github", "1001").await;
    assert_eq!(r.status, Status::SeeOther);
    let profile = get(&app.client, "/profile").await;
    assert!(
        profile
            .body
            .contains("already connected to another account"),
        "{}",
        profile.body
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM identities i JOIN users u ON u.id = i.user_id WHERE u.username = 'octocat'").await,
        1
    );
}

#[rocket::async_test]
async fn the_token_endpoint_sees_our_secret_and_pkce_verifier() {
    // With the wrong secret configured the fake refuses the exchange: so
    // the successful flows above really did authenticate and send PKCE.
    let fake = FakeProvider::start().await;
    let app = TestApp::spawn_with(|f| {
        fake.configure(f)
            .merge(("oauth.github.client_secret", "wrong"))
    })
    .await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let r = sign_in_with(&app.client, "github", "1001").await;
    assert_eq!(r.status, Status::BadGateway);
    assert_eq!(fake.refusals(), vec!["invalid_client".to_string()]);
    let ok = TestApp::spawn_with(|f| fake.configure(f)).await;
    assert_eq!(
        sign_in_with(&ok.client, "github", "1001").await.status,
        Status::SeeOther
    );
    assert_eq!(
        fake.refusals().len(),
        1,
        "secret, redirect URI and PKCE verifier accepted"
    );
}

// ------------------------------------------------------------- disconnecting

#[rocket::async_test]
async fn the_last_way_to_sign_in_cannot_be_disconnected() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    fake.add_user(FakeUser::verified(
        "2002",
        "octo-google",
        "octo@example.org",
    ));
    sign_in_with(&app.client, "github", "1001").await;
    let profile = get(&app.client, "/profile").await;
    assert!(profile.body.contains("This is your only way to sign in"));
    let r = app.submit("/profile", "/auth/github/disconnect", &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 1);
    assert!(get(&app.client, "/profile")
        .await
        .body
        .contains("cannot be disconnected"));

    // With a second provider connected, one of the two may go, not both.
    sign_in_with(&app.client, "google", "2002").await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 2);
    app.submit("/profile", "/auth/github/disconnect", &[]).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 1);
    app.submit("/profile", "/auth/google/disconnect", &[]).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 1);
}

#[rocket::async_test]
async fn a_connection_can_be_removed_once_a_password_exists() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    sign_in_with(&app.client, "github", "1001").await;
    let r = app
        .submit(
            "/profile",
            "/account/password",
            &[("new_password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let r = app.submit("/profile", "/auth/github/disconnect", &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 0);
    // And the password now signs in.
    let other = app.another_browser().await;
    let r = common::login(&other, "octo@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther);
}

#[rocket::async_test]
async fn disconnecting_needs_the_csrf_token() {
    let (fake, app) = setup().await;
    app.signed_in_user("grace").await;
    confirm_address(&app, "grace").await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    sign_in_with(&app.client, "github", "1001").await;
    let r = app.post_raw("/auth/github/disconnect", &[]).await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 1);
}

// ------------------------------------------------------------- configuration

#[rocket::async_test]
async fn only_configured_providers_are_offered() {
    let app = TestApp::spawn().await;
    let login = get(&app.client, "/login").await;
    // ("Sign in with a passkey" is no provider.)
    assert!(!login.body.contains("oauth-buttons"), "{}", login.body);
    for name in ["GitHub", "Google", "OpenID"] {
        assert!(!login.body.contains(&format!("Sign in with {name}")));
    }
    assert_eq!(
        get(&app.client, "/auth/github").await.status,
        Status::NotFound
    );

    let fake = FakeProvider::start().await;
    let only_github = TestApp::spawn_with(|f| {
        f.merge(("oauth.github.client_id", "gh"))
            .merge(("oauth.github.client_secret", "s"))
            .merge(("oauth.github.auth_url", format!("{}/authorize", fake.base)))
    })
    .await;
    let login = get(&only_github.client, "/login").await;
    assert!(login.body.contains("Sign in with GitHub"));
    assert!(!login.body.contains("Sign in with Google"));
    assert!(!login.body.contains("Example SSO"));
    assert_eq!(
        get(&only_github.client, "/auth/google").await.status,
        Status::NotFound
    );

    let (_fake, all) = setup().await;
    let login = get(&all.client, "/login").await;
    for name in ["GitHub", "Google", "Example SSO"] {
        assert!(
            login.body.contains(&format!("Sign in with {name}")),
            "{name}"
        );
    }
}

// ------------------------------------------------------------- OpenID Connect

#[rocket::async_test]
async fn a_generic_oidc_provider_signs_in_with_a_verified_id_token() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("sub-5005", "kc-user", "kc@example.org"));
    let url = begin(&app.client, "/auth/oidc").await;
    assert!(query(&url, "nonce").is_some_and(|n| n.len() >= 32));
    assert_eq!(
        query(&url, "scope").as_deref(),
        Some("openid email profile")
    );
    assert_eq!(
        query(&url, "redirect_uri").as_deref(),
        Some("http://localhost:8000/auth/oidc/callback")
    );
    let callback = at_provider(&url, "login_as=sub-5005").await;
    let r = get(&app.client, &callback).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(whoami(&app.client).await.as_deref(), Some("kc-user"));
    assert_eq!(app.scalar("SELECT email_verified FROM users").await, 1);
    assert_eq!(
        app.text("SELECT provider_user_id FROM identities WHERE provider = 'oidc'")
            .await
            .as_deref(),
        Some("sub-5005")
    );
}

#[rocket::async_test]
async fn oidc_id_tokens_that_fail_verification_are_refused() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("sub-5005", "kc-user", "kc@example.org"));
    for mode in [
        IdTokenMode::BadSignature,
        IdTokenMode::WrongAudience,
        IdTokenMode::WrongNonce,
        IdTokenMode::WrongIssuer,
        IdTokenMode::Expired,
    ] {
        fake.set_id_token_mode(mode);
        let browser = app.another_browser().await;
        let r = sign_in_with(&browser, "oidc", "sub-5005").await;
        assert_eq!(r.status, Status::BadGateway, "{mode:?}");
        assert!(
            r.body.contains("Example SSO did not answer as expected"),
            "{mode:?}"
        );
        assert_no_internals(&r);
        assert!(r.set_cookie("gw_session").is_none(), "{mode:?}");
        assert_eq!(whoami(&browser).await, None, "{mode:?}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
    fake.set_id_token_mode(IdTokenMode::Good);
    let r = sign_in_with(&app.client, "oidc", "sub-5005").await;
    assert_eq!(r.status, Status::SeeOther);
}
