//! Security issue #13 (items 5, 6 and 15), end to end against the fake
//! provider: connecting a provider needs a confirmed address, and
//! confirming or resetting an address drops identities linked before it;
//! passwordless accounts confirm sensitive changes with a fresh sign-in at
//! their provider; OpenID Connect identities are keyed by issuer.

use crate::common;

use common::json_api::ApiRequest;
use common::oauth::{FakeProvider, FakeUser};
use common::oauth_flow::{at_provider, begin, setup, sign_in_with, whoami};
use common::{get, signup, TestApp, PASSWORD};
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

/// The path (starting with `prefix`) of the newest link in a queued mail
/// (`template`) to `to`.
///
/// Some mails are queued by a job after the answer (a reset link): wait
/// until no such job is waiting, a few seconds at most, then read the
/// latest mail.
async fn mailed_link(app: &TestApp, to: &str, template: &str, prefix: &str) -> String {
    let pending = "SELECT COUNT(*) FROM jobs WHERE kind = 'password_reset' \
                   AND state IN ('queued', 'running')";
    for _ in 0..100 {
        if app.scalar(pending).await == 0 {
            break;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let body = app
        .text(&format!(
            "SELECT text_body FROM outbox WHERE to_addr = '{to}' AND template = '{template}' \
             ORDER BY id DESC LIMIT 1"
        ))
        .await;
    let body = body.expect("a mail");
    let link = format!("http://localhost:8000{prefix}");
    let at = body.find(&link).expect("the link") + link.len() - prefix.len();
    body[at..].split_whitespace().next().unwrap().to_string()
}

/// The mail `template` queued to `to`, if any.
async fn mail_to(app: &TestApp, to: &str, template: &str) -> Option<String> {
    let n = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM outbox WHERE to_addr = '{to}' AND template = '{template}'"
        ))
        .await;
    if n == 0 {
        return None;
    }
    app.text(&format!(
        "SELECT text_body FROM outbox WHERE to_addr = '{to}' AND template = '{template}'"
    ))
    .await
}

/// What `client`'s profile page shows (with any message just flashed).
async fn profile(client: &Client) -> String {
    get(client, "/profile").await.body
}

fn identities_of(username: &str) -> String {
    format!(
        "SELECT COUNT(*) FROM identities i JOIN users u ON u.id = i.user_id \
         WHERE u.username = '{username}'"
    )
}

/// Make every session's last proof of who it is an hour old.
async fn age_proofs(app: &TestApp) {
    app.exec("UPDATE sessions SET reauth_at = reauth_at - 3600")
        .await;
}

/// A browser talking to another app process on the same database, with
/// the OpenID Connect issuer switched to `fake` (and `extra` settings).
async fn browser_with_issuer(app: &TestApp, fake: &FakeProvider, extra: &[(&str, &str)]) -> Client {
    let mut figment = fake.configure(app.figment());
    for (k, v) in extra {
        figment = figment.merge((*k, *v));
    }
    Client::tracked(groundwork::build(figment))
        .await
        .expect("the app starts")
}

// ------------------------------------------------------------- 15: issuers

#[rocket::async_test]
async fn the_same_subject_from_another_issuer_does_not_sign_into_the_first_account() {
    let (first, app) = setup().await;
    first.add_user(FakeUser::verified("sub-7", "alice", "alice@example.org"));
    let r = sign_in_with(&app.client, "oidc", "sub-7").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(whoami(&app.client).await.as_deref(), Some("alice"));

    // The operator points oauth.oidc at another provider, whose user
    // "sub-7" is somebody else.
    let second = FakeProvider::start().await;
    second.add_user(FakeUser::verified(
        "sub-7",
        "mallory",
        "mallory@example.net",
    ));
    let browser = browser_with_issuer(&app, &second, &[]).await;
    let r = sign_in_with(&browser, "oidc", "sub-7").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(whoami(&browser).await.as_deref(), Some("mallory"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 2);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM identities i JOIN users u ON u.id = i.user_id \
             WHERE u.username = 'alice'"
        )
        .await,
        1
    );
    assert_eq!(
        app.text("SELECT issuer FROM identities i JOIN users u ON u.id = i.user_id WHERE u.username = 'alice'")
            .await
            .as_deref(),
        Some(first.base.as_str())
    );
}

