//! The shop (#17), part one: money, the catalogue, images, the cart for
//! visitors and members (merged at sign-in) and checkout with its
//! idempotency. Orders, stock and concurrency: tests/shop_orders.rs.

use crate::common;
use common::html::unescape_html;
use common::json_api::user_with_token;
use common::shop::*;
use common::*;
use rocket::http::{ContentType, Header, Method, Status};

#[rocket::async_test]
async fn the_catalogue_shows_active_products_with_prices_in_the_site_currency() {
    let app = TestApp::spawn().await;
    seed_product(&app, "mug", 1250, 3).await;
    seed_product(&app, "poster", 500, 0).await;
    let draft = seed_product(&app, "secret", 100, 1).await;
    app.exec(&format!(
        "UPDATE shop_products SET active = 0 WHERE id = (SELECT product_id FROM shop_variants WHERE id = {draft})"
    ))
    .await;
    let r = app.get("/shop").await;
    assert_eq!(r.status, Status::Ok);
    assert!(
        r.body.contains("Product mug") && r.body.contains("€12.50"),
        "{}",
        r.body
    );
    assert!(r.body.contains("sold out"));
    assert!(!r.body.contains("Product secret"));
    assert_eq!(app.get("/shop/p/secret").await.status, Status::NotFound);
    let found = app.get("/shop?q=POST").await;
    assert!(found.body.contains("Product poster") && !found.body.contains("Product mug"));
    // The JSON catalogue is public, in minor units.
    let r = app
        .api(Method::Get, "/shop/api/products?q=mug")
        .send()
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert_eq!(r.json()["products"][0]["price"], 1250);
    let r = app
        .api(Method::Get, "/shop/api/products?limit=0")
        .send()
        .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn yen_has_no_decimals_and_kuwaiti_dinar_three() {
    let app = TestApp::spawn_with(|f| f.merge(("shop.currency", "JPY"))).await;
    seed_product(&app, "tea", 1200, 3).await;
    assert!(app.get("/shop/p/tea").await.body.contains("¥1,200"));
    let app = TestApp::spawn_with(|f| f.merge(("shop.currency", "KWD"))).await;
    seed_product(&app, "tea", 1250, 3).await;
    assert!(app.get("/shop/p/tea").await.body.contains("KWD 1.250"));
}

#[rocket::async_test]
async fn catalogue_pages_follow_the_last_id_and_end() {
    let app = TestApp::spawn().await;
    for i in 0..30 {
        seed_product(&app, &format!("p{i:02}"), 100, 1).await;
    }
    let first = app.get("/shop").await;
    assert!(first.body.contains("Product p00") && !first.body.contains("Product p24"));
    let next = unescape_html(&first.body);
    let at = next.find("/shop?q=&category=&after=").expect("a next link");
    let link: String = next[at..].chars().take_while(|c| *c != '"').collect();
    let second = app.get(&link).await;
    assert!(second.body.contains("Product p24") && second.body.contains("Product p29"));
    assert!(!second.body.contains("Product p00") && !second.body.contains("More products"));
}

#[rocket::async_test]
async fn product_descriptions_are_markdown_rendered_safely() {
    let app = TestApp::spawn().await;
    seed_product(&app, "book", 900, 1).await;
    app.exec("UPDATE shop_products SET description = '**Bold** <script>alert(1)</script>' WHERE slug = 'book'")
        .await;
    let r = app.get("/shop/p/book").await;
    assert!(r.body.contains("<strong>Bold</strong>"));
    assert!(!r.body.contains("<script>alert(1)"));
}

#[rocket::async_test]
async fn a_visitor_adds_changes_and_removes_cart_items_without_javascript() {
    let app = TestApp::spawn().await;
    let mug = seed_product(&app, "mug", 1250, 3).await;
    let r = add_to_cart(&app.client, "mug", mug, 2).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(r.set_cookie("gw_cart").is_some());
    let cart = app.get("/shop/cart").await;
    assert!(
        cart.body.contains("Product mug") && cart.body.contains("€25.00"),
        "{}",
        cart.body
    );
    // Adding more than the stock is capped at the stock.
    add_to_cart(&app.client, "mug", mug, 5).await;
    assert_eq!(app.scalar("SELECT quantity FROM shop_cart_items").await, 3);
    let r = app
        .submit(
            "/shop/cart",
            "/shop/cart/update",
            &[("variant_id", &mug.to_string()), ("quantity", "1")],
        )
        .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(app.scalar("SELECT quantity FROM shop_cart_items").await, 1);
    app.submit(
        "/shop/cart",
        "/shop/cart/update",
        &[("variant_id", &mug.to_string()), ("quantity", "0")],
    )
    .await;
    assert!(app
        .get("/shop/cart")
        .await
        .body
        .contains("Your cart is empty"));
    // Without the CSRF token nothing is added.
    let r = app
        .post_raw(
            "/shop/cart/add",
            &[("variant_id", &mug.to_string()), ("quantity", "1")],
        )
        .await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM shop_cart_items").await, 0);
}

#[rocket::async_test]
async fn the_cart_says_when_a_price_changed_or_an_item_sold_out() {
    let app = TestApp::spawn().await;
    let mug = seed_product(&app, "mug", 1250, 3).await;
    let hat = seed_product(&app, "hat", 800, 1).await;
    add_to_cart(&app.client, "mug", mug, 1).await;
    add_to_cart(&app.client, "hat", hat, 1).await;
    app.exec(&format!(
        "UPDATE shop_variants SET price = 1500 WHERE id = {mug}"
    ))
    .await;
    app.exec(&format!(
        "UPDATE shop_variants SET stock = 0 WHERE id = {hat}"
    ))
    .await;
    let cart = unescape_html(&app.get("/shop/cart").await.body);
    assert!(
        cart.contains("The price changed from €12.50 to €15.00"),
        "{cart}"
    );
    assert!(cart.contains("sold out since you added it"));
    assert!(!cart.contains("href=\"/shop/checkout\""));
}

#[rocket::async_test]
async fn a_visitors_cart_survives_sign_in_and_is_merged_capped_by_stock() {
    let app = TestApp::spawn_for_members().await;
    let mug = seed_product(&app, "mug", 1250, 4).await;
    let hat = seed_product(&app, "hat", 800, 5).await;
    // The member already has 3 mugs in their cart from another browser.
    let member = app.member("ada").await;
    add_to_cart(&member, "mug", mug, 3).await;
    // As a visitor in this browser: 2 mugs and a hat.
    add_to_cart(&app.client, "mug", mug, 2).await;
    add_to_cart(&app.client, "hat", hat, 1).await;
    // Checkout asks a visitor to sign in, and keeps the cart.
    let r = app.get("/shop/checkout").await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), Some("/login?next=/shop/checkout"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM shop_cart_items").await, 3);
    let r = app.login("ada@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let user = app
        .scalar("SELECT id FROM users WHERE username = 'ada'")
        .await;
    let cart = app
        .scalar(&format!("SELECT id FROM shop_carts WHERE user_id = {user}"))
        .await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT quantity FROM shop_cart_items WHERE cart_id = {cart} AND variant_id = {mug}"
        ))
        .await,
        4,
        "3 + 2 capped at the stock of 4"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT quantity FROM shop_cart_items WHERE cart_id = {cart} AND variant_id = {hat}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM shop_carts").await,
        1,
        "the visitor's cart is gone"
    );
    assert!(app.get("/shop/cart").await.body.contains("Product hat"));
}

