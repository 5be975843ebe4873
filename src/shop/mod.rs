//! The shop (issue 17): a catalogue with variants, categories and images,
//! a cart for visitors and members (merged at sign-in through the session
//! layer's sign-in hooks), checkout for members that reserves stock in the
//! order's own transaction, and orders that move through one state machine
//! (`state.rs`). An order ends "waiting for payment" until `payments/`
//! (issue 18) marks it paid from a signed webhook.
//!
//! `money.rs` (amounts and currencies), `model.rs` (input and validation),
//! `state.rs` (which transitions are legal), `catalogue.rs` and `cart.rs`
//! and `orders.rs` (SQL), `images.rs` (uploads and serving), `routes.rs`
//! (catalogue, cart and checkout pages), `admin.rs` (`/admin/shop`),
//! `api.rs` (JSON), `views.rs` (templates), `payments/` (issue 18: paying
//! for orders, webhooks, reconciliation, refunds).

mod addresses;
mod admin;
mod admin_api;
mod api;
pub mod cart;
pub mod catalogue;
mod chart;
mod checkout;
mod expiry;
mod images;
pub mod model;
pub mod money;
mod order_reads;
pub mod orders;
pub mod payments;
mod routes;
pub mod state;
mod views;

use rocket::fairing::AdHoc;
use rocket::Route;
use serde::{Deserialize, Serialize};

use money::Currency;

/// One way to ship an order, with its price in minor units.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ShippingMethod {
    pub code: String,
    pub name: String,
    pub price: i64,
}

/// The `shop` table of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ShopConfig {
    /// The site's one ISO 4217 currency.
    pub currency: String,
    /// The shipping methods offered at checkout.
    pub shipping_methods: Vec<ShippingMethod>,
    /// Seconds an order may wait for payment before it expires and its
    /// stock is released.
    pub payment_timeout: i64,
    /// Variants with this much stock or less are on the low-stock list.
    pub low_stock: i64,
    /// Largest product image, in bytes.
    pub image_max_bytes: u64,
}

impl Default for ShopConfig {
    fn default() -> Self {
        ShopConfig {
            currency: "EUR".into(),
            shipping_methods: vec![
                ShippingMethod {
                    code: "standard".into(),
                    name: "Standard (3–5 days)".into(),
                    price: 495,
                },
                ShippingMethod {
                    code: "express".into(),
                    name: "Express (next day)".into(),
                    price: 1295,
                },
            ],
            payment_timeout: 1800,
            low_stock: 5,
            image_max_bytes: 1024 * 1024,
        }
    }
}

/// The checked settings every shop handler reads.
#[derive(Debug, Clone)]
pub struct Shop {
    pub currency: Currency,
    pub methods: Vec<ShippingMethod>,
    pub payment_timeout: i64,
    pub low_stock: i64,
    pub image_max_bytes: u64,
}

impl Shop {
    fn from_config(cfg: ShopConfig) -> Result<Shop, String> {
        let currency = Currency::parse(&cfg.currency)?;
        if cfg.shipping_methods.is_empty() {
            return Err("shop.shipping_methods needs at least one method".into());
        }
        if cfg.shipping_methods.iter().any(|m| m.price < 0) {
            return Err("shop.shipping_methods prices must not be negative".into());
        }
        if cfg.payment_timeout < 1 || cfg.image_max_bytes < 1 {
            return Err("shop.payment_timeout and shop.image_max_bytes must be positive".into());
        }
        Ok(Shop {
            currency,
            methods: cfg.shipping_methods,
            payment_timeout: cfg.payment_timeout,
            low_stock: cfg.low_stock,
            image_max_bytes: cfg.image_max_bytes,
        })
    }

    /// `minor` in the site's currency, formatted.
    pub fn money(&self, minor: i64) -> String {
        self.currency.format(minor)
    }

    /// The shipping method called `code`.
    pub fn method(&self, code: &str) -> Option<&ShippingMethod> {
        self.methods.iter().find(|m| m.code == code)
    }
}

/// The JSON API routes of the shop (the OpenAPI test checks each is documented).
pub fn api_routes() -> Vec<Route> {
    api::routes()
}

/// The shop, as a Rocket stage: its settings, the order-expiry job, the
/// cart merge at sign-in, and its routes. Attach after `jobs` and `session`.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Shop", |rocket| async {
        let shop = match crate::config::section::<ShopConfig>(rocket.figment(), "shop")
            .and_then(Shop::from_config)
        {
            Ok(shop) => shop,
            Err(problem) => {
                log::error!("invalid shop configuration: {problem}");
                return Err(rocket);
            }
        };
        let (Some(registry), Some(hooks)) = (
            rocket.state::<crate::jobs::Registry>(),
            rocket.state::<crate::session::SignInHooks>(),
        ) else {
            log::error!("the shop stage needs the jobs and session stages attached before it");
            return Err(rocket);
        };
        expiry::register_jobs(registry);
        hooks.register("shop cart merge", |db, cookies, user_id| {
            Box::pin(cart::merge_at_sign_in(db, cookies, user_id))
        });
        // Payments need the database pool, which its own stage manages in
        // a fairing of its own: attached now, this one runs after it.
        let for_payments = shop.clone();
        let rocket = rocket.attach(AdHoc::try_on_ignite("Payments", move |rocket| async move {
            payments::install(rocket, &for_payments)
        }));
        Ok(rocket
            .manage(shop)
            .mount("/", routes::routes())
            .mount("/", admin::routes())
            .mount("/", images::routes())
            .mount("/", api_routes()))
    })
}
