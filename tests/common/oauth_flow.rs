//! Going through OAuth sign-in as a person would: our site, the fake
//! provider (oauth.rs beside this file), and back, for tests/oauth*.rs.

use rocket::http::Status;
use rocket::local::asynchronous::Client;

use super::oauth::FakeProvider;
use super::{get, Resp, TestApp};

/// The app's default base_url: every redirect URI starts with it.
pub const ORIGIN: &str = "http://localhost:8000";

/// The fake provider and an app configured for it.
pub async fn setup() -> (FakeProvider, TestApp) {
    let fake = FakeProvider::start().await;
    let app = TestApp::spawn_with(|f| fake.configure(f)).await;
    (fake, app)
}

/// `GET /auth/...`: the provider's authorization URL it redirects to.
pub async fn begin(client: &Client, path: &str) -> String {
    let r = get(client, path).await;
    assert_eq!(r.status, Status::SeeOther, "{path}: {}", r.body);
    r.location().expect("a redirect").to_string()
}

/// The value of `key` in `url`'s query string.
pub fn query(url: &str, key: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Play the person at the provider (`login_as=<id>` or `deny=1`); returns
/// the path on our site the provider sends the browser back to.
pub async fn at_provider(authorize_url: &str, extra: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = http
        .get(format!("{authorize_url}&{extra}"))
        .send()
        .await
        .expect("the fake provider answers");
    assert_eq!(r.status().as_u16(), 303, "the provider refused the request");
    let location = r.headers()["location"].to_str().expect("ascii").to_string();
    location
        .strip_prefix(ORIGIN)
        .expect("back to our exact redirect URI")
        .to_string()
}

/// The whole flow in `client`'s browser; returns the callback's response.
pub async fn sign_in_with(client: &Client, provider: &str, user_id: &str) -> Resp {
    let url = begin(client, &format!("/auth/{provider}")).await;
    let callback = at_provider(&url, &format!("login_as={user_id}")).await;
    get(client, &callback).await
}

/// Who `client` is signed in as, if anyone.
pub async fn whoami(client: &Client) -> Option<String> {
    let r = get(client, "/profile").await;
    if r.status != Status::Ok {
        return None;
    }
    let at = r.body.find("Signed in as <strong>")? + "Signed in as <strong>".len();
    let end = r.body[at..].find('<')?;
    Some(r.body[at..at + end].to_string())
}

/// A page about a failed sign-in that shows nothing of how we or the
/// provider are built.
pub fn assert_no_internals(r: &Resp) {
    for leak in [
        "panicked",
        "sqlx",
        "reqwest",
        "RequestTokenError",
        "Internal error</html>",
        "127.0.0.1",
    ] {
        assert!(!r.body.contains(leak), "page shows {leak:?}: {}", r.body);
    }
}
