//! Checkout (members only): the address, the shipping method and the
//! summary, then placing the order once however often the form is sent.
//! `routes.rs` has the catalogue, cart and the customer's orders.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{get, post, routes, Route, State};

use super::addresses;
use super::cart;
use super::model::AddressForm;
use super::orders::{self, Checkout, Placed, Want};
use super::routes::cart_lines;
use super::views::*;
use super::Shop;
use crate::error::{AppResult, FieldErrors};
use crate::session::{random_token, CsrfForm, CurrentUser};
use crate::web::{Ctx, Layout, Reply};

/// The checkout form.
#[derive(Debug, FromForm)]
struct CheckoutForm {
    #[field(default = String::new())]
    token: String,
    #[field(default = String::new())]
    method: String,
    address_id: Option<i64>,
    address: AddressForm,
    #[field(default = false)]
    save_address: bool,
}

#[allow(clippy::too_many_arguments)]
async fn checkout_page(
    ctx: &Ctx<'_>,
    shop: &Shop,
    layout: Layout,
    user: &CurrentUser,
    lines: &[cart::Line],
    address: AddressForm,
    method: String,
    token: String,
    errors: FieldErrors,
    problem: Option<String>,
) -> AppResult<CheckoutPage> {
    let saved = addresses::addresses(ctx.db, user.id).await?;
    let address = match (address.name.is_empty(), saved.first()) {
        (true, Some((_, a))) => a.clone(),
        _ => address,
    };
    Ok(CheckoutPage {
        layout,
        lines: lines.iter().map(|l| LineView::of(shop, l)).collect(),
        subtotal: shop.money(lines.iter().map(|l| l.price * l.quantity).sum()),
        methods: shop
            .methods
            .iter()
            .map(|m| MethodView {
                code: m.code.clone(),
                label: format!("{}: {}", m.name, shop.money(m.price)),
            })
            .collect(),
        method: if method.is_empty() {
            shop.methods[0].code.clone()
        } else {
            method
        },
        saved: saved
            .into_iter()
            .map(|(id, a)| {
                (
                    id,
                    format!(
                        "{}, {}, {} {}, {}",
                        a.name, a.line1, a.postcode, a.city, a.country
                    ),
                )
            })
            .collect(),
        address,
        errors,
        token,
        problem,
    })
}

#[get("/shop/checkout")]
async fn checkout(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    layout: Layout,
    user: Option<CurrentUser>,
) -> AppResult<Reply> {
    let Some(me) = user else {
        return Ok(Reply::failure(
            "/login?next=/shop/checkout",
            "Please sign in or sign up to check out. Your cart is kept.",
        ));
    };
    let (_, lines) = cart_lines(&ctx, &Some(me.clone())).await?;
    if lines.is_empty() {
        return Ok(Reply::failure("/shop/cart", "Your cart is empty."));
    }
    let page = checkout_page(
        &ctx,
        shop,
        layout,
        &me,
        &lines,
        <AddressForm as Default>::default(),
        String::new(),
        random_token(),
        FieldErrors::default(),
        None,
    )
    .await?;
    Reply::page(&page)
}

#[post("/shop/checkout", data = "<form>")]
async fn place(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    layout: Layout,
    me: CurrentUser,
    form: CsrfForm<CheckoutForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let (cart_id, lines) = cart_lines(&ctx, &Some(me.clone())).await?;
    // A reload or double click after the order went through: show it.
    if let Some(id) = orders::by_checkout_token(ctx.db, me.id, &form.token).await? {
        return Ok(Reply::to(format!("/shop/orders/{id}")));
    }
    let saved = addresses::addresses(ctx.db, me.id).await?;
    let chosen = form
        .address_id
        .and_then(|id| saved.iter().find(|(s, _)| *s == id).map(|(_, a)| a.clone()));
    let mut errors = FieldErrors::default();
    let address = match chosen.unwrap_or(form.address.clone()).validate() {
        Ok(a) => Some(a),
        Err(e) => {
            errors = e;
            None
        }
    };
    let method = shop.method(&form.method).cloned();
    if method.is_none() {
        errors.add("method", "Choose a shipping method.");
    }
    if lines.is_empty() {
        return Ok(Reply::failure("/shop/cart", "Your cart is empty."));
    }
    let (Some(address), Some(method), true) = (address, method, form.token.len() >= 16) else {
        let page = checkout_page(
            &ctx,
            shop,
            layout,
            &me,
            &lines,
            form.address,
            form.method,
            random_token(),
            errors,
            None,
        )
        .await?;
        return Reply::page_with(Status::UnprocessableEntity, &page);
    };
    if form.save_address {
        addresses::save_address(ctx.db, me.id, &address).await?;
    }
    let wants: Vec<Want> = lines
        .iter()
        .map(|l| Want {
            variant_id: l.variant_id,
            quantity: l.quantity,
        })
        .collect();
    let checkout = Checkout {
        user_id: me.id,
        actor: &me.username,
        wants: &wants,
        address: &address,
        method: &method,
        token: &form.token,
        cart_id,
    };
    match orders::place(ctx.db, shop, &checkout).await? {
        Placed::Created(id) => Ok(Reply::success(
            format!("/shop/orders/{id}"),
            "Thank you! Your order is placed and waiting for payment.",
        )),
        Placed::Existing(id) => Ok(Reply::to(format!("/shop/orders/{id}"))),
        Placed::SoldOut(items) => {
            let problem = format!(
                "Sorry, not enough stock is left of: {}. Nothing was ordered; please change your cart.",
                items.join(", ")
            );
            let page = checkout_page(
                &ctx,
                shop,
                layout,
                &me,
                &lines,
                address,
                method.code,
                random_token(),
                FieldErrors::default(),
                Some(problem),
            )
            .await?;
            Reply::page_with(Status::Conflict, &page)
        }
    }
}

/// The checkout pages.
pub fn routes() -> Vec<Route> {
    routes![checkout, place]
}
