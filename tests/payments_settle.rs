//! Payments after the fact (issue 18): reconciliation settles a payment
//! whose webhook was lost, and keeps trying with backoff while Stripe is
//! down; admins refund part or all of a paid order, once per form however
//! often it is sent, with an optional restock.

use crate::common;
use common::stripe::*;
use common::*;

use rocket::http::Status;
use rocket::local::asynchronous::Client;

async fn order_state(app: &TestApp, id: i64) -> String {
    app.text(&format!("SELECT state FROM shop_orders WHERE id = {id}"))
        .await
        .unwrap_or_default()
}

/// Wait (up to 15 s) until `sql` gives `want`.
async fn wait_for(app: &TestApp, sql: &str, want: &str) -> String {
    let mut got = String::new();
    for _ in 0..150 {
        got = app.text(sql).await.unwrap_or_default();
        if got == want {
            break;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    got
}

async fn reconciling_app(fake: &FakeStripe) -> TestApp {
    TestApp::spawn_with(|f| {
        fake.configure(f)
            .merge(("signups_per_address_per_hour", 100))
            .merge(("jobs.poll_interval", 0.2))
            .merge(("payments.reconcile_after", 0))
            .merge(("payments.reconcile_interval", 1))
            .merge(("payments.reconcile_backoff", 1))
    })
    .await
}

async fn open_session(client: &Client, id: i64) -> String {
    let r = press_pay(client, id).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    session_of(r.location().expect("a redirect"))
}

#[rocket::async_test]
async fn a_payment_whose_webhook_was_lost_is_settled_by_reconciliation() {
    let fake = FakeStripe::start().await;
    let app = reconciling_app(&fake).await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    let session = open_session(&ada, id).await;
    // Paid at Stripe; the webhook never arrives.
    fake.complete(&session, true);
    let sql = format!("SELECT state FROM shop_orders WHERE id = {id}");
    assert_eq!(wait_for(&app, &sql, "paid").await, "paid");
    assert_eq!(
        app.text("SELECT source || ' ' || state FROM payment_events")
            .await
            .unwrap(),
        "reconciliation processed"
    );
    // The webhook that finally arrives changes nothing more.
    let body = event(
        "evt_late",
        "checkout.session.completed",
        &fake.session(&session),
    );
    let r = post_webhook(
        &app.client,
        "stripe",
        &body,
        Some(&sign(WEBHOOK_SECRET, &body)),
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM shop_order_events WHERE order_id = {id} AND to_state = 'paid'"
        ))
        .await,
        1
    );
}

#[rocket::async_test]
async fn reconciliation_backs_off_while_stripe_is_down_and_settles_when_it_is_back() {
    let fake = FakeStripe::start().await;
    let app = reconciling_app(&fake).await;
    let (ada, id) = member_with_order(&app, "ada", "mug").await;
    let session = open_session(&ada, id).await;
    // Down first, so no run can settle it before the outage.
    fake.set_down(true);
    fake.complete(&session, true);
    let checks = format!("SELECT CASE WHEN checks >= 2 THEN 'tried' ELSE 'not yet' END FROM payment_attempts WHERE order_id = {id}");
    assert_eq!(wait_for(&app, &checks, "tried").await, "tried");
    assert_eq!(order_state(&app, id).await, "pending_payment");
    let error = app
        .text(&format!(
            "SELECT last_error FROM payment_attempts WHERE order_id = {id}"
        ))
        .await
        .unwrap();
    assert!(error.contains("503"), "{error}");
    fake.set_down(false);
    let sql = format!("SELECT state FROM shop_orders WHERE id = {id}");
    assert_eq!(wait_for(&app, &sql, "paid").await, "paid");
}

