//! Security issue #13 (items 5, 6 and 15), end to end against the fake
//! provider: connecting a provider needs a confirmed address, and
//! confirming or resetting an address drops identities linked before it;
//! passwordless accounts confirm sensitive changes with a fresh sign-in at
//! their provider; OpenID Connect identities are keyed by issuer.

mod common;

use common::oauth::{setup, sign_in_with, whoami, FakeProvider, FakeUser};
use common::{api, TestApp, PASSWORD};
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

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

// ------------------------------------------------------------- 6: the API

#[rocket::async_test]
async fn deleting_one_s_own_account_through_the_api_needs_the_password() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let id = app.scalar("SELECT id FROM users").await;
    let login = json!({"email": "alice@example.org", "password": PASSWORD}).to_string();
    let r = api(&app.client, Method::Post, "/login", None, Some(&login), &[]).await;
    let token = r.json()["token"].as_str().expect("a token").to_string();
    let uri = format!("/user/{id}");
    let delete = |body: Option<String>| {
        let (client, uri, token) = (&app.client, uri.clone(), token.clone());
        async move {
            api(
                client,
                Method::Delete,
                &uri,
                Some(&token),
                body.as_deref(),
                &[],
            )
            .await
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
