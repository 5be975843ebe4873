//! Using the blog through its forms, for tests/blog*.rs.

use rocket::http::Status;
use rocket::local::asynchronous::Client;

use super::{submit, Resp, TestApp};

/// Publish an article through the form; returns its address.
pub async fn write(client: &Client, title: &str, body: &str, tags: &str) -> String {
    let r = submit(
        client,
        "/blog/new",
        "/blog",
        &[
            ("title", title),
            ("description", "A summary"),
            ("body", body),
            ("tags", tags),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let url = r.location().expect("redirect to the article").to_string();
    assert!(url.starts_with("/blog/"), "{url}");
    url
}

/// GET `page` for a CSRF token, then POST `action` with no other fields.
pub async fn press(client: &Client, page: &str, action: &str) -> Resp {
    submit(client, page, action, &[]).await
}

/// One number from the database.
pub async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar(sql).await
}
