//! The shop (#17), part two: the order state machine, stock that is
//! released on cancel and expiry, customers' privacy, the mails, the admin
//! area, and the concurrency test: stock 10, 50 checkouts at once through
//! two app processes, exactly 10 orders.

use crate::common;
use common::html::unescape_html;
use common::json_api::user_with_token;
use common::shop::*;
use common::*;
use rocket::http::{Method, Status};

#[rocket::async_test]
async fn illegal_transitions_are_refused_with_a_clear_message() {
    let app = TestApp::spawn_for_members().await;
    let mug = seed_product(&app, "mug", 1250, 5).await;
    let (_, token) = user_with_token(&app, "ada", false).await;
    let (_, admin) = user_with_token(&app, "boss", true).await;
    let order = api_order(&app.client, &token, "a", &order_body(mug, 1))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let to = |state: &str| serde_json::json!({ "to": state }).to_string();
    let path = format!("/shop/api/admin/orders/{order}/transitions");
    // Unpaid orders cannot ship.
    let r = app
        .api(Method::Post, &path)
        .token(&admin)
        .json(&to("fulfilled"))
        .send()
        .await;
    assert_eq!(r.status, Status::Conflict, "{}", r.body);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("cannot become shipped"));
    // Customers may not move orders.
    let r = app
        .api(Method::Post, &path)
        .token(&token)
        .json(&to("paid"))
        .send()
        .await;
    assert_eq!(r.status, Status::Forbidden);
    for step in ["paid", "fulfilled", "completed"] {
        let r = app
            .api(Method::Post, &path)
            .token(&admin)
            .json(&to(step))
            .send()
            .await;
        assert_eq!(r.status, Status::Ok, "{step}: {}", r.body);
    }
    let r = app
        .api(Method::Post, &path)
        .token(&admin)
        .json(&to("cancelled"))
        .send()
        .await;
    assert_eq!(r.status, Status::Conflict);
    let r = app
        .api(Method::Post, &path)
        .token(&admin)
        .json(&to("nonsense"))
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    // Every step is on record with who made it.
    let history = app
        .api(Method::Get, &format!("/shop/api/orders/{order}"))
        .token(&token)
        .send()
        .await
        .json();
    let states: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["pending_payment", "paid", "fulfilled", "completed"]
    );
    assert_eq!(history["history"][1]["actor"], "boss");
    assert_eq!(
        stock_of(&app, mug).await,
        4,
        "a completed order keeps its stock"
    );
}

#[rocket::async_test]
async fn the_admin_order_page_refuses_an_illegal_step_and_records_tracking() {
    let app = TestApp::spawn_for_members().await;
    let mug = seed_product(&app, "mug", 1250, 5).await;
    let ada = app.member("ada").await;
    add_to_cart(&ada, "mug", mug, 1).await;
    let id = order_id(&checkout(&ada).await.0);
    let admin = app.admin_browser("boss").await;
    let page = format!("/admin/shop/orders/{id}");
    let action = format!("/admin/shop/orders/{id}/transition");
    let r = submit(&admin, &page, &action, &[("to", "completed")]).await;
    assert_eq!(r.status, Status::SeeOther);
    let shown = unescape_html(&get(&admin, &page).await.body);
    assert!(shown.contains("cannot become completed"), "{shown}");
    submit(
        &admin,
        &page,
        &action,
        &[("to", "paid"), ("note", "bank transfer")],
    )
    .await;
    submit(
        &admin,
        &page,
        &action,
        &[("to", "fulfilled"), ("tracking", "TRACK-42")],
    )
    .await;
    let mine = get(&ada, &format!("/shop/orders/{id}")).await;
    assert!(mine.body.contains("Shipped") && mine.body.contains("TRACK-42"));
    assert!(mine.body.contains("bank transfer") && mine.body.contains("boss"));
    // The customer is mailed when it is paid and when it ships.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox WHERE template = 'shop_order' AND to_addr = 'ada@example.org'").await, 2);
    let shipped = app.text("SELECT text_body FROM outbox WHERE template = 'shop_order' AND subject LIKE '%on its way%'").await.unwrap();
    assert!(shipped.contains("TRACK-42"));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'shop.order.transition'")
            .await,
        2
    );
}

