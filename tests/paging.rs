//! Every list, HTML and JSON, asked for any page: zero, negative, past the
//! end, past i64, not a number. Never a 5xx (issue #13.3): an HTML list
//! shows the nearest page in range (200), an API answers the page (200) or
//! says which parameter it refused (422).

use crate::common;

use common::*;
use rocket::http::{Method, RawStr, Status};
use serde_json::{json, Value};

/// Page numbers (and offsets) as a hand-edited address might carry them.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "abc",
    "1e9",
    "",
    " 3",
];

/// Page sizes (`per_page`, `limit`): `None` leaves the parameter out.
const SIZES: &[Option<&str>] = &[
    None,
    Some("0"),
    Some("-1"),
    Some("1"),
    Some("100"),
    Some("101"),
    Some("9223372036854775807"),
    Some("-9223372036854775808"),
    Some("abc"),
    Some(""),
];

/// An admin `boss` signed in on `app.client`, with an article tagged `x`,
/// a note and a contact message; returns boss's API token.
async fn app_with_content() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.signed_in_user("boss").await;
    app.exec("UPDATE users SET role = 'admin' WHERE username = 'boss'")
        .await;
    let body = json!({"email": "boss@example.org", "password": PASSWORD}).to_string();
    let r = ApiRequest::new(&app.client, Method::Post, "/login")
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let token = r.json()["token"].as_str().expect("a token").to_string();
    let article =
        json!({"article": {"title": "Paged", "description": "d", "body": "b", "tagList": ["x"]}});
    let r = ApiRequest::new(&app.client, Method::Post, "/api/articles")
        .token(&token)
        .json(&article.to_string())
        .send()
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let note = json!({"title": "A note", "body": "text"}).to_string();
    let r = ApiRequest::new(&app.client, Method::Post, "/notes")
        .token(&token)
        .json(&note)
        .send()
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    (app, token)
}

fn q(v: &str) -> String {
    RawStr::new(v).percent_encode().to_string()
}

#[rocket::async_test]
async fn every_html_list_shows_a_page_whatever_page_is_asked_for() {
    let (app, _) = app_with_content().await;
    let lists = [
        "/blog",
        "/blog/feed",
        "/blog/tag/x",
        "/blog/author/boss",
        "/blog/author/boss/favorites",
        "/notes",
        "/notes?q=note&archived=false",
        "/users",
        "/users?q=b&sort=email",
        "/admin/audit",
        "/admin/contact",
        "/admin/contact?show=all",
    ];
    for list in lists {
        for page in NUMBERS {
            let sep = if list.contains('?') { '&' } else { '?' };
            let uri = format!("{list}{sep}page={}", q(page));
            let r = app.get(&uri).await;
            assert_eq!(r.status, Status::Ok, "GET {uri}: {}", r.body);
        }
    }
}

/// `status` is 200 with a list, or 422 naming a refused field.
fn assert_page_or_422(r: &Resp, uri: &str, list_key: &str) {
    match r.status {
        Status::Ok => assert!(
            r.json()[list_key].is_array(),
            "GET {uri}: no {list_key} in {}",
            r.body
        ),
        Status::UnprocessableEntity => {
            let v: Value = r.json();
            assert!(
                v["fields"].is_object() || v["errors"].is_object(),
                "GET {uri}: a 422 without field errors: {}",
                r.body
            );
        }
        other => panic!("GET {uri}: {other}: {}", r.body),
    }
}

#[rocket::async_test]
async fn every_page_per_page_api_answers_a_page_or_422() {
    let (app, token) = app_with_content().await;
    for (list, key) in [("/users", "users"), ("/notes", "notes")] {
        for page in NUMBERS {
            for size in SIZES {
                let mut uri = format!("{list}?page={}", q(page));
                if let Some(size) = size {
                    uri.push_str(&format!("&per_page={}", q(size)));
                }
                let r = ApiRequest::new(&app.client, Method::Get, &uri)
                    .token(&token)
                    .send()
                    .await;
                assert_page_or_422(&r, &uri, key);
            }
        }
        // In range: the page asked for, empty past the end.
        let uri = format!("{list}?page=1000000&per_page=100");
        let r = ApiRequest::new(&app.client, Method::Get, &uri)
            .token(&token)
            .send()
            .await;
        assert_eq!(r.status, Status::Ok, "{uri}: {}", r.body);
        assert_eq!(r.json()[key].as_array().map(Vec::len), Some(0), "{uri}");
        assert_eq!(r.json()["page"], 1_000_000);
        // Past the last page number: refused by name.
        let uri = format!("{list}?page=1000001");
        let r = ApiRequest::new(&app.client, Method::Get, &uri)
            .token(&token)
            .send()
            .await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{uri}: {}", r.body);
        assert!(r.json()["fields"]["page"].is_string(), "{}", r.body);
    }
}

#[rocket::async_test]
async fn every_limit_offset_api_answers_a_page_or_422() {
    let (app, token) = app_with_content().await;
    for list in [
        "/api/articles",
        "/api/articles/feed",
        "/api/articles?tag=x",
        "/api/articles?author=boss",
        "/api/articles?favorited=boss",
    ] {
        for offset in NUMBERS {
            for limit in SIZES {
                let sep = if list.contains('?') { '&' } else { '?' };
                let mut uri = format!("{list}{sep}offset={}", q(offset));
                if let Some(limit) = limit {
                    uri.push_str(&format!("&limit={}", q(limit)));
                }
                let r = ApiRequest::new(&app.client, Method::Get, &uri)
                    .token(&token)
                    .send()
                    .await;
                assert_page_or_422(&r, &uri, "articles");
            }
        }
        let sep = if list.contains('?') { '&' } else { '?' };
        let uri = format!("{list}{sep}offset=1000000000&limit=100");
        let r = ApiRequest::new(&app.client, Method::Get, &uri)
            .token(&token)
            .send()
            .await;
        assert_eq!(r.status, Status::Ok, "{uri}: {}", r.body);
        assert_eq!(r.json()["articles"].as_array().map(Vec::len), Some(0));
    }
}
