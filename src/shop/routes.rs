//! The shop pages: catalogue, product, cart (visitors and members) and
//! the customer's orders (checkout is in `checkout.rs`). Every form carries the
//! CSRF token; everything works without JavaScript.

use rocket::form::FromForm;
use rocket::{get, post, routes, Route, State};

use super::cart::{self, Owner};
use super::catalogue::{self, ListQuery};
use super::model::{quantity, QUERY_MAX};
use super::orders::{self, Change};
use super::state::OrderState;
use super::views::*;
use super::Shop;
use crate::config::AppConfig;
use crate::error::{AppError, AppResult};
use crate::session::{CsrfForm, CurrentUser, NoFields};
use crate::web::markdown::render_markdown;
use crate::web::{enc, Ctx, Layout, Reply};

/// Products per catalogue page.
pub const PAGE_SIZE: i64 = 24;

fn owner(user: &Option<CurrentUser>) -> Owner {
    match user {
        Some(u) => Owner::Member(u.id),
        None => Owner::Visitor,
    }
}

#[get("/shop?<q>&<category>&<after>")]
async fn list(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    layout: Layout,
    q: Option<String>,
    category: Option<String>,
    after: Option<i64>,
) -> AppResult<Reply> {
    let q: String = q.unwrap_or_default().chars().take(QUERY_MAX).collect();
    let category = category.unwrap_or_default();
    let query = ListQuery {
        q: &q,
        category: &category,
        after: after.unwrap_or(0).max(0),
        limit: PAGE_SIZE,
        include_drafts: false,
    };
    let (rows, more) = catalogue::list(ctx.db, &query).await?;
    let next = match rows.last() {
        Some(last) if more => Some(format!(
            "/shop?q={}&category={}&after={}",
            enc(&q),
            enc(&category),
            last.id
        )),
        _ => None,
    };
    Reply::page(&ListPage {
        layout,
        cards: rows.iter().map(|s| Card::of(shop, s)).collect(),
        q,
        category,
        categories: catalogue::categories(ctx.db).await?,
        next,
    })
}

#[get("/shop/p/<slug>")]
async fn product(ctx: Ctx<'_>, shop: &State<Shop>, layout: Layout, slug: &str) -> AppResult<Reply> {
    let admin = layout.user.as_ref().is_some_and(|u| u.is_admin);
    let product = catalogue::by_slug(ctx.db, slug, admin)
        .await?
        .ok_or(AppError::NotFound)?;
    let variants = catalogue::variants(ctx.db, product.id).await?;
    let lowest = variants.iter().map(|v| v.price).min().unwrap_or(0);
    Reply::page(&ProductPage {
        html: render_markdown(&product.description),
        price: shop.money(lowest),
        compare_at: product
            .compare_at
            .filter(|c| *c > lowest)
            .map(|c| shop.money(c)),
        variants: variants.iter().map(|v| VariantView::of(shop, v)).collect(),
        images: catalogue::image_ids(ctx.db, product.id).await?,
        product,
        layout,
    })
}

/// "Add to cart" and "change quantity".
#[derive(Debug, FromForm)]
struct LineForm {
    variant_id: i64,
    #[field(default = String::from("1"))]
    quantity: String,
}

#[post("/shop/cart/add", data = "<form>")]
async fn add(
    ctx: Ctx<'_>,
    user: Option<CurrentUser>,
    form: CsrfForm<LineForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let n = quantity(&form.quantity, false).map_err(AppError::BadRequest)?;
    let secure = ctx.cfg.cookies_secure();
    let cart_id = cart::find_or_create(ctx.db, ctx.cookies, owner(&user), secure).await?;
    match cart::add(ctx.db, cart_id, form.variant_id, n).await {
        Ok(()) => Ok(Reply::success("/shop/cart", "Added to your cart.")),
        Err(AppError::Conflict(m)) => Ok(Reply::failure("/shop/cart", m)),
        Err(e) => Err(e),
    }
}

#[post("/shop/cart/update", data = "<form>")]
async fn update(
    ctx: Ctx<'_>,
    user: Option<CurrentUser>,
    form: CsrfForm<LineForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let n = match quantity(&form.quantity, true) {
        Ok(n) => n,
        Err(m) => return Ok(Reply::failure("/shop/cart", m)),
    };
    let cart_id = cart::find(ctx.db, ctx.cookies, owner(&user))
        .await?
        .ok_or(AppError::NotFound)?;
    if !cart::set_quantity(ctx.db, cart_id, form.variant_id, n).await? {
        return Err(AppError::NotFound);
    }
    let message = if n == 0 {
        "Removed from your cart."
    } else {
        "Cart updated."
    };
    Ok(Reply::success("/shop/cart", message))
}

