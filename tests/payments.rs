//! Payments with Stripe (issue 18), against a fake Stripe API on
//! 127.0.0.1: paying goes to a Checkout Session made from the order; only
//! a correctly signed webhook marks it paid, once, and never backwards; a
//! wrong amount is flagged, not paid; Stripe being down is a clear message
//! and a retry makes no second session.

use crate::common;
use common::stripe::*;
use common::*;

use rocket::http::Status;
use serde_json::json;

/// Two €12.50 items plus €4.95 standard shipping.
const TOTAL: i64 = 2995;

async fn stripe_app(fake: &FakeStripe) -> TestApp {
    TestApp::spawn_with(|f| {
        fake.configure(f)
            .merge(("signups_per_address_per_hour", 100))
    })
    .await
}

async fn order_state(app: &TestApp, id: i64) -> String {
    app.text(&format!("SELECT state FROM shop_orders WHERE id = {id}"))
        .await
        .unwrap_or_default()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar(sql).await
}

/// Pay order `id`: the session the fake made.
async fn open_session(
    fake: &FakeStripe,
    client: &rocket::local::asynchronous::Client,
    id: i64,
) -> String {
    let r = press_pay(client, id).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let url = r.location().expect("a redirect").to_string();
    assert!(url.starts_with(&fake.base), "{url}");
    session_of(&url)
}

#[rocket::async_test]
async fn pay_sends_the_customer_to_a_checkout_session_made_from_the_order() {
    let fake = FakeStripe::start().await;
    let app = stripe_app(&fake).await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    let page = get(&ada, &format!("/shop/orders/{id}")).await;
    assert!(page.body.contains("Pay €29.95"), "{}", page.body);

    let session = open_session(&fake, &ada, id).await;
    let form = fake.last_create_form();
    assert_eq!(form["mode"], "payment");
    assert_eq!(
        form["line_items[0][price_data][unit_amount]"],
        TOTAL.to_string()
    );
    assert_eq!(form["line_items[0][price_data][currency]"], "eur");
    assert_eq!(form["client_reference_id"], id.to_string());
    assert_eq!(form["metadata[order_id]"], id.to_string());
    assert!(form["success_url"].ends_with(&format!("/shop/orders/{id}?payment=returned")));
    assert!(form["cancel_url"].ends_with(&format!("/shop/orders/{id}?payment=cancelled")));
    assert!(
        !fake.create_keys()[0].is_empty(),
        "an Idempotency-Key is sent"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT state || ' ' || provider_ref FROM payment_attempts WHERE order_id = {id}"
        ))
        .await
        .unwrap(),
        format!("created {session}")
    );

    // A second click (or a reload) goes to the same session.
    let again = press_pay(&ada, id).await;
    assert_eq!(again.location().map(session_of), Some(session));
    assert_eq!(fake.sessions_made(), 1);

    // Someone else's order cannot be paid.
    let eve = app.member("eve").await;
    let r = post_raw(
        &eve,
        &format!("/shop/orders/{id}/pay"),
        &[("csrf_token", &get(&eve, "/shop").await.csrf())],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::NotFound);
}