#[rocket::async_test]
async fn an_identity_stored_without_an_issuer_is_matched_only_by_the_legacy_issuer() {
    let (first, app) = setup().await;
    first.add_user(FakeUser::verified("sub-7", "alice", "alice@example.org"));
    sign_in_with(&app.client, "oidc", "sub-7").await;
    // As a row stored before issuers were recorded looks.
    app.exec("UPDATE identities SET issuer = ''").await;

    // Another issuer's "sub-7" never reaches it, even while the first
    // issuer is named as the one old rows came from.
    let second = FakeProvider::start().await;
    second.add_user(FakeUser::verified(
        "sub-7",
        "mallory",
        "mallory@example.net",
    ));
    let browser =
        browser_with_issuer(&app, &second, &[("oauth.oidc.legacy_issuer", &first.base)]).await;
    sign_in_with(&browser, "oidc", "sub-7").await;
    assert_eq!(whoami(&browser).await.as_deref(), Some("mallory"));

    // Without oauth.oidc.legacy_issuer, not even the first issuer matches
    // it: with its verified address on both sides, alice is linked anew.
    let browser = browser_with_issuer(&app, &first, &[]).await;
    sign_in_with(&browser, "oidc", "sub-7").await;
    assert_eq!(whoami(&browser).await.as_deref(), Some("alice"));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM identities WHERE issuer = ''")
            .await,
        1
    );
    app.exec(&format!(
        "DELETE FROM identities WHERE issuer = '{}'",
        first.base
    ))
    .await;

    // Named as the legacy issuer, the first issuer claims the old row.
    let legacy = format!("{}/", first.base);
    let browser = browser_with_issuer(&app, &first, &[("oauth.oidc.legacy_issuer", &legacy)]).await;
    let r = sign_in_with(&browser, "oidc", "sub-7").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(whoami(&browser).await.as_deref(), Some("alice"));
    assert_eq!(
        app.text("SELECT issuer FROM identities WHERE provider_user_id = 'sub-7' AND user_id = (SELECT id FROM users WHERE username = 'alice')")
            .await
            .as_deref(),
        Some(first.base.as_str())
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 2);
}

// ------------------------------------------------------------- 5: takeover

#[rocket::async_test]
async fn connecting_a_provider_waits_until_the_address_is_confirmed() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    app.signed_in_user("grace").await;
    let page = profile(&app.client).await;
    assert!(!page.contains("href=\"/auth/github\""), "{page}");
    assert!(page.contains("Confirm your email address to connect GitHub"));

    // Following the link anyway: refused before the trip to GitHub.
    let r = get(&app.client, "/auth/github").await;
    assert_eq!(r.location(), Some("/profile"));
    assert!(r.set_cookie("gw_oauth").is_none());
    let page = profile(&app.client).await;
    assert!(
        page.contains("Confirm your email address before connecting GitHub"),
        "{page}"
    );
    assert!(page.contains("Nothing was connected."));

    // Confirmed when the flow started, no longer when it came back: refused.
    let confirmed = |v: i64| format!("UPDATE users SET email_verified = {v}");
    app.exec(&confirmed(1)).await;
    let url = begin(&app.client, "/auth/github").await;
    app.exec(&confirmed(0)).await;
    let callback = at_provider(&url, "login_as=1001").await;
    let r = get(&app.client, &callback).await;
    assert_eq!(r.location(), Some("/profile"));
    assert!(profile(&app.client)
        .await
        .contains("Confirm your email address before connecting GitHub"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 0);

    // Once the address is confirmed, GitHub connects.
    app.exec(&confirmed(1)).await;
    sign_in_with(&app.client, "github", "1001").await;
    assert_eq!(app.scalar(&identities_of("grace")).await, 1);
}