/// An order paid through Stripe (by webhook); the admin's browser.
async fn paid_order(app: &TestApp, fake: &FakeStripe) -> (i64, i64, Client) {
    let variant = common::shop::seed_product(app, "mug", 1250, 10).await;
    let ada = app.member("ada").await;
    common::shop::add_to_cart(&ada, "mug", variant, 2).await;
    let (r, _) = common::shop::checkout(&ada).await;
    let id = common::shop::order_id(&r);
    let session = open_session(&ada, id).await;
    let body = event(
        "evt_paid",
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
    assert_eq!(order_state(app, id).await, "paid");
    (id, variant, app.admin_browser("boss").await)
}

/// Send the refund form of order `id`'s admin page with `amount`; the
/// form's key, so that it can be sent again.
async fn refund(
    admin: &Client,
    id: i64,
    amount: &str,
    restock: bool,
    key: Option<&str>,
) -> (Resp, String) {
    let page = get(admin, &format!("/admin/shop/orders/{id}")).await;
    let key = key
        .map(str::to_string)
        .unwrap_or_else(|| extract_value(&page.body, "key").expect("a refund form"));
    let csrf = page.csrf();
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("key", key.as_str()),
        ("amount", amount),
    ];
    if restock {
        fields.push(("restock", "true"));
    }
    (
        post_raw(
            admin,
            &format!("/admin/shop/orders/{id}/refund"),
            &fields,
            &[],
        )
        .await,
        key,
    )
}

#[rocket::async_test]
async fn partial_then_full_refunds_show_on_the_order_and_a_double_submit_refunds_once() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with(|f| {
        fake.configure(f)
            .merge(("signups_per_address_per_hour", 100))
    })
    .await;
    let (id, variant, admin) = paid_order(&app, &fake).await;
    assert_eq!(common::shop::stock_of(&app, variant).await, 8);

    let (r, key) = refund(&admin, id, "10.00", false, None).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    // The same form sent again (a double click).
    let (again, _) = refund(&admin, id, "10.00", false, Some(&key)).await;
    assert_eq!(again.status, Status::SeeOther);
    assert_eq!(fake.refunds().len(), 1, "refunded once");
    assert_eq!(fake.refunds()[0]["amount"], 1000);
    assert_eq!(order_state(&app, id).await, "partially_refunded");
    let page = get(&admin, &format!("/admin/shop/orders/{id}")).await;
    assert!(page.body.contains("Partly refunded"), "{}", page.body);
    assert!(page.body.contains("at most €19.95"), "{}", page.body);

    // More than is left is refused, with nothing sent to Stripe.
    let (r, _) = refund(&admin, id, "20.00", false, None).await;
    assert_eq!(r.status, Status::SeeOther);
    assert!(get(&admin, &format!("/admin/shop/orders/{id}"))
        .await
        .body
        .contains("between"));
    assert_eq!(fake.refunds().len(), 1);

    // The rest, with the items back in stock.
    let (r, _) = refund(&admin, id, "19.95", true, None).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(fake.refunds().len(), 2);
    assert_eq!(order_state(&app, id).await, "refunded");
    assert_eq!(common::shop::stock_of(&app, variant).await, 10);
    assert_eq!(
        app.text(&format!("SELECT state || ' ' || CAST(refunded AS TEXT) FROM payment_attempts WHERE order_id = {id}"))
            .await
            .unwrap(),
        "refunded 2995"
    );
    // Stripe's own reports of the same refunds change nothing.
    let charge = serde_json::json!({"id": "ch_1", "object": "charge", "payment_intent": fake.refunds()[0]["payment_intent"],
        "amount": 2995, "amount_refunded": 2995});
    let body = event("evt_charge_refunded", "charge.refunded", &charge);
    let r = post_webhook(
        &app.client,
        "stripe",
        &body,
        Some(&sign(WEBHOOK_SECRET, &body)),
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(common::shop::stock_of(&app, variant).await, 10);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM shop_order_events WHERE order_id = {id} AND to_state = 'refunded'")).await,
        1
    );
}