#[rocket::async_test]
async fn the_return_page_says_confirming_until_the_signed_webhook_marks_the_order_paid() {
    let fake = FakeStripe::start().await;
    let app = stripe_app(&fake).await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    let session = open_session(&fake, &ada, id).await;

    // Back from Stripe: the return address alone never marks anything paid.
    let back = get(&ada, &format!("/shop/orders/{id}?payment=returned")).await;
    assert!(
        back.body.contains("Payment received, confirming"),
        "{}",
        back.body
    );
    assert!(back.body.contains("Waiting for payment"));
    assert_eq!(order_state(&app, id).await, "pending_payment");

    let object = fake.complete(&session, true);
    let body = event("evt_paid_1", "checkout.session.completed", &object);
    let r = post_webhook(
        &app.client,
        "stripe",
        &body,
        Some(&sign(WEBHOOK_SECRET, &body)),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);

    assert_eq!(order_state(&app, id).await, "paid");
    let page = get(&ada, &format!("/shop/orders/{id}?payment=returned")).await;
    assert!(
        page.body.contains("your payment is confirmed"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Pay €29.95"));
    assert_eq!(
        app.text(&format!(
            "SELECT state || ' ' || payment_ref FROM payment_attempts WHERE order_id = {id}"
        ))
        .await
        .unwrap(),
        format!("succeeded pi_for_{session}")
    );
    assert_eq!(
        app.text("SELECT state || ' ' || source FROM payment_events WHERE event_id = 'evt_paid_1'")
            .await
            .unwrap(),
        "processed webhook"
    );
    // The customer's "your order is paid" mail is in the outbox.
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM outbox WHERE related_type = 'shop_order' AND related_id = {id} AND subject LIKE '%is paid%'")).await,
        1
    );
}

#[rocket::async_test]
async fn forged_tampered_stale_future_and_missing_signatures_are_refused_and_nothing_is_stored() {
    let fake = FakeStripe::start().await;
    let app = stripe_app(&fake).await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    let session = open_session(&fake, &ada, id).await;
    let object = fake.complete(&session, true);
    let body = event("evt_forged", "checkout.session.completed", &object);
    let now = groundwork::db::now();
    let sign_at = |t: i64, b: &str| {
        groundwork::shop::payments::signature::sign(WEBHOOK_SECRET, t, b.as_bytes())
    };
    let tampered_body = body.replace(&TOTAL.to_string(), "1");
    let cases: Vec<(&str, String, Option<String>)> = vec![
        (
            "forged with another secret",
            body.clone(),
            Some(sign("whsec_guess", &body)),
        ),
        (
            "tampered body",
            tampered_body.clone(),
            Some(sign(WEBHOOK_SECRET, &body)),
        ),
        ("stale", body.clone(), Some(sign_at(now - 301, &body))),
        ("future", body.clone(), Some(sign_at(now + 301, &body))),
        ("missing", body.clone(), None),
        ("no v1", body.clone(), Some(format!("t={now}"))),
        ("garbage", body.clone(), Some("nonsense".into())),
    ];
    for (what, b, header) in cases {
        let r = post_webhook(&app.client, "stripe", &b, header.as_deref()).await;
        assert_eq!(r.status, Status::BadRequest, "{what}: {}", r.body);
        assert!(r.body.contains("signature"), "{what}: {}", r.body);
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_events").await, 0);
    assert_eq!(order_state(&app, id).await, "pending_payment");

    // Several v1 signatures (a secret being rolled): one good one is enough.
    let good = groundwork::shop::payments::signature::v1(WEBHOOK_SECRET, now, body.as_bytes());
    let old = groundwork::shop::payments::signature::v1("whsec_old", now, body.as_bytes());
    let header = format!("t={now},v1={old},v1={good}");
    let r = post_webhook(&app.client, "stripe", &body, Some(&header)).await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(order_state(&app, id).await, "paid");
}

#[rocket::async_test]
async fn the_same_event_twice_and_concurrently_through_two_processes_is_processed_once() {
    let fake = FakeStripe::start().await;
    let app = stripe_app(&fake).await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    let session = open_session(&fake, &ada, id).await;
    let object = fake.complete(&session, true);

    // Twice in a row.
    let body = event("evt_twice", "checkout.session.completed", &object);
    let header = sign(WEBHOOK_SECRET, &body);
    let first = post_webhook(&app.client, "stripe", &body, Some(&header)).await;
    let second = post_webhook(&app.client, "stripe", &body, Some(&header)).await;
    assert_eq!(first.status, Status::Ok);
    assert_eq!(second.status, Status::Ok);
    assert!(first.body.contains("processed"), "{}", first.body);
    assert!(second.body.contains("duplicate"), "{}", second.body);

    // Another order, its event delivered to two app processes at once.
    let (bob, other) = member_with_order(&app, "bob", "cup").await;
    let session = open_session(&fake, &bob, other).await;
    let object = fake.complete(&session, true);
    let body = event("evt_race", "checkout.session.completed", &object);
    let header = sign(WEBHOOK_SECRET, &body);
    let second_process = app.another_browser().await;
    let (a, b) = rocket::tokio::join!(
        post_webhook(&app.client, "stripe", &body, Some(&header)),
        post_webhook(&second_process, "stripe", &body, Some(&header)),
    );
    assert_eq!(
        (a.status, b.status),
        (Status::Ok, Status::Ok),
        "{} {}",
        a.body,
        b.body
    );
    let results = [a.body.contains("duplicate"), b.body.contains("duplicate")];
    assert_eq!(
        results.iter().filter(|d| **d).count(),
        1,
        "{} {}",
        a.body,
        b.body
    );

    for order in [id, other] {
        assert_eq!(order_state(&app, order).await, "paid");
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM shop_order_events WHERE order_id = {order} AND to_state = 'paid'")).await,
            1,
            "order {order} became paid once"
        );
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM outbox WHERE related_type = 'shop_order' AND related_id = {order} AND subject LIKE '%is paid%'")).await,
            1,
            "one mail for order {order}"
        );
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_events").await, 2);
}

#[rocket::async_test]
async fn late_and_reordered_events_never_move_an_order_backwards() {
    let fake = FakeStripe::start().await;
    let app = stripe_app(&fake).await;
    let admin = app.admin_browser("boss").await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    let session = open_session(&fake, &ada, id).await;
    let paid = fake.complete(&session, true);

    // A refund reported before the payment it refunds: kept, not applied.
    let charge = json!({"id": "ch_1", "object": "charge", "payment_intent": format!("pi_for_{session}"),
        "amount": TOTAL, "amount_refunded": 1000, "currency": "eur", "refunded": false});
    let early = event("evt_refund_early", "charge.refunded", &charge);
    let r = post_webhook(
        &app.client,
        "stripe",
        &early,
        Some(&sign(WEBHOOK_SECRET, &early)),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(
        app.text("SELECT state FROM payment_events WHERE event_id = 'evt_refund_early'")
            .await
            .unwrap(),
        "failed"
    );
    assert_eq!(order_state(&app, id).await, "pending_payment");

    // The success, then a failure and an expiry that arrive late.
    for (evt, kind) in [
        ("evt_ok", "checkout.session.completed"),
        ("evt_failed_late", "checkout.session.async_payment_failed"),
        ("evt_expired_late", "checkout.session.expired"),
    ] {
        let body = event(evt, kind, &paid);
        let r = post_webhook(
            &app.client,
            "stripe",
            &body,
            Some(&sign(WEBHOOK_SECRET, &body)),
        )
        .await;
        assert_eq!(r.status, Status::Ok, "{evt}: {}", r.body);
    }
    assert_eq!(order_state(&app, id).await, "paid");
    assert_eq!(
        app.text(&format!(
            "SELECT state FROM payment_attempts WHERE order_id = {id}"
        ))
        .await
        .unwrap(),
        "succeeded"
    );

    // The early refund can be applied now: an admin re-processes it.
    let row = app
        .scalar("SELECT id FROM payment_events WHERE event_id = 'evt_refund_early'")
        .await;
    let list = get(&admin, "/admin/payments").await;
    assert_eq!(list.status, Status::Ok);
    assert!(
        list.body.contains(&format!("Re-process event {row}")),
        "{}",
        list.body
    );
    let r = submit(
        &admin,
        "/admin/payments",
        &format!("/admin/payments/events/{row}/reprocess"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(order_state(&app, id).await, "partially_refunded");
    assert_eq!(
        app.text(&format!("SELECT state || ' ' || CAST(refunded AS TEXT) FROM payment_attempts WHERE order_id = {id}"))
            .await
            .unwrap(),
        "partially_refunded 1000"
    );
    // A repeat of an older total changes nothing.
    let charge = json!({"id": "ch_1", "object": "charge", "payment_intent": format!("pi_for_{session}"),
        "amount": TOTAL, "amount_refunded": 500, "currency": "eur", "refunded": false});
    let body = event("evt_refund_older", "charge.refunded", &charge);
    post_webhook(
        &app.client,
        "stripe",
        &body,
        Some(&sign(WEBHOOK_SECRET, &body)),
    )
    .await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT refunded FROM payment_attempts WHERE order_id = {id}"
        ))
        .await,
        1000
    );
}

#[rocket::async_test]
async fn a_payment_whose_amount_or_currency_differs_is_flagged_for_an_admin_and_not_taken() {
    let fake = FakeStripe::start().await;
    let app = stripe_app(&fake).await;
    let admin = app.admin_browser("boss").await;
    for (i, (field, value)) in [("amount_total", json!(1)), ("currency", json!("usd"))]
        .into_iter()
        .enumerate()
    {
        let (ada, id) = member_with_order(&app, &format!("ada{i}"), &format!("mug{i}")).await;
        let session = open_session(&fake, &ada, id).await;
        fake.complete(&session, true);
        let object = fake.set(&session, field, value);
        let body = event(
            &format!("evt_wrong_{i}"),
            "checkout.session.completed",
            &object,
        );
        let r = post_webhook(
            &app.client,
            "stripe",
            &body,
            Some(&sign(WEBHOOK_SECRET, &body)),
        )
        .await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        assert_eq!(order_state(&app, id).await, "pending_payment", "{field}");
        let flag = app
            .text(&format!(
                "SELECT flag FROM payment_attempts WHERE order_id = {id}"
            ))
            .await
            .unwrap();
        assert!(flag.contains("amount mismatch"), "{field}: {flag}");
        let page = get(&ada, &format!("/shop/orders/{id}")).await;
        assert!(
            page.body.contains("needs a check by our staff"),
            "{}",
            page.body
        );
        let list = get(&admin, "/admin/payments").await;
        assert!(list.body.contains("amount mismatch"), "{}", list.body);
        // No page shows a secret.
        let order_page = get(&admin, &format!("/admin/shop/orders/{id}")).await;
        for body in [&list.body, &order_page.body, &page.body] {
            assert!(!body.contains(SECRET_KEY) && !body.contains(WEBHOOK_SECRET));
        }
    }
}

#[rocket::async_test]
async fn stripe_down_while_making_the_session_is_a_clear_message_and_the_retry_makes_one_session() {
    let fake = FakeStripe::start().await;
    let app = stripe_app(&fake).await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    fake.set_down(true);
    let r = press_pay(&ada, id).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some(format!("/shop/orders/{id}").as_str()));
    let page = get(&ada, &format!("/shop/orders/{id}")).await;
    assert!(
        page.body.contains("cannot be reached right now"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Nothing was charged"));
    assert!(page.body.contains("Pay €29.95"), "Pay is offered again");

    fake.set_down(false);
    let session = open_session(&fake, &ada, id).await;
    assert_eq!(fake.sessions_made(), 1);
    let keys = fake.create_keys();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[0], keys[1],
        "the retry carries the same Idempotency-Key"
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM payment_attempts WHERE order_id = {id}")
        )
        .await,
        1
    );
    assert!(session.starts_with("cs_test_fake"));
}