#[rocket::async_test]
async fn an_order_copies_its_prices_and_later_price_changes_never_alter_it() {
    let app = TestApp::spawn_for_members().await;
    let mug = seed_product(&app, "mug", 1250, 5).await;
    let ada = app.member("ada").await;
    add_to_cart(&ada, "mug", mug, 2).await;
    let (r, _) = checkout(&ada).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let id = order_id(&r);
    assert_eq!(
        stock_of(&app, mug).await,
        3,
        "stock is reserved with the order"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM shop_cart_items").await,
        0,
        "the cart is emptied"
    );
    app.exec(&format!(
        "UPDATE shop_variants SET price = 9999 WHERE id = {mug}"
    ))
    .await;
    let page = get(&ada, &format!("/shop/orders/{id}")).await;
    assert_eq!(page.status, Status::Ok);
    assert!(
        page.body.contains("€12.50") && page.body.contains("€25.00"),
        "{}",
        page.body
    );
    assert!(page.body.contains("€29.95"), "total with €4.95 shipping");
    assert!(page.body.contains("Waiting for payment"));
    assert!(!page.body.contains("€99.99"));
    assert_eq!(
        app.scalar(&format!("SELECT total FROM shop_orders WHERE id = {id}"))
            .await,
        2995
    );
}

#[rocket::async_test]
async fn placing_the_same_checkout_twice_makes_one_order() {
    let app = TestApp::spawn_for_members().await;
    let mug = seed_product(&app, "mug", 1250, 5).await;
    let ada = app.member("ada").await;
    add_to_cart(&ada, "mug", mug, 1).await;
    let (first, token) = checkout(&ada).await;
    let id = order_id(&first);
    // The same form sent again (a double click, a reload).
    let csrf = get(&ada, "/shop/cart").await.csrf();
    let mut fields = vec![("csrf_token", csrf.as_str()), ("token", token.as_str())];
    fields.extend_from_slice(ADDRESS);
    let again = post_raw(&ada, "/shop/checkout", &fields, &[]).await;
    assert_eq!(order_id(&again), id);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM shop_orders").await, 1);
    assert_eq!(stock_of(&app, mug).await, 4);
}