pub(super) async fn cart_lines(
    ctx: &Ctx<'_>,
    user: &Option<CurrentUser>,
) -> AppResult<(Option<i64>, Vec<cart::Line>)> {
    match cart::find(ctx.db, ctx.cookies, owner(user)).await? {
        Some(id) => Ok((Some(id), cart::lines(ctx.db, id).await?)),
        None => Ok((None, Vec::new())),
    }
}

#[get("/shop/cart")]
async fn show_cart(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    layout: Layout,
    user: Option<CurrentUser>,
) -> AppResult<Reply> {
    let (_, lines) = cart_lines(&ctx, &user).await?;
    Reply::page(&CartPage {
        layout,
        subtotal: shop.money(lines.iter().map(|l| l.price * l.quantity).sum()),
        blocked: lines.iter().any(cart::Line::unavailable),
        lines: lines.iter().map(|l| LineView::of(shop, l)).collect(),
    })
}

#[get("/shop/orders")]
async fn my_orders(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    layout: Layout,
    me: CurrentUser,
) -> AppResult<Reply> {
    let filter = orders::Filter {
        user_id: Some(me.id),
        ..Default::default()
    };
    let rows = orders::list(ctx.db, &filter).await?;
    Reply::page(&OrdersPage {
        layout,
        orders: rows
            .iter()
            .map(|(o, u)| OrderView::of(shop, o, u))
            .collect(),
    })
}

/// The order page, for its customer or an admin.
pub async fn order_page(
    ctx: &Ctx<'_>,
    env: &super::payments::webhook::Env,
    layout: Layout,
    id: i64,
    customer: Option<i64>,
    admin: bool,
    returned: Option<&str>,
) -> AppResult<Reply> {
    let order = orders::get(ctx.db, id, customer)
        .await?
        .ok_or(AppError::NotFound)?;
    let shop = &env.shop;
    let payment = super::payments::admin::order_box(ctx.db, env, &order, returned, admin).await?;
    let (lines, events) = orders::details(ctx.db, id).await?;
    let (lines, events) = order_parts(shop, lines, events);
    let may_cancel = super::state::may_transition(order.state(), OrderState::Cancelled)
        && (admin || order.state() == OrderState::PendingPayment);
    Reply::page(&OrderPage {
        layout,
        view: OrderView::of(shop, &order, ""),
        lines,
        events,
        may_cancel,
        admin,
        payment,
    })
}

/// `payment=returned|cancelled|declined`: where the payment provider sent
/// the customer back from (a message only: never taken as payment).
#[get("/shop/orders/<id>?<payment>")]
async fn order(
    ctx: Ctx<'_>,
    env: &State<super::payments::webhook::Env>,
    layout: Layout,
    me: CurrentUser,
    id: i64,
    payment: Option<&str>,
) -> AppResult<Reply> {
    order_page(&ctx, env, layout, id, Some(me.id), false, payment).await
}

/// A customer cancels their own order while it waits for payment.
#[post("/shop/orders/<id>/cancel", data = "<_form>")]
async fn cancel(
    ctx: Ctx<'_>,
    cfg: &State<AppConfig>,
    shop: &State<Shop>,
    me: CurrentUser,
    id: i64,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let order = orders::get(ctx.db, id, Some(me.id))
        .await?
        .ok_or(AppError::NotFound)?;
    if order.state() != OrderState::PendingPayment {
        return Ok(Reply::failure(
            format!("/shop/orders/{id}"),
            super::state::refusal(order.state(), OrderState::Cancelled),
        ));
    }
    let change = Change {
        to: OrderState::Cancelled,
        actor: &me.username,
        note: "Cancelled by the customer.",
        tracking: None,
    };
    match orders::transition(ctx.db, &cfg.base_url, shop, id, &change).await {
        Ok(()) => Ok(Reply::success(
            format!("/shop/orders/{id}"),
            "Order cancelled.",
        )),
        Err(AppError::Conflict(m)) => Ok(Reply::failure(format!("/shop/orders/{id}"), m)),
        Err(e) => Err(e),
    }
}

/// The shop's pages.
pub fn routes() -> Vec<Route> {
    routes![list, product, add, update, show_cart, my_orders, order, cancel]
        .into_iter()
        .chain(super::checkout::routes())
        .collect()
}