#[rocket::async_test]
async fn a_refund_while_stripe_is_down_refunds_nothing_and_the_same_form_works_later() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with(|f| {
        fake.configure(f)
            .merge(("signups_per_address_per_hour", 100))
    })
    .await;
    let (id, _, admin) = paid_order(&app, &fake).await;
    fake.set_down(true);
    let (r, key) = refund(&admin, id, "29.95", false, None).await;
    assert_eq!(r.status, Status::SeeOther);
    let page = get(&admin, &format!("/admin/shop/orders/{id}")).await;
    assert!(page.body.contains("Nothing was refunded"), "{}", page.body);
    assert_eq!(order_state(&app, id).await, "paid");
    fake.set_down(false);
    let (r, _) = refund(&admin, id, "29.95", false, Some(&key)).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(fake.refunds().len(), 1);
    assert_eq!(order_state(&app, id).await, "refunded");
    // Members who are not admins cannot refund.
    let eve = app.member("eve").await;
    let csrf = get(&eve, "/shop").await.csrf();
    let r = post_raw(
        &eve,
        &format!("/admin/shop/orders/{id}/refund"),
        &[("csrf_token", &csrf), ("key", "k"), ("amount", "1")],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(fake.refunds().len(), 1);
}

/// Send the "refund items" form of order `id`'s admin page for `quantity`
/// of its line `line`; the form's key, so that it can be sent again.
async fn refund_items(
    admin: &Client,
    id: i64,
    line: i64,
    quantity: &str,
    restock: bool,
    key: Option<&str>,
) -> (Resp, String) {
    let page = get(admin, &format!("/admin/shop/orders/{id}")).await;
    let key = key.map(str::to_string).unwrap_or_else(|| {
        let form = &page.body[page.body.find("Refund items").expect("the items form")..];
        extract_value(form, "key").expect("its key")
    });
    let csrf = page.csrf();
    let name = format!("lines[{line}]");
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("key", key.as_str()),
        ("by", "lines"),
        (name.as_str(), quantity),
    ];
    if restock {
        fields.push(("restock", "true"));
    }
    let r = post_raw(
        admin,
        &format!("/admin/shop/orders/{id}/refund"),
        &fields,
        &[],
    )
    .await;
    (r, key)
}

#[rocket::async_test]
async fn a_refund_of_items_is_their_price_restocks_them_and_never_refunds_a_line_twice() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with(|f| {
        fake.configure(f)
            .merge(("signups_per_address_per_hour", 100))
    })
    .await;
    let (id, variant, admin) = paid_order(&app, &fake).await;
    let line = app
        .scalar(&format!(
            "SELECT id FROM shop_order_lines WHERE order_id = {id}"
        ))
        .await;
    assert_eq!(common::shop::stock_of(&app, variant).await, 8);
    let page = get(&admin, &format!("/admin/shop/orders/{id}")).await;
    assert!(page.body.contains("Refund items"), "{}", page.body);
    assert!(page.body.contains(&format!("name=\"lines[{line}]\"")));

    // One of the two mugs, back in stock: its price, computed here.
    let (r, key) = refund_items(&admin, id, line, "1", true, None).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let (again, _) = refund_items(&admin, id, line, "1", true, Some(&key)).await;
    assert_eq!(again.status, Status::SeeOther);
    assert_eq!(fake.refunds().len(), 1, "refunded once");
    assert_eq!(fake.refunds()[0]["amount"], 1250);
    assert_eq!(order_state(&app, id).await, "partially_refunded");
    assert_eq!(common::shop::stock_of(&app, variant).await, 9);

    // Two more than the one left, or none, or nonsense: refused, nothing sent.
    for (quantity, says) in [
        ("2", "At most 1 of"),
        ("0", "Choose how many of which items"),
        ("lots", "whole number"),
    ] {
        let (r, _) = refund_items(&admin, id, line, quantity, false, None).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        let page = get(&admin, &format!("/admin/shop/orders/{id}")).await;
        assert!(page.body.contains(says), "{quantity}: {}", page.body);
    }
    assert_eq!(fake.refunds().len(), 1);

    // The rest by amount, restocking: only the mug not yet put back.
    let (r, _) = refund(&admin, id, "17.45", true, None).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(fake.refunds().len(), 2);
    assert_eq!(fake.refunds()[1]["amount"], 1745);
    assert_eq!(order_state(&app, id).await, "refunded");
    assert_eq!(common::shop::stock_of(&app, variant).await, 10);
    let page = get(&admin, &format!("/admin/shop/orders/{id}")).await;
    assert!(!page.body.contains("Refund items"));
}
