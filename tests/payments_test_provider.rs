//! The built-in test provider (issue 18): with no Stripe key an order can
//! be paid on a clearly marked test page whose buttons deliver signed
//! webhooks through the same verification and processing as Stripe's; it
//! does not run in the release profile unless enabled.

use crate::common;
use common::stripe::*;
use common::*;

use rocket::http::Status;
use rocket::local::asynchronous::Client;
use serde_json::json;

async fn order_state(app: &TestApp, id: i64) -> String {
    app.text(&format!("SELECT state FROM shop_orders WHERE id = {id}"))
        .await
        .unwrap_or_default()
}

/// Press "Pay" and follow to the test payment page: its path.
async fn test_page(client: &Client, id: i64) -> String {
    let r = press_pay(client, id).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let url = r.location().expect("a redirect").to_string();
    let path = url
        .strip_prefix("http://localhost:8000")
        .unwrap_or_else(|| panic!("a page on the site: {url}"))
        .to_string();
    assert!(path.starts_with("/payments/test/pay/cs_test_"), "{path}");
    let page = get(client, &path).await;
    assert_eq!(page.status, Status::Ok);
    assert!(
        page.body.contains("This is a test payment page"),
        "{}",
        page.body
    );
    assert!(page.body.contains("€29.95"));
    path
}

async fn choose(client: &Client, path: &str, action: &str) -> Resp {
    submit(client, path, path, &[("action", action)]).await
}

#[rocket::async_test]
async fn pay_on_the_test_page_takes_the_order_to_paid_through_a_signed_webhook() {
    let app = TestApp::spawn_for_members().await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    let path = test_page(&ada, id).await;
    let r = choose(&ada, &path, "pay").await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        r.location(),
        Some(format!("http://localhost:8000/shop/orders/{id}?payment=returned").as_str())
    );
    assert_eq!(order_state(&app, id).await, "paid");
    let page = get(&ada, &format!("/shop/orders/{id}?payment=returned")).await;
    assert!(
        page.body.contains("your payment is confirmed"),
        "{}",
        page.body
    );
    assert_eq!(
        app.text("SELECT provider || ' ' || source || ' ' || event_type || ' ' || state FROM payment_events")
            .await
            .unwrap(),
        "test webhook checkout.session.completed processed"
    );
    // The page is finished: pressing again does nothing more.
    let again = choose(&ada, &path, "pay").await;
    assert_eq!(again.status, Status::SeeOther);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payment_events").await, 1);
}

#[rocket::async_test]
async fn decline_and_cancel_leave_the_order_waiting_with_a_message_and_a_way_to_try_again() {
    let app = TestApp::spawn_for_members().await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    let first = test_page(&ada, id).await;
    let r = choose(&ada, &first, "decline").await;
    assert_eq!(r.status, Status::SeeOther);
    let page = get(&ada, &format!("/shop/orders/{id}?payment=declined")).await;
    assert!(page.body.contains("did not go through"), "{}", page.body);
    assert!(page.body.contains("Pay €29.95"));
    assert_eq!(order_state(&app, id).await, "pending_payment");

    // A new attempt, a new page; cancelling it comes back with a message.
    let second = test_page(&ada, id).await;
    assert_ne!(first, second);
    let page = get(&ada, &format!("/shop/orders/{id}?payment=cancelled")).await;
    assert!(
        page.body.contains("Payment cancelled: nothing was charged"),
        "{}",
        page.body
    );
    // Paying on the second page works.
    choose(&ada, &second, "pay").await;
    assert_eq!(order_state(&app, id).await, "paid");
    assert_eq!(
        app.text(&format!(
            "SELECT state FROM payment_attempts WHERE order_id = {id} ORDER BY id LIMIT 1"
        ))
        .await
        .unwrap(),
        "failed"
    );
}

#[rocket::async_test]
async fn pay_later_is_confirming_until_the_asynchronous_payment_succeeds() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("jobs.poll_interval", 0.2))
            .merge(("payments.test.async_delay", 3600))
    })
    .await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    let path = test_page(&ada, id).await;
    let r = choose(&ada, &path, "later").await;
    assert_eq!(r.status, Status::SeeOther);
    let page = get(&ada, &format!("/shop/orders/{id}")).await;
    assert!(
        page.body.contains("Payment received, confirming"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Pay €29.95"));
    assert_eq!(order_state(&app, id).await, "pending_payment");
    // Pressing Pay meanwhile starts nothing new.
    let r = press_pay(&ada, id).await;
    assert_eq!(r.location(), Some(format!("/shop/orders/{id}").as_str()));
    // The bank settles: the job that delivers the second webhook is due now.
    app.exec_unannounced("UPDATE jobs SET run_at = 0 WHERE kind = 'payments_test_settle'")
        .await;
    let mut state = String::new();
    for _ in 0..100 {
        state = order_state(&app, id).await;
        if state == "paid" {
            break;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state, "paid");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payment_attempts").await, 1);
}

#[rocket::async_test]
async fn the_test_webhook_endpoint_checks_signatures_like_stripes() {
    let secret = "whsec_test_endpoint_secret";
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("payments.test.webhook_secret", secret))
    })
    .await;
    let body = event(
        "evt_t1",
        "checkout.session.completed",
        &json!({"id": "cs_test_unknown"}),
    );
    let r = post_webhook(
        &app.client,
        "test",
        &body,
        Some(&sign("whsec_wrong", &body)),
    )
    .await;
    assert_eq!(r.status, Status::BadRequest);
    let r = post_webhook(&app.client, "test", &body, None).await;
    assert_eq!(r.status, Status::BadRequest);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payment_events").await, 0);
    // Signed: accepted, and kept as failed because no attempt matches.
    let r = post_webhook(&app.client, "test", &body, Some(&sign(secret, &body))).await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(
        app.text("SELECT state FROM payment_events").await.unwrap(),
        "failed"
    );
    // Stripe's endpoint is not in use.
    let r = post_webhook(&app.client, "stripe", &body, Some(&sign(secret, &body))).await;
    assert_eq!(r.status, Status::NotFound);
}

#[rocket::async_test]
async fn the_test_provider_does_not_run_in_the_release_profile_unless_enabled() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .select("release")
    })
    .await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    let page = get(&ada, &format!("/shop/orders/{id}")).await;
    assert!(
        page.body.contains("Online payment is not available"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Pay €29.95"));
    let r = press_pay(&ada, id).await;
    assert_eq!(r.location(), Some(format!("/shop/orders/{id}").as_str()));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payment_attempts").await, 0);
    let body = event(
        "evt_r",
        "checkout.session.completed",
        &json!({"id": "cs_x"}),
    );
    let r = post_webhook(&app.client, "test", &body, Some(&sign("x", &body))).await;
    assert_eq!(r.status, Status::NotFound);

    let enabled = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("payments.test.allow_in_release", true))
            .select("release")
    })
    .await;
    let (bob, id) = member_with_order(&enabled, "bob", "cup").await;
    let path = test_page(&bob, id).await;
    choose(&bob, &path, "pay").await;
    assert_eq!(order_state(&enabled, id).await, "paid");
}
