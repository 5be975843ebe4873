//! Security issue #13 (items 5, 6 and 15), end to end against the fake
//! provider: connecting a provider needs a confirmed address, and
//! confirming or resetting an address drops identities linked before it;
//! passwordless accounts confirm sensitive changes with a fresh sign-in at
//! their provider; OpenID Connect identities are keyed by issuer.

mod common;

use common::oauth::{setup, sign_in_with, whoami, FakeProvider, FakeUser};
use common::TestApp;
use rocket::http::Status;
use rocket::local::asynchronous::Client;

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
