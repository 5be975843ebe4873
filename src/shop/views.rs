//! The shop pages' template structs. Amounts arrive formatted (see
//! `Shop::money`); descriptions rendered through `web::markdown`.

use askama::Template;

use super::cart::Line;
use super::catalogue::{Product, StockRow, Summary, Variant};
use super::model::{AddressForm, ProductForm};
use super::orders::{Event, Order, OrderLine};
use super::state::OrderState;
use super::Shop;
use crate::error::FieldErrors;
use crate::web::text::format_time;
use crate::web::Layout;

/// A product in a list.
pub struct Card {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub price: String,
    pub compare_at: Option<String>,
    pub sold_out: bool,
    pub draft: bool,
    pub image_id: Option<i64>,
    pub category: String,
}

impl Card {
    pub fn of(shop: &Shop, s: &Summary) -> Card {
        Card {
            id: s.id,
            slug: s.slug.clone(),
            title: s.title.clone(),
            price: shop.money(s.price),
            compare_at: s.compare_at.filter(|c| *c > s.price).map(|c| shop.money(c)),
            sold_out: s.stock < 1,
            draft: s.active == 0,
            image_id: s.image_id,
            category: s.category.clone().unwrap_or_default(),
        }
    }
}

/// `/shop`.
#[derive(Template)]
#[template(path = "shop/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub cards: Vec<Card>,
    pub q: String,
    pub category: String,
    pub categories: Vec<(String, String)>,
    /// The next page's address, when there is one.
    pub next: Option<String>,
}

/// A variant as the product page offers it.
pub struct VariantView {
    pub id: i64,
    pub label: String,
    pub stock: i64,
}

impl VariantView {
    pub fn of(shop: &Shop, v: &Variant) -> VariantView {
        let name = if v.name.is_empty() {
            "Standard".to_string()
        } else {
            v.name.clone()
        };
        let stock = if v.stock < 1 {
            " (sold out)".to_string()
        } else {
            format!(" ({} in stock)", v.stock)
        };
        VariantView {
            id: v.id,
            label: format!("{name}, {}{stock}", shop.money(v.price)),
            stock: v.stock,
        }
    }
}

/// `/shop/p/<slug>`.
#[derive(Template)]
#[template(path = "shop/product.html")]
pub struct ProductPage {
    pub layout: Layout,
    pub product: Product,
    /// The description, rendered and sanitised: safe for `|safe`.
    pub html: String,
    pub price: String,
    pub compare_at: Option<String>,
    pub variants: Vec<VariantView>,
    pub images: Vec<i64>,
}

impl ProductPage {
    /// True when no variant has stock.
    pub fn sold_out(&self) -> bool {
        self.variants.iter().all(|v| v.stock < 1)
    }
}

/// A cart line as the cart shows it.
pub struct LineView {
    pub line: Line,
    pub price: String,
    pub total: String,
    /// What changed since the line was added, if anything.
    pub notice: Option<String>,
}

impl LineView {
    pub fn of(shop: &Shop, l: &Line) -> LineView {
        let notice = if l.active == 0 || l.stock < 1 {
            Some("This item is no longer available (sold out since you added it).".to_string())
        } else if l.stock < l.quantity {
            Some(format!(
                "Only {} left: lower the quantity to check out.",
                l.stock
            ))
        } else if l.price_changed() {
            Some(format!(
                "The price changed from {} to {} since you added it.",
                shop.money(l.price_seen),
                shop.money(l.price)
            ))
        } else {
            None
        };
        LineView {
            line: l.clone(),
            price: shop.money(l.price),
            total: shop.money(l.price * l.quantity),
            notice,
        }
    }
}

/// `/shop/cart`.
#[derive(Template)]
#[template(path = "shop/cart.html")]
pub struct CartPage {
    pub layout: Layout,
    pub lines: Vec<LineView>,
    pub subtotal: String,
    pub blocked: bool,
}

/// A shipping method as checkout offers it.
pub struct MethodView {
    pub code: String,
    pub label: String,
}

/// `/shop/checkout`.
#[derive(Template)]
#[template(path = "shop/checkout.html")]
pub struct CheckoutPage {
    pub layout: Layout,
    pub lines: Vec<LineView>,
    pub subtotal: String,
    pub methods: Vec<MethodView>,
    pub method: String,
    pub saved: Vec<(i64, String)>,
    pub address: AddressForm,
    pub errors: FieldErrors,
    /// The one-order-per-token hidden field.
    pub token: String,
    /// Why the order was not placed (sold out), if it was tried.
    pub problem: Option<String>,
}

