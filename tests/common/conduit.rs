//! Talking to the RealWorld (Conduit) API under /api the way its clients
//! do, for tests/conduit*.rs.

use rocket::http::{ContentType, Header, Method, Status};
use serde_json::{json, Value};

use super::{Resp, TestApp, PASSWORD};

/// A request as RealWorld clients send it: `Authorization: Token <jwt>`.
pub async fn rw(
    app: &TestApp,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut req = app.client.req(method, uri.to_string());
    if let Some(t) = token {
        req = req.header(Header::new("Authorization", format!("Token {t}")));
    }
    if let Some(b) = body {
        req = req.header(ContentType::JSON).body(b.to_string());
    }
    Resp::read(req.dispatch().await).await
}

/// Register `name` through the API; returns its token.
pub async fn register(app: &TestApp, name: &str) -> String {
    let r = rw(
        app,
        Method::Post,
        "/api/users",
        None,
        Some(json!({"user": {"username": name, "email": format!("{name}@example.org"), "password": PASSWORD}})),
    )
    .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()["user"]["token"].as_str().unwrap().to_string()
}

/// Publish an article through the API; returns it as JSON.
pub async fn post_article(app: &TestApp, token: &str, title: &str, tags: &[&str]) -> Value {
    let r = rw(
        app,
        Method::Post,
        "/api/articles",
        Some(token),
        Some(json!({"article": {"title": title, "description": "About it", "body": "Some *text*.", "tagList": tags}})),
    )
    .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()["article"].clone()
}

/// The first message for `field` in a 422's `errors`.
pub fn field_error(r: &Resp, field: &str) -> String {
    let v = r.json();
    assert!(
        v["errors"]["body"].is_array(),
        "errors.body missing: {}",
        r.body
    );
    v["errors"][field][0]
        .as_str()
        .unwrap_or_else(|| panic!("no error for {field}: {}", r.body))
        .to_string()
}