#[rocket::async_test]
async fn unknown_events_are_acknowledged_and_bad_requests_are_refused() {
    let fake = FakeStripe::start().await;
    let app = stripe_app(&fake).await;
    let body = event("evt_other", "customer.created", &json!({"id": "cus_1"}));
    let r = post_webhook(
        &app.client,
        "stripe",
        &body,
        Some(&sign(WEBHOOK_SECRET, &body)),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(
        app.text("SELECT state FROM payment_events WHERE event_id = 'evt_other'")
            .await
            .unwrap(),
        "ignored"
    );

    // Signed, but not an event.
    let r = post_webhook(
        &app.client,
        "stripe",
        "[]",
        Some(&sign(WEBHOOK_SECRET, "[]")),
    )
    .await;
    assert_eq!(r.status, Status::BadRequest);
    // The test provider's endpoint is not in use while Stripe is.
    let r = post_webhook(
        &app.client,
        "test",
        &body,
        Some(&sign(WEBHOOK_SECRET, &body)),
    )
    .await;
    assert_eq!(r.status, Status::NotFound);
    // Too large.
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(300 * 1024));
    let r = post_webhook(
        &app.client,
        "stripe",
        &big,
        Some(&sign(WEBHOOK_SECRET, &big)),
    )
    .await;
    assert_eq!(r.status, Status::PayloadTooLarge);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_events").await, 1);
}

