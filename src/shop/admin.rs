//! `/admin/shop`: products and variants, stock (with the low-stock list),
//! orders with filters, the order page with its transitions, a 30-day
//! chart and a CSV export. Admins only; a transition an admin makes on a
//! customer's order is written to the audit log.

use rocket::form::FromForm;
use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder, Response};
use rocket::{get, post, routes, Request, Route, State};

use super::catalogue::{self, ListQuery};
use super::model::{ProductForm, VariantForm};
use super::orders::{self, Change, Filter};
use super::state::{OrderState, ALL};
use super::views::{AdminPage, Card, OrderView, ProductFormPage};
use super::{chart, Shop};
use crate::audit::{self, Actor};
use crate::db::now;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::session::{AdminUser, CsrfForm};
use crate::web::{Ctx, Layout, Reply};

fn filter_of(state: Option<String>, customer: Option<String>, days: Option<i64>) -> (Filter, i64) {
    let days = days.unwrap_or(0).clamp(0, 3650);
    let filter = Filter {
        user_id: None,
        state: state.as_deref().and_then(OrderState::parse),
        since: if days > 0 { now() - days * 86_400 } else { 0 },
        customer: customer.unwrap_or_default().chars().take(100).collect(),
    };
    (filter, days)
}

#[get("/admin/shop?<state>&<customer>&<days>")]
async fn dashboard(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    _admin: AdminUser,
    layout: Layout,
    state: Option<String>,
    customer: Option<String>,
    days: Option<i64>,
) -> AppResult<Reply> {
    let (filter, days) = filter_of(state, customer, days);
    let query = ListQuery {
        q: "",
        category: "",
        after: 0,
        limit: 200,
        include_drafts: true,
    };
    let (products, _) = catalogue::list(ctx.db, &query).await?;
    let rows = orders::list(ctx.db, &filter).await?;
    let per_day = chart::per_day(ctx.db, 30).await?;
    Reply::page(&AdminPage {
        layout,
        cards: products.iter().map(|s| Card::of(shop, s)).collect(),
        low: catalogue::low_stock(ctx.db, shop.low_stock).await?,
        orders: rows
            .iter()
            .map(|(o, u)| OrderView::of(shop, o, u))
            .collect(),
        states: ALL
            .iter()
            .map(|s| (s.as_str().to_string(), s.label().to_string()))
            .collect(),
        state: filter
            .state
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        customer: filter.customer,
        days,
        chart: chart::svg(shop, &per_day),
    })
}

fn form_page(layout: Layout, shop: &Shop, id: Option<i64>, form: ProductForm) -> ProductFormPage {
    ProductFormPage {
        layout,
        id,
        form,
        errors: FieldErrors::default(),
        variants: Vec::new(),
        images: Vec::new(),
        money: shop.currency,
    }
}

#[get("/admin/shop/products/new")]
fn new_product(shop: &State<Shop>, _admin: AdminUser, layout: Layout) -> AppResult<Reply> {
    let form = ProductForm {
        stock: "0".into(),
        ..Default::default()
    };
    Reply::page(&form_page(layout, shop, None, form))
}

