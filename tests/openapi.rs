//! The OpenAPI document stays true: every operation it describes is a
//! mounted route, and every JSON route is described.

use crate::common;
use common::*;
use rocket::http::{MediaType, Method, Status};
use serde_json::Value;

/// `/user/<id>` → `/user/{id}`; the query part is dropped.
fn openapi_path(uri: &str) -> String {
    let path = uri.split('?').next().unwrap_or(uri);
    path.split('/')
        .map(
            |seg| match seg.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                Some(name) => format!("{{{}}}", name.trim_end_matches("..")),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            ops.push((method.to_uppercase(), path.clone()));
        }
    }
    ops.sort();
    ops
}

async fn served_document(app: &TestApp) -> Value {
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, Status::Ok);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    r.json()
}

#[rocket::async_test]
async fn the_document_is_openapi_3_1_with_bearer_auth_and_the_error_schema() {
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(doc["servers"][0]["url"], "http://localhost:8000");
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(error["required"], serde_json::json!(["error", "message"]));
    // Every $ref points at a schema that exists.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &piece[..piece.find('"').unwrap()];
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }
    // Every operation documents its success and, when it takes a token, 401.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path}"
            );
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path}");
            }
        }
    }
}

#[rocket::async_test]
async fn every_documented_operation_is_a_mounted_route_and_every_json_route_is_documented() {
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    let documented = operations(&doc);
    let mounted: Vec<(String, String, bool)> = app
        .client
        .rocket()
        .routes()
        .map(|r| {
            let json = r.format.as_ref().is_some_and(|f| *f == MediaType::JSON);
            (
                r.method.as_str().to_string(),
                openapi_path(&r.uri.to_string()),
                json,
            )
        })
        .collect();
    for (method, path) in &documented {
        assert!(
            mounted.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} is documented but not mounted"
        );
    }
    // The JSON routes: those limited to JSON, and every route of the API module.
    // Features mount their own JSON routes next to their pages (notes).
    let mut api_routes = groundwork::api::routes();
    api_routes.extend(groundwork::notes::api_routes());
    api_routes.extend(groundwork::tasks::api_routes());
    api_routes.extend(groundwork::chat::api_routes());
    api_routes.extend(groundwork::shop::api_routes());
    api_routes.extend(groundwork::notifications::api_routes());
    api_routes.extend(groundwork::moderation::api_routes());
    let mut json_routes: Vec<(String, String)> = mounted
        .iter()
        .filter(|(_, _, json)| *json)
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .chain(api_routes.iter().map(|r| {
            (
                r.method.as_str().to_string(),
                openapi_path(&r.uri.to_string()),
            )
        }))
        .collect();
    json_routes.sort();
    json_routes.dedup();
    assert!(json_routes.len() >= 8, "{json_routes:?}");
    for (method, path) in &json_routes {
        assert!(
            documented.iter().any(|(m, p)| m == method && p == path),
            "{method} {path} is a JSON route missing from openapi.json"
        );
        assert!(
            mounted.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} is not mounted"
        );
    }
    // The seed's four endpoints are among them.
    for (method, path) in [
        ("POST", "/login"),
        ("GET", "/users"),
        ("PUT", "/update-profile"),
        ("DELETE", "/user/{id}"),
    ] {
        assert!(documented.contains(&(method.to_string(), path.to_string())));
    }
}

#[rocket::async_test]
async fn documented_responses_match_what_the_api_answers() {
    // A light check of shapes against the document; schemathesis in CI does
    // the thorough one.
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    let user_fields: Vec<String> = doc["components"]["schemas"]["User"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let email = app.signed_in_user("alice").await;
    let body = serde_json::json!({"email": email, "password": PASSWORD}).to_string();
    let r = app.api(Method::Post, "/login").json(&body).send().await;
    let reply = r.json();
    for field in ["token", "token_type", "expires_in", "user"] {
        assert!(!reply[field].is_null(), "{field}");
    }
    let token = reply["token"].as_str().unwrap();
    let me = app.api(Method::Get, "/me").token(token).send().await.json();
    for field in &user_fields {
        assert!(!me[field].is_null(), "{field} missing from /me");
    }
    let mut documented: Vec<&String> = user_fields.iter().collect();
    documented.sort();
    let mut answered: Vec<&String> = me.as_object().unwrap().keys().collect();
    answered.sort();
    assert_eq!(documented, answered);
}
