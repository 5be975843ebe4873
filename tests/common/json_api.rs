//! Requests to the JSON API, built up step by step:
//! `app.api(Method::Post, "/login").json(&body).send().await`, or
//! `ApiRequest::new(&browser, ...)` from another browser; and the helpers
//! API tests share (tokens, `/me`, the error shape).

use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalRequest};
use serde_json::json;

use super::{signup, Resp, TestApp, PASSWORD};

/// One JSON API request being built; `send` dispatches it.
pub struct ApiRequest<'c> {
    req: LocalRequest<'c>,
}

impl<'c> ApiRequest<'c> {
    /// `method` on `uri` from `client`, asking for JSON.
    pub fn new(client: &'c Client, method: Method, uri: &str) -> Self {
        let req = client
            .req(method, uri.to_string())
            .header(Header::new("Accept", "application/json"));
        ApiRequest { req }
    }

    /// Authorize with the bearer `token`.
    pub fn token(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    /// Send `body` as `application/json`.
    pub fn json(self, body: &str) -> Self {
        ApiRequest {
            req: self.req.header(ContentType::JSON).body(body),
        }
    }

    /// Add a request header.
    pub fn header(self, name: &str, value: &str) -> Self {
        ApiRequest {
            req: self
                .req
                .header(Header::new(name.to_string(), value.to_string())),
        }
    }

    /// Dispatch and read the whole response.
    pub async fn send(self) -> Resp {
        Resp::read(self.req.dispatch().await).await
    }
}

impl TestApp {
    /// A JSON API request from the default browser.
    pub fn api(&self, method: Method, uri: &str) -> ApiRequest<'_> {
        ApiRequest::new(&self.client, method, uri)
    }
}

impl Resp {
    /// The body parsed as JSON (`null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Sign `username` up through the form (in its own browser), optionally as
/// an admin, and get a token for them through `POST /login`.
pub async fn user_with_token(app: &TestApp, username: &str, admin: bool) -> (i64, String) {
    let browser = app.another_browser().await;
    let email = format!("{username}@example.org");
    let r = signup(&browser, username, &email, PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    if admin {
        app.exec(&format!(
            "UPDATE users SET role = 'admin' WHERE username = '{username}'"
        ))
        .await;
    }
    let id = app
        .scalar(&format!(
            "SELECT id FROM users WHERE username = '{username}'"
        ))
        .await;
    (id, token_for(&app.client, &email).await)
}

/// A token for `email` (password `PASSWORD`) through `POST /login`.
pub async fn token_for(client: &Client, email: &str) -> String {
    let body = json!({"email": email, "password": PASSWORD}).to_string();
    let r = ApiRequest::new(client, Method::Post, "/login")
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    r.json()["token"].as_str().expect("a token").to_string()
}

/// `GET /me` with `token`.
pub async fn me(client: &Client, token: &str) -> Resp {
    ApiRequest::new(client, Method::Get, "/me")
        .token(token)
        .send()
        .await
}

/// The response is a JSON error with this status and code.
pub fn assert_json_error(r: &Resp, status: Status, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "not JSON: {:?} {}",
        r.header("content-type"),
        r.body
    );
    let v = r.json();
    assert_eq!(v["error"], code, "{}", r.body);
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
}