#[rocket::async_test]
async fn money_for_an_order_that_was_cancelled_or_expired_is_flagged_for_an_admin_never_taken() {
    let fake = FakeStripe::start().await;
    let app = stripe_app(&fake).await;
    let admin = app.admin_browser("boss").await;
    for (i, how) in ["cancelled", "expired"].into_iter().enumerate() {
        let (ada, id) = member_with_order(&app, &format!("ada{i}"), &format!("mug{i}")).await;
        let session = open_session(&fake, &ada, id).await;
        if how == "cancelled" {
            // The customer gives up while the payment page is still open.
            let r = submit(
                &ada,
                &format!("/shop/orders/{id}"),
                &format!("/shop/orders/{id}/cancel"),
                &[],
            )
            .await;
            assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        } else {
            // What the shop's expiry job does to an unpaid order (its own
            // test is in tests/shop_orders.rs).
            app.exec(&format!(
                "UPDATE shop_orders SET state = 'expired' WHERE id = {id}"
            ))
            .await;
        }
        assert_eq!(order_state(&app, id).await, how);
        // Then the payment completes after all.
        let body = event(
            &format!("evt_late_{i}"),
            "checkout.session.completed",
            &fake.complete(&session, true),
        );
        let r = post_webhook(
            &app.client,
            "stripe",
            &body,
            Some(&sign(WEBHOOK_SECRET, &body)),
        )
        .await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        assert_eq!(order_state(&app, id).await, how, "not taken as paid");
        let flag = app
            .text(&format!(
                "SELECT flag FROM payment_attempts WHERE order_id = {id}"
            ))
            .await
            .unwrap();
        assert!(
            flag.contains(&format!("paid after the order was {how}")),
            "{flag}"
        );
        let list = get(&admin, "/admin/payments").await;
        assert!(
            list.body
                .contains(&format!("paid after the order was {how}")),
            "{}",
            list.body
        );
        let page = get(&admin, &format!("/admin/shop/orders/{id}")).await;
        assert!(page
            .body
            .contains(&format!("paid after the order was {how}")));
    }
}