#[post("/admin/shop/products", data = "<form>")]
async fn create(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    _admin: AdminUser,
    layout: Layout,
    form: CsrfForm<ProductForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let saved = match form.validate(&shop.currency) {
        Ok((p, v)) => catalogue::create(ctx.db, &p, &v).await,
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match saved {
        Ok(id) => Ok(Reply::success(
            format!("/admin/shop/products/{id}"),
            "Product created.",
        )),
        Err(AppError::Validation(errors)) => {
            let page = ProductFormPage {
                errors,
                ..form_page(layout, shop, None, form)
            };
            Reply::page_with(Status::UnprocessableEntity, &page)
        }
        Err(e) => Err(e),
    }
}

async fn edit_page(
    ctx: &Ctx<'_>,
    shop: &Shop,
    layout: Layout,
    id: i64,
    form: Option<ProductForm>,
    errors: FieldErrors,
) -> AppResult<ProductFormPage> {
    let p = catalogue::by_id(ctx.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let form = form.unwrap_or_else(|| ProductForm {
        title: p.title.clone(),
        slug: p.slug.clone(),
        description: p.description.clone(),
        compare_at: p
            .compare_at
            .map(|c| shop.currency.plain(c))
            .unwrap_or_default(),
        category: p.category.clone().unwrap_or_default(),
        active: p.active != 0,
        ..Default::default()
    });
    Ok(ProductFormPage {
        errors,
        variants: catalogue::variants(ctx.db, id).await?,
        images: catalogue::image_ids(ctx.db, id).await?,
        ..form_page(layout, shop, Some(id), form)
    })
}

#[get("/admin/shop/products/<id>")]
async fn edit(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    _admin: AdminUser,
    layout: Layout,
    id: i64,
) -> AppResult<Reply> {
    Reply::page(&edit_page(&ctx, shop, layout, id, None, FieldErrors::default()).await?)
}

#[post("/admin/shop/products/<id>", data = "<form>")]
async fn save(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    _admin: AdminUser,
    layout: Layout,
    id: i64,
    form: CsrfForm<ProductForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let saved = match form.product(&shop.currency) {
        Ok(p) => catalogue::update(ctx.db, id, &p).await,
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match saved {
        Ok(true) => Ok(Reply::success(
            format!("/admin/shop/products/{id}"),
            "Product saved.",
        )),
        Ok(false) => Err(AppError::NotFound),
        Err(AppError::Validation(errors)) => {
            let page = edit_page(&ctx, shop, layout, id, Some(form), errors).await?;
            Reply::page_with(Status::UnprocessableEntity, &page)
        }
        Err(e) => Err(e),
    }
}

#[post("/admin/shop/products/<id>/variants", data = "<form>")]
async fn add_variant(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    _admin: AdminUser,
    id: i64,
    form: CsrfForm<VariantForm>,
) -> AppResult<Reply> {
    let back = format!("/admin/shop/products/{id}");
    catalogue::by_id(ctx.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let saved = match form.0.validate(&shop.currency) {
        Ok(v) => catalogue::add_variant(ctx.db, id, &v).await.map(|_| ()),
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match saved {
        Ok(()) => Ok(Reply::success(back, "Variant added.")),
        Err(AppError::Validation(errors)) => {
            let messages: Vec<String> = errors.0.into_values().collect();
            Ok(Reply::failure(
                back,
                format!("The variant was not added: {}", messages.join(" ")),
            ))
        }
        Err(e) => Err(e),
    }
}

/// Restock (a relative change) and a new price for one variant.
#[derive(Debug, FromForm)]
struct StockForm {
    #[field(default = String::new())]
    add: String,
    #[field(default = String::new())]
    price: String,
}

#[post("/admin/shop/products/<id>/variants/<variant>", data = "<form>")]
async fn stock(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    _admin: AdminUser,
    id: i64,
    variant: i64,
    form: CsrfForm<StockForm>,
) -> AppResult<Reply> {
    let back = format!("/admin/shop/products/{id}");
    let CsrfForm(form) = form;
    if !form.price.trim().is_empty() {
        let price = match shop.currency.parse_amount(&form.price) {
            Ok(p) => p,
            Err(m) => return Ok(Reply::failure(back, m)),
        };
        if !catalogue::set_price(ctx.db, id, variant, price).await? {
            return Err(AppError::NotFound);
        }
    }
    if !form.add.trim().is_empty() {
        let Ok(n) = form.add.trim().parse::<i64>() else {
            return Ok(Reply::failure(
                back,
                "Enter how many to add, a whole number.",
            ));
        };
        if !(1..=1_000_000).contains(&n) {
            return Ok(Reply::failure(back, "Add from 1 to 1,000,000."));
        }
        catalogue::restock(ctx.db, variant, n)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    Ok(Reply::success(back, "Variant saved."))
}

#[get("/admin/shop/orders/<id>")]
async fn order(
    ctx: Ctx<'_>,
    env: &State<super::payments::webhook::Env>,
    _admin: AdminUser,
    layout: Layout,
    id: i64,
) -> AppResult<Reply> {
    super::routes::order_page(&ctx, env, layout, id, None, true, None).await
}

/// An admin's transition: the state to move to, a tracking number when
/// shipping, and a note for the history.
#[derive(Debug, FromForm)]
struct TransitionForm {
    #[field(default = String::new())]
    to: String,
    #[field(default = String::new())]
    tracking: String,
    #[field(default = String::new())]
    note: String,
}

#[post("/admin/shop/orders/<id>/transition", data = "<form>")]
async fn transition(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    admin: AdminUser,
    id: i64,
    form: CsrfForm<TransitionForm>,
) -> AppResult<Reply> {
    let back = format!("/admin/shop/orders/{id}");
    let CsrfForm(form) = form;
    let Some(to) = OrderState::parse(&form.to) else {
        return Ok(Reply::failure(back, "Choose what to do with the order."));
    };
    let tracking = crate::web::text::one_line(&form.tracking);
    let note = crate::web::text::one_line(&form.note);
    if tracking.chars().count() > 100
        || note.chars().count() > 500
        || note.contains('\0')
        || tracking.contains('\0')
    {
        return Ok(Reply::failure(
            back,
            "Keep the tracking number under 100 and the note under 500 characters.",
        ));
    }
    let change = Change {
        to,
        actor: &admin.0.username,
        note: &note,
        tracking: Some(&tracking),
    };
    match orders::transition(ctx.db, &ctx.cfg.base_url, shop, id, &change).await {
        Ok(()) => {
            let actor = Actor {
                id: admin.0.id,
                name: admin.0.username.clone(),
                ip: ctx.ip.label(),
            };
            let detail = format!("order {id} → {}", to.as_str());
            audit::record(ctx.db, &actor, "shop.order.transition", None, &detail).await?;
            Ok(Reply::success(
                back,
                format!("The order is now: {}.", to.label().to_lowercase()),
            ))
        }
        Err(AppError::Conflict(m)) => Ok(Reply::failure(back, m)),
        Err(e) => Err(e),
    }
}

/// A CSV download.
struct Csv(String);

impl<'r> Responder<'r, 'static> for Csv {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .header(ContentType::new("text", "csv"))
            .header(Header::new(
                "Content-Disposition",
                "attachment; filename=\"orders.csv\"",
            ))
            .sized_body(self.0.len(), std::io::Cursor::new(self.0))
            .ok()
    }
}

/// One CSV cell: quoted, and a cell a spreadsheet would read as a
/// formula (`=`, `+`, `-`, `@`, tab, CR) starts with `'` instead.
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[get("/admin/shop/orders.csv?<state>&<customer>&<days>")]
async fn export(
    ctx: Ctx<'_>,
    shop: &State<Shop>,
    _admin: AdminUser,
    state: Option<String>,
    customer: Option<String>,
    days: Option<i64>,
) -> AppResult<Csv> {
    let (filter, _) = filter_of(state, customer, days);
    let mut out = String::from(
        "id,placed,customer,state,currency,subtotal,shipping,total,ship_to,country,tracking\r\n",
    );
    for (o, user) in orders::list(ctx.db, &filter).await? {
        let cells = [
            o.id.to_string(),
            crate::web::text::format_time(o.created_at),
            user,
            o.state.clone(),
            o.currency.clone(),
            shop.currency.plain(o.subtotal),
            shop.currency.plain(o.shipping),
            shop.currency.plain(o.total),
            o.ship_name.clone(),
            o.ship_country.clone(),
            o.tracking.clone(),
        ];
        let row: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    Ok(Csv(out))
}

/// The admin pages.
pub fn routes() -> Vec<Route> {
    routes![
        dashboard,
        new_product,
        create,
        edit,
        save,
        add_variant,
        stock,
        order,
        transition,
        export
    ]
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formula_cells_are_defused_and_quotes_doubled() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "\"'+1\"");
        assert_eq!(csv_cell("@SUM"), "\"'@SUM\"");
        assert_eq!(csv_cell("plain"), "\"plain\"");
    }
}
