//! The notifications JSON API: bearer tokens only; the list with its
//! cursor, the unread count, "mark read" and the preferences. Every test
//! runs on SQLite, and on Postgres with `TEST_DATABASE_URL`.

use crate::common;
use common::blog::*;
use common::json_api::{assert_json_error, user_with_token};
use common::*;
use rocket::http::{Method, Status};

#[rocket::async_test]
async fn the_api_lists_counts_marks_read_and_sets_preferences() {
    let app = TestApp::spawn_for_members().await;
    let (_, token) = user_with_token(&app, "alice", false).await;
    let alice = app.another_browser().await;
    login(&alice, "alice@example.org", PASSWORD).await;
    let url = write(&alice, "Via API", "Text", "").await;
    for name in ["bob", "carol"] {
        let m = app.member(name).await;
        submit(&m, &url, &format!("{url}/comments"), &[("body", "Hi")]).await;
    }

    let r = app.api(Method::Get, "/notifications").send().await;
    assert_json_error(&r, Status::Unauthorized, "unauthorized");

    let r = app
        .api(Method::Get, "/notifications/unread")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["unread"], 2);

    let r = app
        .api(Method::Get, "/notifications?limit=1")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let j = r.json();
    assert_eq!(j["notifications"][0]["kind"], "comment");
    assert_eq!(j["notifications"][0]["text"], "carol commented on Via API");
    assert_eq!(j["notifications"][0]["unread"], true);
    let next = j["next_before"].as_i64().expect("a cursor");
    let r = app
        .api(
            Method::Get,
            &format!("/notifications?limit=1&before={next}"),
        )
        .token(&token)
        .send()
        .await;
    let j = r.json();
    assert_eq!(j["notifications"][0]["actors"][0], "bob");
    assert!(j["next_before"].is_null());
    let older = j["notifications"][0]["id"].as_i64().unwrap();
    let r = app
        .api(Method::Get, "/notifications?limit=0")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);

    let r = app
        .api(Method::Post, "/notifications/read")
        .token(&token)
        .json(&format!("{{\"up_to\": {older}}}"))
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["unread"], 1);
    let r = app
        .api(Method::Post, "/notifications/read")
        .token(&token)
        .json("{}")
        .send()
        .await;
    assert_eq!(r.json()["unread"], 0);
    let r = app
        .api(Method::Post, "/notifications/read")
        .token(&token)
        .json("{\"up_to\": \"x\"}")
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);

    let r = app
        .api(Method::Put, "/notifications/preferences")
        .token(&token)
        .json("{\"kinds\": {\"comment\": false}}")
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["kinds"]["comment"], false);
    assert_eq!(r.json()["kinds"]["mention"], true);
    let r = app
        .api(Method::Put, "/notifications/preferences")
        .token(&token)
        .json("{\"kinds\": {\"nope\": false}}")
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    let dave = app.member("dave").await;
    submit(&dave, &url, &format!("{url}/comments"), &[("body", "Hi")]).await;
    let r = app
        .api(Method::Get, "/notifications/unread")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.json()["unread"], 0);
    let r = app
        .api(Method::Get, "/notifications/preferences")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.json()["kinds"]["comment"], false);
}
