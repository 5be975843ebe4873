mod common;
use common::*;
use rocket::http::Status;

#[rocket::async_test]
async fn harness_signs_up_and_sees_profile() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice").await;
    let r = app.get("/profile").await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("alice@example.org"));
}
