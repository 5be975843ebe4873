//! What people see of payments: the payment box on the order page (the
//! customer's "Pay" and messages, the admin's attempts and refund form),
//! `/admin/payments` (every attempt and event, re-processing a failed
//! event) and the admin's refund.

use std::collections::HashMap;

use askama::Template;
use rocket::form::FromForm;
use rocket::{get, post, routes, Route, State};

use super::attempts::{self, Attempt, AttemptState};
use super::refunds::{self, RefundInput, Refunded};
use super::webhook::{self, Env};
use crate::audit::{self, Actor};
use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::session::{random_token, AdminUser, CsrfForm};
use crate::shop::orders::Order;
use crate::shop::state::OrderState;
use crate::web::text::format_time;
use crate::web::{Ctx, Layout, Reply};

/// An attempt as the admin reads it.
pub struct AttemptView {
    pub a: Attempt,
    pub amount: String,
    pub refunded: String,
    pub when: String,
}

impl AttemptView {
    fn of(env: &Env, a: Attempt) -> AttemptView {
        AttemptView {
            amount: env.shop.money(a.amount),
            refunded: env.shop.money(a.refunded),
            when: format_time(a.updated_at),
            a,
        }
    }
}

/// The payment part of the order page.
pub struct PaymentBox {
    /// Online payment is on for this site.
    pub enabled: bool,
    /// Show "Pay".
    pub can_pay: bool,
    pub notice: String,
    /// `info`, `success` or `error` (the flash styles).
    pub notice_kind: &'static str,
    /// Show "check again".
    pub confirming: bool,
    /// The admin's view of every attempt.
    pub attempts: Vec<AttemptView>,
    /// What is left to refund, formatted ("" when nothing can be refunded).
    pub refundable: String,
    /// The same, as an admin types it.
    pub refundable_plain: String,
    /// The refund form's one-time key.
    pub refund_key: String,
    /// The lines that may still be refunded, for the form that refunds
    /// items, and that form's own key.
    pub refund_lines: Vec<RefundLineView>,
    pub line_refund_key: String,
}

/// An order line in the "refund items" form.
pub struct RefundLineView {
    pub id: i64,
    pub title: String,
    pub sku: String,
    pub price: String,
    /// How many were bought, and how many may still be refunded.
    pub bought: i64,
    pub left: i64,
}

