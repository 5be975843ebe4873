//! `GET /metrics` (issue 21): off by default; when on, only for allowed
//! addresses and the configured bearer token, in the OpenMetrics text
//! format, with requests by route and status, the pool, the job queue, the
//! password-hash queue and the process's memory.

use crate::common;

use common::*;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;

async fn scrape(client: &Client, from: &str, token: Option<&str>) -> (Status, String) {
    let mut req = client.get("/metrics").remote(from.parse().unwrap());
    if let Some(t) = token {
        req = req.header(Header::new("Authorization", format!("Bearer {t}")));
    }
    let r = req.dispatch().await;
    let status = r.status();
    (status, r.into_string().await.unwrap_or_default())
}

#[rocket::async_test]
async fn metrics_are_off_by_default() {
    let app = TestApp::spawn().await;
    let (status, body) = scrape(&app.client, "127.0.0.1:40000", None).await;
    assert_eq!(status, Status::NotFound);
    assert!(!body.contains("groundwork_http_requests"));
}

#[rocket::async_test]
async fn metrics_answer_only_allowed_addresses_with_the_token() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("metrics.enabled", true))
            .merge(("metrics.token", "scrape-me"))
    })
    .await;
    let (status, _) = scrape(&app.client, "127.0.0.1:40000", None).await;
    assert_eq!(status, Status::NotFound, "no token");
    let (status, _) = scrape(&app.client, "127.0.0.1:40000", Some("scrape-mf")).await;
    assert_eq!(status, Status::NotFound, "a wrong token");
    let (status, _) = scrape(&app.client, "10.1.2.3:40000", Some("scrape-me")).await;
    assert_eq!(
        status,
        Status::NotFound,
        "an address not in metrics.allowed"
    );
    let (status, body) = scrape(&app.client, "[::1]:40000", Some("scrape-me")).await;
    assert_eq!(status, Status::Ok, "{body}");
}

#[rocket::async_test]
async fn metrics_count_requests_by_route_and_show_pool_jobs_hashes_and_memory() {
    // No worker, so the queued mail stays queued.
    let app = TestApp::spawn_with(|f| {
        f.merge(("metrics.enabled", true))
            .merge(("jobs.worker", false))
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/ping").await.status, Status::Ok);
    }
    assert_eq!(app.get("/no/such/page").await.status, Status::NotFound);
    // A sign-up hashes a password and queues its confirmation mail.
    let _ada = app.member("ada").await;

    let r = app
        .client
        .get("/metrics")
        .remote("127.0.0.1:40000".parse().unwrap())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Ok);
    let content_type = r.content_type().map(|c| c.to_string()).unwrap_or_default();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let body = r.into_string().await.unwrap();

    for line in [
        r#"groundwork_http_requests_total{method="GET",route="/ping",status="200"} 3"#,
        r#"groundwork_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"groundwork_http_request_duration_seconds_count{method="GET",route="/ping",status="200"} 3"#,
    ] {
        assert!(body.contains(line), "no {line:?} in:\n{body}");
    }
    // The member's browser is another process: its requests are its own.
    assert!(!body.contains(r#"route="/signup""#), "{body}");
    for name in [
        "groundwork_db_pool_connections ",
        "groundwork_db_pool_idle_connections ",
        "groundwork_password_hashes_waiting ",
        "groundwork_password_hashes_running ",
        "groundwork_process_resident_memory_bytes ",
    ] {
        assert!(body.contains(name), "no {name:?} in:\n{body}");
    }
    let queued = app
        .scalar("SELECT COUNT(*) FROM jobs WHERE state = 'queued'")
        .await;
    assert!(queued > 0, "the sign-up queued no job");
    assert!(
        body.lines()
            .any(|l| l.starts_with("groundwork_jobs{") && l.contains(r#"state="queued""#)),
        "no queued jobs in:\n{body}"
    );
    assert!(body.trim_end().ends_with("# EOF"));
}