#[rocket::async_test]
async fn cancelling_releases_the_stock_once() {
    let app = TestApp::spawn_for_members().await;
    let mug = seed_product(&app, "mug", 1250, 5).await;
    let ada = app.member("ada").await;
    add_to_cart(&ada, "mug", mug, 3).await;
    let id = order_id(&checkout(&ada).await.0);
    assert_eq!(stock_of(&app, mug).await, 2);
    let page = format!("/shop/orders/{id}");
    let r = submit(&ada, &page, &format!("/shop/orders/{id}/cancel"), &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(stock_of(&app, mug).await, 5);
    let again = post_raw(
        &ada,
        &format!("/shop/orders/{id}/cancel"),
        &[("csrf_token", &get(&ada, &page).await.csrf())],
        &[],
    )
    .await;
    assert_eq!(again.status, Status::SeeOther);
    assert_eq!(
        stock_of(&app, mug).await,
        5,
        "a second cancel changes nothing"
    );
    assert!(get(&ada, &page).await.body.contains("Cancelled"));
}

#[rocket::async_test]
async fn an_unpaid_order_expires_and_its_stock_is_released() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("shop.payment_timeout", 1))
            .merge(("jobs.poll_interval", 0.2))
            .merge(("signups_per_address_per_hour", 100))
    })
    .await;
    let mug = seed_product(&app, "mug", 1250, 5).await;
    let (_, token) = user_with_token(&app, "ada", false).await;
    let r = api_order(&app.client, &token, "e", &order_body(mug, 2)).await;
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(stock_of(&app, mug).await, 3);
    let mut state = String::new();
    for _ in 0..100 {
        state = app
            .text(&format!("SELECT state FROM shop_orders WHERE id = {id}"))
            .await
            .unwrap();
        if state == "expired" {
            break;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state, "expired");
    assert_eq!(stock_of(&app, mug).await, 5);
    let r = app
        .api(Method::Get, &format!("/shop/api/orders/{id}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(r.json()["history"][1]["actor"], "system");
}

#[rocket::async_test]
async fn a_paid_order_does_not_expire() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("shop.payment_timeout", 1))
            .merge(("jobs.poll_interval", 0.2))
            .merge(("signups_per_address_per_hour", 100))
    })
    .await;
    let mug = seed_product(&app, "mug", 1250, 5).await;
    let (_, token) = user_with_token(&app, "ada", false).await;
    let (_, admin) = user_with_token(&app, "boss", true).await;
    let id = api_order(&app.client, &token, "p", &order_body(mug, 2))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let r = app
        .api(
            Method::Post,
            &format!("/shop/api/admin/orders/{id}/transitions"),
        )
        .token(&admin)
        .json(r#"{"to": "paid"}"#)
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    for _ in 0..50 {
        if app
            .scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'shop_expire' AND state = 'done'")
            .await
            == 1
        {
            break;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.text(&format!("SELECT state FROM shop_orders WHERE id = {id}"))
            .await
            .unwrap(),
        "paid"
    );
    assert_eq!(stock_of(&app, mug).await, 3);
}

#[rocket::async_test]
async fn another_customers_order_is_not_found() {
    let app = TestApp::spawn_for_members().await;
    let mug = seed_product(&app, "mug", 1250, 5).await;
    let ada = app.member("ada").await;
    add_to_cart(&ada, "mug", mug, 1).await;
    let id = order_id(&checkout(&ada).await.0);
    let eve = app.member("eve").await;
    assert_eq!(
        get(&eve, &format!("/shop/orders/{id}")).await.status,
        Status::NotFound
    );
    let r = post_raw(
        &eve,
        &format!("/shop/orders/{id}/cancel"),
        &[("csrf_token", &get(&eve, "/shop").await.csrf())],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::NotFound);
    assert!(!get(&eve, "/shop/orders")
        .await
        .body
        .contains(&format!("Order {id}<")));
    let (_, token) = user_with_token(&app, "mallory", false).await;
    let r = app
        .api(Method::Get, &format!("/shop/api/orders/{id}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(
        app.text(&format!("SELECT state FROM shop_orders WHERE id = {id}"))
            .await
            .unwrap(),
        "pending_payment"
    );
    assert_eq!(
        app.get(&format!("/shop/orders/{id}")).await.status,
        Status::SeeOther,
        "visitors are sent to sign in"
    );
}

#[rocket::async_test]
async fn the_admin_sees_low_stock_filters_orders_and_exports_csv_without_formulas() {
    let app = TestApp::spawn_for_members().await;
    let mug = seed_product(&app, "mug", 1250, 3).await;
    seed_product(&app, "hat", 800, 50).await;
    let ada = app.member("ada").await;
    add_to_cart(&ada, "mug", mug, 1).await;
    let page = get(&ada, "/shop/checkout").await;
    let token = extract_value(&page.body, "token").unwrap();
    let mut fields = vec![("csrf_token", page.csrf()), ("token", token)];
    fields.extend(ADDRESS.iter().map(|(k, v)| (*k, v.to_string())));
    fields.retain(|(k, _)| *k != "address.name");
    fields.push(("address.name", "=HYPERLINK(\"http://evil\")".to_string()));
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_raw(&ada, "/shop/checkout", &refs, &[]).await;
    let admin = app.admin_browser("boss").await;
    let dash = get(&admin, "/admin/shop").await;
    assert_eq!(dash.status, Status::Ok);
    assert!(dash.body.contains("2 left"), "mug is low on stock");
    assert!(dash.body.contains("<svg"));
    assert!(!get(&admin, "/admin/shop?state=paid")
        .await
        .body
        .contains("Order "));
    assert!(
        get(&admin, "/admin/shop?state=pending_payment&customer=ada")
            .await
            .body
            .contains("Order ")
    );
    let csv = get(&admin, "/admin/shop/orders.csv").await;
    assert_eq!(csv.status, Status::Ok);
    assert!(
        csv.body.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{}",
        csv.body
    );
    assert!(csv.body.contains("\"12.50\""));
}

/// Stock 10, 50 customers' checkouts at once, split over two app
/// processes on the same database: exactly 10 orders, stock 0, and the
/// other 40 told it sold out.
#[rocket::async_test]
async fn fifty_concurrent_checkouts_through_two_processes_sell_stock_ten_exactly_ten_times() {
    let app = TestApp::spawn_for_members().await;
    let ticket = seed_product(&app, "ticket", 2000, 10).await;
    let (_, token) = user_with_token(&app, "crowd", false).await;
    let other = app.another_browser().await;
    let body = order_body(ticket, 1);
    let attempts = (0..50).map(|i| {
        let client = if i % 2 == 0 { &app.client } else { &other };
        let (token, body) = (token.clone(), body.clone());
        async move { api_order(client, &token, &format!("buy-{i}"), &body).await }
    });
    let answers = rocket::futures::future::join_all(attempts).await;
    let created = answers
        .iter()
        .filter(|r| r.status == Status::Created)
        .count();
    let sold_out: Vec<_> = answers
        .iter()
        .filter(|r| r.status == Status::Conflict)
        .collect();
    let others: Vec<_> = answers
        .iter()
        .filter(|r| r.status != Status::Created && r.status != Status::Conflict)
        .map(|r| (r.status, r.body.clone()))
        .collect();
    assert!(others.is_empty(), "{others:?}");
    assert_eq!(created, 10);
    assert_eq!(sold_out.len(), 40);
    assert!(sold_out
        .iter()
        .all(|r| r.json()["message"].as_str().unwrap().contains("Sold out")));
    assert_eq!(stock_of(&app, ticket).await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM shop_orders").await, 10);
    assert_eq!(
        app.scalar("SELECT CAST(SUM(quantity) AS BIGINT) FROM shop_order_lines")
            .await,
        10
    );
}