#[rocket::async_test]
async fn a_takeover_prepared_with_someone_s_address_ends_with_the_owner_s_password_reset() {
    let (fake, app) = setup().await;
    // Mallory signs up with Alice's address and a password of her own, and
    // tries to connect her GitHub account from the profile: refused.
    let mallory = app.another_browser().await;
    signup(&mallory, "alice", "alice@example.org", PASSWORD).await;
    fake.add_user(FakeUser::verified("666", "mallory", "mallory@example.net"));
    let r = get(&mallory, "/auth/github").await;
    assert_eq!(r.location(), Some("/profile"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 0);

    // The other way to pre-link: a GitHub account whose (unverified)
    // primary address is Bob's makes an unconfirmed account of its own.
    let gh = app.another_browser().await;
    fake.add_user(FakeUser::unverified("667", "bob", "bob@example.org"));
    sign_in_with(&gh, "github", "667").await;
    assert_eq!(whoami(&gh).await.as_deref(), Some("bob"));

    // Alice and Bob claim their addresses with "forgot password".
    for email in ["alice@example.org", "bob@example.org"] {
        let owner = app.another_browser().await;
        let fields = [("email", email)];
        common::submit(&owner, "/password/forgot", "/password/forgot", &fields).await;
        let path = mailed_link(&app, email, "password_reset", "/password/reset/").await;
        let fields = [("new_password", "the owner's own passphrase")];
        let done = common::submit(&owner, &path, &path, &fields).await;
        assert_eq!(done.location(), Some("/login"), "{}", done.body);
        let page = get(&owner, "/login").await.body;
        assert!(page.contains("Your password has been reset"), "{page}");
    }
    let r = common::login(&app.client, "bob@example.org", "the owner's own passphrase").await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(whoami(&app.client).await.as_deref(), Some("bob"));

    // Mallory's GitHub account no longer enters Bob's account, and her
    // sessions in both accounts ended with the resets.
    let later = app.another_browser().await;
    let r = sign_in_with(&later, "github", "667").await;
    assert_eq!(r.status, Status::Conflict, "{}", r.body);
    assert_eq!(whoami(&later).await, None);
    assert_eq!(whoami(&gh).await, None);
    assert_eq!(whoami(&mallory).await, None);
    assert_eq!(app.scalar(&identities_of("bob")).await, 0);
    let notice = mail_to(&app, "bob@example.org", "identities_dropped")
        .await
        .expect("a notice");
    assert!(notice.contains("- GitHub (as bob@example.org)"), "{notice}");
    assert!(notice.contains("we disconnected them"));
    // Nothing was connected to Alice's account: nothing to report.
    assert_eq!(
        mail_to(&app, "alice@example.org", "identities_dropped").await,
        None
    );
}

#[rocket::async_test]
async fn identities_linked_before_the_address_was_confirmed_are_dropped_by_the_link() {
    let (fake, app) = setup().await;
    let mallory = app.another_browser().await;
    signup(&mallory, "alice", "alice@example.org", PASSWORD).await;
    // As links made before connecting needed a confirmed address.
    app.exec(
        "INSERT INTO identities (user_id, provider, issuer, provider_user_id, email, created_at) \
         SELECT id, 'github', '', '666', 'mallory@example.net', 1 FROM users \
         UNION ALL SELECT id, 'google', '', 'g-666', '', 1 FROM users",
    )
    .await;
    fake.add_user(FakeUser::verified("666", "mallory", "mallory@example.net"));
    let before = app.another_browser().await;
    sign_in_with(&before, "github", "666").await;
    assert_eq!(whoami(&before).await.as_deref(), Some("alice"), "linked");

    // Alice opens the confirmation link sent at sign-up.
    let path = mailed_link(&app, "alice@example.org", "verify_email", "/verify-email/").await;
    let owner = app.another_browser().await;
    let r = common::submit(&owner, &path, &path, &[]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let home = get(&owner, "/").await.body;
    assert!(home.contains("your email address is confirmed"), "{home}");
    assert!(
        home.contains("GitHub and Google had been connected to your account before"),
        "{home}"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 0);
    let notice = mail_to(&app, "alice@example.org", "identities_dropped")
        .await
        .expect("a notice");
    assert!(
        notice.contains("- GitHub (as mallory@example.net)"),
        "{notice}"
    );
    assert!(notice.contains("- Google\n"), "{notice}");

    // GitHub now makes Mallory an account of her own.
    let after = app.another_browser().await;
    sign_in_with(&after, "github", "666").await;
    assert_eq!(whoami(&after).await.as_deref(), Some("mallory"));

    // Connected after the address was confirmed, an identity stays through
    // a later reset.
    common::login(&owner, "alice@example.org", PASSWORD).await;
    fake.add_user(FakeUser::verified("7", "alice-gh", "alice@example.org"));
    sign_in_with(&owner, "github", "7").await;
    assert_eq!(app.scalar(&identities_of("alice")).await, 1);
    common::submit(
        &owner,
        "/password/forgot",
        "/password/forgot",
        &[("email", "alice@example.org")],
    )
    .await;
    let path = mailed_link(
        &app,
        "alice@example.org",
        "password_reset",
        "/password/reset/",
    )
    .await;
    let fields = [("new_password", "another good passphrase")];
    let r = common::submit(&owner, &path, &path, &fields).await;
    assert_eq!(r.location(), Some("/login"));
    assert_eq!(app.scalar(&identities_of("alice")).await, 1);
}

// ------------------------------------------------------------- 6: re-authentication

#[rocket::async_test]
async fn a_passwordless_account_confirms_sensitive_changes_with_a_fresh_sign_in() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    fake.add_user(FakeUser::verified("2002", "octo-g", "octo@example.org"));
    sign_in_with(&app.client, "github", "1001").await;
    // Just signed in: connecting Google is allowed at once.
    sign_in_with(&app.client, "google", "2002").await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 2);
    age_proofs(&app).await;

    let page = profile(&app.client).await;
    assert!(page.contains("href=\"/auth/github/reauth\""), "{page}");
    assert!(page.contains("Confirm with GitHub"));
    // A first password, a new address, disconnecting, connecting, deleting:
    // each refused with what to do, nothing changed.
    let r = app
        .submit(
            "/profile",
            "/account/password",
            &[("new_password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(
        r.body
            .contains("To set a password, first confirm it is you"),
        "{}",
        r.body
    );
    let r = app
        .submit(
            "/profile",
            "/account/email",
            &[("new_email", "new@example.org")],
        )
        .await;
    assert_eq!(r.location(), Some("/profile"));
    assert!(profile(&app.client)
        .await
        .contains("To change your email address to new@example.org, first confirm it is you"));
    app.submit("/profile", "/auth/google/disconnect", &[]).await;
    assert!(profile(&app.client)
        .await
        .contains("To disconnect Google, first confirm it is you"));
    let r = get(&app.client, "/auth/oidc").await;
    assert_eq!(r.location(), Some("/profile"));
    assert!(profile(&app.client)
        .await
        .contains("To connect Example SSO, first confirm it is you"));
    let r = app.submit("/profile", "/account/delete", &[]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Your account has not been deleted."));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE password_hash IS NULL")
            .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 2);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = 'new@example.org'")
            .await,
        0
    );

    // "Confirm with GitHub" runs the flow and comes back to the profile.
    let url = begin(&app.client, "/auth/github/reauth").await;
    let r = get(&app.client, &at_provider(&url, "login_as=1001").await).await;
    assert_eq!(r.location(), Some("/profile"));
    assert!(profile(&app.client)
        .await
        .contains("you confirmed it is you with GitHub"));
    app.submit("/profile", "/auth/google/disconnect", &[]).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM identities").await, 1);
    app.submit(
        "/profile",
        "/account/email",
        &[("new_email", "new@example.org")],
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE to_addr = 'new@example.org'")
            .await,
        1
    );
    let r = app
        .submit(
            "/profile",
            "/account/password",
            &[("new_password", PASSWORD)],
        )
        .await;
    assert_eq!(r.location(), Some("/profile"), "{}", r.body);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE password_hash IS NULL")
            .await,
        0
    );
}