impl CheckoutPage {
    /// The address fields: name, label, value, autocomplete token.
    pub fn address_fields(&self) -> Vec<(&'static str, &'static str, &str, &'static str)> {
        let a = &self.address;
        vec![
            ("name", "Full name", a.name.as_str(), "name"),
            (
                "line1",
                "Street and number",
                a.line1.as_str(),
                "address-line1",
            ),
            (
                "line2",
                "More address (optional)",
                a.line2.as_str(),
                "address-line2",
            ),
            ("city", "Town or city", a.city.as_str(), "address-level2"),
            ("postcode", "Postcode", a.postcode.as_str(), "postal-code"),
            ("country", "Country", a.country.as_str(), "country-name"),
        ]
    }
}

/// An order as lists and pages show it.
pub struct OrderView {
    pub order: Order,
    pub state: OrderState,
    pub customer: String,
    pub placed: String,
    pub subtotal: String,
    pub shipping: String,
    pub total: String,
}

impl OrderView {
    pub fn of(shop: &Shop, o: &Order, customer: &str) -> OrderView {
        OrderView {
            order: o.clone(),
            state: o.state(),
            customer: customer.to_string(),
            placed: format_time(o.created_at),
            subtotal: shop.money(o.subtotal),
            shipping: shop.money(o.shipping),
            total: shop.money(o.total),
        }
    }
}

/// An order line with its prices formatted.
pub struct OrderLineView {
    pub line: OrderLine,
    pub price: String,
    pub total: String,
}

/// A history entry.
pub struct EventView {
    pub event: Event,
    pub to: String,
    pub at: String,
}

/// Lines and history formatted.
pub fn order_parts(
    shop: &Shop,
    lines: Vec<OrderLine>,
    events: Vec<Event>,
) -> (Vec<OrderLineView>, Vec<EventView>) {
    let lines = lines
        .into_iter()
        .map(|l| OrderLineView {
            price: shop.money(l.unit_price),
            total: shop.money(l.unit_price * l.quantity),
            line: l,
        })
        .collect();
    let events = events
        .into_iter()
        .map(|e| EventView {
            to: OrderState::parse(&e.to_state)
                .map(|s| s.label().to_string())
                .unwrap_or_default(),
            at: format_time(e.at),
            event: e,
        })
        .collect();
    (lines, events)
}

/// `/shop/orders`.
#[derive(Template)]
#[template(path = "shop/orders.html")]
pub struct OrdersPage {
    pub layout: Layout,
    pub orders: Vec<OrderView>,
}

/// `/shop/orders/<id>` (and the admin's order page, with `admin`).
#[derive(Template)]
#[template(path = "shop/order.html")]
pub struct OrderPage {
    pub layout: Layout,
    pub view: OrderView,
    pub lines: Vec<OrderLineView>,
    pub events: Vec<EventView>,
    pub may_cancel: bool,
    pub admin: bool,
    pub payment: super::payments::admin::PaymentBox,
}

/// `/admin/shop`.
#[derive(Template)]
#[template(path = "shop/admin.html")]
pub struct AdminPage {
    pub layout: Layout,
    pub cards: Vec<Card>,
    pub low: Vec<StockRow>,
    pub orders: Vec<OrderView>,
    pub states: Vec<(String, String)>,
    pub state: String,
    pub customer: String,
    pub days: i64,
    /// The 30-day chart, an SVG we drew: safe for `|safe`.
    pub chart: String,
}

/// `/admin/shop/products/new` and `/admin/shop/products/<id>`.
#[derive(Template)]
#[template(path = "shop/product_form.html")]
pub struct ProductFormPage {
    pub layout: Layout,
    pub id: Option<i64>,
    pub form: ProductForm,
    pub errors: FieldErrors,
    pub variants: Vec<Variant>,
    pub images: Vec<i64>,
    pub money: super::money::Currency,
}

impl ProductFormPage {
    /// The product's one-line fields: name, label, value, hint.
    pub fn text_fields(&self) -> Vec<(&'static str, &'static str, &str, &'static str)> {
        let f = &self.form;
        vec![
            ("title", "Title", f.title.as_str(), ""),
            (
                "slug",
                "Address (slug)",
                f.slug.as_str(),
                "Left empty, it is made from the title.",
            ),
            ("category", "Category (optional)", f.category.as_str(), ""),
            (
                "compare_at",
                "Compare-at price (optional)",
                f.compare_at.as_str(),
                "A higher earlier price, shown struck through.",
            ),
        ]
    }

    /// A new product's first variant: name, label, value.
    pub fn first_variant_fields(&self) -> Vec<(&'static str, &'static str, &str)> {
        let f = &self.form;
        vec![
            ("sku", "SKU", f.sku.as_str()),
            ("price", "Price (e.g. 12.50)", f.price.as_str()),
            ("stock", "Stock", f.stock.as_str()),
        ]
    }

    /// An amount in the site's currency.
    pub fn money(&self, minor: &i64) -> String {
        self.money.format(*minor)
    }
    pub fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/admin/shop/products/{id}"),
            None => "/admin/shop/products".into(),
        }
    }
}
