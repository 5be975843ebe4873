//! The anonymous home page binds no CSRF token (it has no form), so it
//! costs no random bytes, no encrypted cookie and no `Set-Cookie`; pages
//! with forms still bind one, and a signed-in home page (sign-out form)
//! carries one (#14).

use crate::common;
use common::*;
use rocket::http::Status;

#[rocket::async_test]
async fn the_anonymous_home_page_sets_no_cookie_but_forms_still_get_a_token() {
    let app = TestApp::spawn().await;
    let r = app.get("/").await;
    assert_eq!(r.status, Status::Ok);
    assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
    assert!(!r.body.contains("csrf_token"));

    let r = app.get("/login").await;
    assert!(r.set_cookie("gw_csrf").is_some());
    assert!(!r.csrf().is_empty());
    // The home page then shows nothing new, and sign-in still works.
    assert!(app.get("/").await.set_cookies().is_empty());
    app.signed_in_user("alice").await;
    let r = app.get("/").await;
    assert!(r.body.contains("alice"));
    assert!(!r.csrf().is_empty(), "no token for the sign-out form");
    let r = app.post_raw("/logout", &[("csrf_token", &r.csrf())]).await;
    assert_eq!(r.status, Status::SeeOther);
}