/// The payment box for `order`; `returned` is the `payment=` the provider
/// sent the customer back with (it never marks anything paid).
pub async fn order_box(
    db: &DbPool,
    env: &Env,
    order: &Order,
    returned: Option<&str>,
    admin: bool,
) -> AppResult<PaymentBox> {
    let all = attempts::of_order(db, order.id).await?;
    let latest = all.first();
    let enabled = env.payments.provider.is_some();
    let waiting = order.state() == OrderState::PendingPayment;
    let latest_state = latest.map(Attempt::state);
    let flagged = latest.is_some_and(|a| !a.flag.is_empty());
    let confirming = waiting
        && !flagged
        && (latest_state == Some(AttemptState::Pending)
            || (returned == Some("returned") && latest_state == Some(AttemptState::Created)));
    let (notice, notice_kind) = if flagged && waiting {
        ("Your payment needs a check by our staff before the order can go ahead; we will be in touch.", "info")
    } else if confirming {
        ("Payment received, confirming… This page shows your order as paid as soon as the payment provider confirms it.", "info")
    } else if waiting && returned == Some("cancelled") {
        (
            "Payment cancelled: nothing was charged. You can try again whenever you like.",
            "info",
        )
    } else if waiting
        && (returned == Some("declined") || latest_state == Some(AttemptState::Failed))
    {
        (
            "The payment did not go through and nothing was charged. You can try again.",
            "error",
        )
    } else if waiting && latest_state == Some(AttemptState::Expired) {
        (
            "The payment page expired before the payment was made. You can start again.",
            "info",
        )
    } else if !waiting
        && returned == Some("returned")
        && latest_state.is_some_and(AttemptState::is_paid)
    {
        ("Thank you: your payment is confirmed.", "success")
    } else {
        ("", "info")
    };
    let paid = all.iter().find(|a| a.state().is_paid());
    let left = paid.map_or(0, |a| a.amount - a.refunded);
    let refund_lines = if admin && left > 0 {
        let mut conn = db.pool.acquire().await?;
        super::refund_lines::refundable_lines(&mut conn, order.id, "")
            .await?
            .into_iter()
            .filter(|l| l.left_quantity > 0)
            .map(|l| RefundLineView {
                id: l.id,
                price: env.shop.money(l.unit_price),
                title: l.title,
                sku: l.sku,
                bought: l.quantity,
                left: l.left_quantity,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(PaymentBox {
        line_refund_key: if refund_lines.is_empty() {
            String::new()
        } else {
            random_token()
        },
        refund_lines,
        enabled,
        can_pay: enabled && waiting && !confirming && !flagged,
        notice: notice.to_string(),
        notice_kind,
        confirming,
        refundable: if admin && left > 0 {
            env.shop.money(left)
        } else {
            String::new()
        },
        refundable_plain: env.shop.currency.plain(left),
        refund_key: if admin { random_token() } else { String::new() },
        attempts: if admin {
            all.into_iter().map(|a| AttemptView::of(env, a)).collect()
        } else {
            Vec::new()
        },
    })
}

/// A stored event as the admin reads it.
#[derive(Debug, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub provider: String,
    pub event_id: String,
    pub event_type: String,
    pub source: String,
    pub attempt_id: Option<i64>,
    pub state: String,
    pub error: String,
    pub received_at: i64,
}

/// `/admin/payments`.
#[derive(Template)]
#[template(path = "shop/payments_admin.html")]
struct PaymentsPage {
    layout: Layout,
    provider: String,
    attempts: Vec<AttemptView>,
    events: Vec<(EventRow, String)>,
}

#[get("/admin/payments")]
async fn list(
    ctx: Ctx<'_>,
    env: &State<Env>,
    _admin: AdminUser,
    layout: Layout,
) -> AppResult<Reply> {
    let attempts = attempts::recent(ctx.db, 100)
        .await?
        .into_iter()
        .map(|a| AttemptView::of(env, a))
        .collect();
    let events: Vec<EventRow> = sqlx::query_as(
        "SELECT id, provider, event_id, event_type, source, attempt_id, state, error, received_at \
         FROM payment_events ORDER BY id DESC LIMIT 100",
    )
    .fetch_all(&ctx.db.pool)
    .await?;
    Reply::page(&PaymentsPage {
        layout,
        provider: env
            .payments
            .provider
            .as_ref()
            .map_or("none (online payment is off)".into(), |p| {
                p.name().to_string()
            }),
        attempts,
        events: events
            .into_iter()
            .map(|e| {
                let when = format_time(e.received_at);
                (e, when)
            })
            .collect(),
    })
}

fn actor(ctx: &Ctx<'_>, admin: &AdminUser) -> Actor {
    Actor {
        id: admin.0.id,
        name: admin.0.username.clone(),
        ip: ctx.ip.label(),
    }
}

#[post("/admin/payments/events/<id>/reprocess", data = "<_form>")]
async fn reprocess(
    ctx: Ctx<'_>,
    env: &State<Env>,
    admin: AdminUser,
    id: i64,
    _form: CsrfForm<crate::session::NoFields>,
) -> AppResult<Reply> {
    let mut conn = ctx.db.pool.acquire().await?;
    let applied = webhook::reprocess(&mut conn, env, id).await?;
    drop(conn);
    audit::record(
        ctx.db,
        &actor(&ctx, &admin),
        "payments.event.reprocess",
        None,
        &format!("event {id}"),
    )
    .await?;
    Ok(if applied {
        Reply::success("/admin/payments", format!("Event {id} is processed."))
    } else {
        Reply::failure(
            "/admin/payments",
            format!("Event {id} still cannot be applied: see its error."),
        )
    })
}

/// The refund forms: an amount, or (`by=lines`) how many of which lines.
#[derive(Debug, FromForm)]
struct RefundForm {
    #[field(default = String::new())]
    amount: String,
    #[field(default = false)]
    restock: bool,
    #[field(default = String::new())]
    key: String,
    #[field(default = String::new())]
    by: String,
    /// Quantities by order line id (`lines[<id>]`).
    #[field(default = HashMap::new())]
    lines: HashMap<String, String>,
}

/// The (line id, quantity) pairs of the "refund items" form, the ones
/// above zero, or why it cannot be read.
fn lines_of(form: &RefundForm) -> Result<Vec<(i64, i64)>, String> {
    let mut lines = Vec::new();
    for (id, quantity) in &form.lines {
        let id: i64 = id
            .parse()
            .map_err(|_| "The refund form is incomplete: reload the order page.".to_string())?;
        let quantity = quantity.trim();
        let quantity: i64 = if quantity.is_empty() {
            0
        } else {
            quantity
                .parse()
                .map_err(|_| "Type how many of each item as a whole number.".to_string())?
        };
        if quantity < 0 {
            return Err("Type how many of each item as a whole number.".into());
        }
        if quantity > 0 {
            lines.push((id, quantity));
        }
    }
    lines.sort_unstable();
    if lines.is_empty() {
        return Err("Choose how many of which items to refund.".into());
    }
    Ok(lines)
}

#[post("/admin/shop/orders/<id>/refund", data = "<form>")]
async fn refund(
    ctx: Ctx<'_>,
    env: &State<Env>,
    admin: AdminUser,
    id: i64,
    form: CsrfForm<RefundForm>,
) -> AppResult<Reply> {
    let back = format!("/admin/shop/orders/{id}");
    let CsrfForm(form) = form;
    if form.key.is_empty() || form.key.len() > 100 {
        return Err(AppError::BadRequest(
            "The refund form is incomplete: reload the order page.".into(),
        ));
    }
    let (amount, lines) = if form.by == "lines" {
        match lines_of(&form) {
            Ok(lines) => (0, lines),
            Err(why) => return Ok(Reply::failure(back, why)),
        }
    } else {
        match env.shop.currency.parse_amount(&form.amount) {
            Ok(a) => (a, Vec::new()),
            Err(why) => return Ok(Reply::failure(back, why)),
        }
    };
    let input = RefundInput {
        order_id: id,
        amount,
        lines,
        restock: form.restock,
        key: &form.key,
        actor: &admin.0.username,
    };
    let (outcome, amount) = refunds::request(ctx.db, env, &input).await?;
    if matches!(outcome, Refunded::Done | Refunded::Pending) {
        let detail = format!("order {id}: refund of {}", env.shop.money(amount));
        audit::record(
            ctx.db,
            &actor(&ctx, &admin),
            "payments.refund",
            None,
            &detail,
        )
        .await?;
    }
    Ok(match outcome {
        Refunded::Done => Reply::success(back, format!("Refunded {}.", env.shop.money(amount))),
        Refunded::Pending => Reply::success(
            back,
            "The refund is accepted; the order shows it once the payment provider confirms.",
        ),
        Refunded::AlreadyRequested => Reply::success(back, "This refund was already sent; nothing was refunded twice."),
        Refunded::Refused(why) => Reply::failure(back, why),
        Refunded::Unavailable => Reply::failure(
            back,
            "The payment provider cannot be reached right now. Nothing was refunded; send the form again in a moment.",
        ),
    })
}

/// The admin routes.
pub fn routes() -> Vec<Route> {
    routes![list, reprocess, refund]
}