#[rocket::async_test]
async fn checkout_refuses_a_missing_address_with_messages_and_keeps_the_input() {
    let app = TestApp::spawn_for_members().await;
    let mug = seed_product(&app, "mug", 1250, 5).await;
    let ada = app.member("ada").await;
    add_to_cart(&ada, "mug", mug, 1).await;
    let page = get(&ada, "/shop/checkout").await;
    let token = extract_value(&page.body, "token").unwrap();
    let r = post_raw(
        &ada,
        "/shop/checkout",
        &[
            ("csrf_token", &page.csrf()),
            ("token", &token),
            ("address.name", "<b>Ada</b>"),
            ("method", "standard"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("Enter the street and number."));
    assert!(!r.body.contains("<b>Ada</b>") && unescape_html(&r.body).contains("<b>Ada</b>"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM shop_orders").await, 0);
    assert_eq!(stock_of(&app, mug).await, 5);
}

#[rocket::async_test]
async fn members_can_save_an_address_for_next_time() {
    let app = TestApp::spawn_for_members().await;
    let mug = seed_product(&app, "mug", 1250, 5).await;
    let ada = app.member("ada").await;
    add_to_cart(&ada, "mug", mug, 1).await;
    let page = get(&ada, "/shop/checkout").await;
    let token = extract_value(&page.body, "token").unwrap();
    let csrf = page.csrf();
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("token", token.as_str()),
        ("save_address", "true"),
    ];
    fields.extend_from_slice(ADDRESS);
    post_raw(&ada, "/shop/checkout", &fields, &[]).await;
    add_to_cart(&ada, "mug", mug, 1).await;
    let page = get(&ada, "/shop/checkout").await;
    assert!(page.body.contains("12 Analytical Street"), "{}", page.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM shop_addresses").await, 1);
}

#[rocket::async_test]
async fn api_orders_honour_the_idempotency_key() {
    let app = TestApp::spawn_for_members().await;
    let mug = seed_product(&app, "mug", 1250, 5).await;
    let (_, token) = user_with_token(&app, "ada", false).await;
    let first = api_order(&app.client, &token, "k-1", &order_body(mug, 2)).await;
    assert_eq!(first.status, Status::Created, "{}", first.body);
    assert_eq!(first.json()["total"], 2995);
    assert_eq!(first.json()["lines"][0]["unit_price"], 1250);
    let again = api_order(&app.client, &token, "k-1", &order_body(mug, 2)).await;
    assert_eq!(again.status, Status::Created);
    assert_eq!(again.json()["id"], first.json()["id"]);
    let other = api_order(&app.client, &token, "k-1", &order_body(mug, 1)).await;
    assert_eq!(other.status, Status::UnprocessableEntity, "{}", other.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM shop_orders").await, 1);
    assert_eq!(stock_of(&app, mug).await, 3);
    let without = app
        .api(Method::Post, "/shop/api/orders")
        .token(&token)
        .json(&order_body(mug, 1))
        .send()
        .await;
    assert_eq!(without.status, Status::BadRequest);
    let r = app
        .api(Method::Post, "/shop/api/orders")
        .json(&order_body(mug, 1))
        .send()
        .await;
    assert_eq!(r.status, Status::Unauthorized);
}

/// A product made by an admin through the form, with an image upload.
#[rocket::async_test]
async fn admins_create_products_and_upload_images_checked_by_content() {
    let app = TestApp::spawn_for_members().await;
    let admin = app.admin_browser("boss").await;
    let r = submit(
        &admin,
        "/admin/shop/products/new",
        "/admin/shop/products",
        &[
            ("title", "Blue mug"),
            ("price", "12.5"),
            ("sku", "mug-1"),
            ("stock", "7"),
            ("active", "true"),
        ],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let id: i64 = r
        .location()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        app.scalar("SELECT price FROM shop_variants WHERE sku = 'MUG-1'")
            .await,
        1250
    );
    let bad = submit(
        &admin,
        "/admin/shop/products/new",
        "/admin/shop/products",
        &[
            ("title", "X"),
            ("price", "1.234"),
            ("sku", "x"),
            ("stock", "1"),
        ],
    )
    .await;
    assert_eq!(bad.status, Status::UnprocessableEntity);
    assert!(bad.body.contains("Use at most 2 decimals."));
    // Visitors may not reach the admin.
    assert_ne!(app.get("/admin/shop").await.status, Status::Ok);

    let page = get(&admin, &format!("/admin/shop/products/{id}")).await;
    let csrf = page.csrf();
    let upload = |bytes: &'static [u8], name: &'static str| {
        let csrf = csrf.clone();
        let admin = &admin;
        async move {
            let boundary = "XyZ";
            let mut body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n--{boundary}\r\n\
                 Content-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(bytes);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            let r = admin
                .post(format!("/admin/shop/products/{id}/images"))
                .header(
                    ContentType::new("multipart", "form-data").with_params(("boundary", boundary)),
                )
                .body(body)
                .dispatch()
                .await;
            Resp::read(r).await
        }
    };
    let svg = upload(b"<svg onload=alert(1)></svg>", "evil.png").await;
    assert_eq!(svg.status, Status::SeeOther);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM shop_images").await, 0);
    let png = upload(b"\x89PNG\r\n\x1a\n fake pixels", "pic.bin").await;
    assert_eq!(png.status, Status::SeeOther);
    let image = app.scalar("SELECT id FROM shop_images").await;
    let r = app.get(&format!("/shop/images/{image}")).await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert!(r.header("cache-control").unwrap().contains("max-age"));
    let etag = r.header("etag").unwrap().to_string();
    let again = app
        .client
        .get(format!("/shop/images/{image}"))
        .header(Header::new("If-None-Match", etag))
        .dispatch()
        .await;
    assert_eq!(again.status(), Status::NotModified);
}
