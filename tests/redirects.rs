//! Where `next` leads after signing in: a plain local path, percent-encoded
//! when it holds non-ASCII or unsafe bytes, or the default page. Whatever
//! `next` holds, the answer is a redirect, never a 500 after the session
//! was already created (issue #13.1).

use crate::common;

use common::oauth::{FakeProvider, FakeUser};
use common::*;
use rocket::http::{RawStr, Status};
use rocket::local::asynchronous::Client;

/// `next` values and where each must lead: `None` means "refused, so the
/// default page".
const NASTY: &[(&str, Option<&str>)] = &[
    ("/profile?tab=1", Some("/profile?tab=1")),
    ("/%C3%A9", Some("/%C3%A9")),
    ("/é", Some("/%C3%A9")),
    ("/日本/記事", Some("/%E6%97%A5%E6%9C%AC/%E8%A8%98%E4%BA%8B")),
    ("/a b", Some("/a%20b")),
    ("/\"quoted\"", Some("/%22quoted%22")),
    (
        "/<script>alert(1)</script>",
        Some("/%3Cscript%3Ealert(1)%3C/script%3E"),
    ),
    ("/100%", Some("/100%25")),
    ("/%zz", Some("/%25zz")),
    ("/{x}|^`", Some("/%7Bx%7D%7C%5E%60")),
    ("/a#b#c", Some("/a#b%23c")),
    ("/\u{2028}", Some("/%E2%80%A8")),
    ("", None),
    ("   ", None),
    (" /x", None),
    ("x/y", None),
    ("//evil.example", None),
    ("///evil.example", None),
    ("https://evil.example/", None),
    ("http:/evil.example", None),
    ("javascript:alert(1)", None),
    ("/\\evil.example", None),
    ("/\t/evil.example", None),
    ("/a\r\nSet-Cookie: x=1", None),
];

/// A Location that a browser reads as a path on this site.
fn assert_local(location: Option<&str>, context: &str) {
    let to = location.unwrap_or_else(|| panic!("no Location: {context}"));
    assert!(
        to.starts_with('/') && !to.starts_with("//") && !to.contains('\\'),
        "{context}: redirected off the site to {to:?}"
    );
    assert!(
        to.bytes().all(|b| b.is_ascii_graphic()),
        "{context}: Location {to:?} is not a valid URI reference"
    );
}

/// Where `next` must lead after signing in.
fn expected(want: Option<&str>) -> String {
    want.unwrap_or("/").to_string()
}

/// The sign-in form's hidden `next`, as the browser would send it back.
fn hidden_next(page: &Resp) -> String {
    extract_value(&page.body, "next")
        .unwrap_or_default()
        .replace("&#38;", "&")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

async fn member(app: &TestApp) -> Client {
    app.member("nina").await
}

#[rocket::async_test]
async fn signing_in_with_any_next_redirects_to_a_local_path_never_a_500() {
    let app = TestApp::spawn().await;
    let browser = member(&app).await;
    submit(&browser, "/profile", "/logout", &[]).await;
    for (next, want) in NASTY {
        let r = submit(
            &browser,
            "/login",
            "/login",
            &[
                ("email", "nina@example.org"),
                ("password", PASSWORD),
                ("next", next),
            ],
        )
        .await;
        assert_eq!(r.status, Status::SeeOther, "next={next:?}: {}", r.body);
        assert_local(r.location(), &format!("POST next={next:?}"));
        assert_eq!(r.location(), Some(expected(*want).as_str()), "{next:?}");
        assert_eq!(get(&browser, "/profile").await.status, Status::Ok);
        submit(&browser, "/profile", "/logout", &[]).await;
    }
}

#[rocket::async_test]
async fn the_sign_in_page_keeps_only_a_safe_next_and_a_signed_in_visit_follows_it() {
    let app = TestApp::spawn().await;
    let anonymous = app.another_browser().await;
    let signed_in = member(&app).await;
    for (next, want) in NASTY {
        let uri = format!("/login?next={}", RawStr::new(next).percent_encode());
        let page = get(&anonymous, &uri).await;
        assert_eq!(page.status, Status::Ok, "GET {uri}");
        let kept = hidden_next(&page);
        match want {
            Some(_) => assert_eq!(kept, expected(*want), "GET {uri}"),
            None => assert_eq!(kept, "", "GET {uri}"),
        }
        let r = get(&signed_in, &uri).await;
        assert_eq!(
            r.status,
            Status::SeeOther,
            "signed-in GET {uri}: {}",
            r.body
        );
        assert_local(r.location(), &format!("signed-in GET {uri}"));
        let want = match want {
            Some(_) => expected(*want),
            None => "/profile".into(),
        };
        assert_eq!(r.location(), Some(want.as_str()), "signed-in GET {uri}");
    }
}

#[rocket::async_test]
async fn a_page_that_needs_sign_in_comes_back_to_its_address_after_signing_in() {
    let app = TestApp::spawn().await;
    let browser = member(&app).await;
    submit(&browser, "/profile", "/logout", &[]).await;
    for path in [
        "/notes?q=%C3%A9t%C3%A9",
        "/notes?q={x}|^%60",
        "/blog/feed?page=2",
        "/notes?tag=a%20b&archived=true",
    ] {
        let r = get(&browser, path).await;
        assert_eq!(r.status, Status::SeeOther, "GET {path}");
        let to_login = r.location().unwrap_or_default().to_string();
        assert!(to_login.starts_with("/login?next="), "{to_login}");
        let page = get(&browser, &to_login).await;
        assert_eq!(page.status, Status::Ok, "GET {to_login}");
        let next = hidden_next(&page);
        let r = post_raw(
            &browser,
            "/login",
            &[
                ("csrf_token", &page.csrf()),
                ("email", "nina@example.org"),
                ("password", PASSWORD),
                ("next", &next),
            ],
            &[],
        )
        .await;
        assert_eq!(r.status, Status::SeeOther, "{path}: {}", r.body);
        assert_local(r.location(), path);
        let back = r.location().unwrap_or_default().to_string();
        let page = get(&browser, &back).await;
        assert_eq!(page.status, Status::Ok, "{path} came back to {back}");
        submit(&browser, "/profile", "/logout", &[]).await;
    }
}

#[rocket::async_test]
async fn signing_in_with_a_provider_follows_the_same_rule_for_next() {
    let fake = FakeProvider::start().await;
    let app = TestApp::spawn_with(|f| fake.configure(f)).await;
    fake.add_user(FakeUser::verified("1001", "octocat", "octo@example.org"));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for (next, want) in NASTY {
        let browser = app.another_browser().await;
        let uri = format!("/auth/github?next={}", RawStr::new(next).percent_encode());
        let r = get(&browser, &uri).await;
        assert_eq!(r.status, Status::SeeOther, "GET {uri}");
        let at_provider = http
            .get(format!(
                "{}&login_as=1001",
                r.location().unwrap_or_default()
            ))
            .send()
            .await
            .expect("the fake provider answers");
        let back = at_provider.headers()["location"]
            .to_str()
            .expect("ascii")
            .trim_start_matches("http://localhost:8000")
            .to_string();
        let r = get(&browser, &back).await;
        assert_eq!(r.status, Status::SeeOther, "next={next:?}: {}", r.body);
        assert_local(r.location(), &format!("OAuth next={next:?}"));
        assert_eq!(r.location(), Some(expected(*want).as_str()), "{next:?}");
    }
}