#[rocket::async_test]
async fn only_a_connected_account_confirms_and_only_for_a_few_minutes() {
    let (fake, app) = setup().await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    fake.add_user(FakeUser::verified("666", "mallory", "mallory@example.net"));
    sign_in_with(&app.client, "github", "1001").await;
    age_proofs(&app).await;

    // Another GitHub account cannot confirm: nothing recorded, no account made.
    let url = begin(&app.client, "/auth/github/reauth").await;
    get(&app.client, &at_provider(&url, "login_as=666").await).await;
    assert!(profile(&app.client)
        .await
        .contains("is not the one connected to your account"));
    let r = app.submit("/profile", "/account/delete", &[]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);

    // The connected one does, until the proof is too old.
    let url = begin(&app.client, "/auth/github/reauth").await;
    get(&app.client, &at_provider(&url, "login_as=1001").await).await;
    app.exec("UPDATE sessions SET reauth_at = reauth_at - 301")
        .await;
    let r = app.submit("/profile", "/account/delete", &[]).await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let url = begin(&app.client, "/auth/github/reauth").await;
    get(&app.client, &at_provider(&url, "login_as=1001").await).await;
    let r = app.submit("/profile", "/account/delete", &[]).await;
    assert_eq!(r.location(), Some("/"), "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
}

#[rocket::async_test]
async fn deleting_one_s_own_account_through_the_api_needs_the_password() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let id = app.scalar("SELECT id FROM users").await;
    let login = json!({"email": "alice@example.org", "password": PASSWORD}).to_string();
    let r = ApiRequest::new(&app.client, Method::Post, "/login")
        .json(&login)
        .send()
        .await;
    let token = r.json()["token"].as_str().expect("a token").to_string();
    let uri = format!("/user/{id}");
    let delete = |body: Option<String>| {
        let (client, uri, token) = (&app.client, uri.clone(), token.clone());
        async move {
            let req = ApiRequest::new(client, Method::Delete, &uri).token(&token);
            match body {
                Some(body) => req.json(&body).send().await,
                None => req.send().await,
            }
        }
    };

    let r = delete(None).await;
    assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
    assert_eq!(
        r.json()["fields"]["password"],
        "Give your password to delete your account."
    );
    let r = delete(Some(json!({"password": "not it at all"}).to_string())).await;
    assert_eq!(r.status, Status::Forbidden, "{}", r.body);
    assert_eq!(r.json()["error"], "wrong_password");
    let r = delete(Some("{\"password\": ".into())).await;
    assert_eq!(r.status, Status::BadRequest, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 1);

    let r = delete(Some(json!({"password": PASSWORD}).to_string())).await;
    assert_eq!(r.status, Status::NoContent, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 0);
}
