//! The admin inbox: `/admin/contact`, with search, paging, a handled state,
//! and each message's delivery status per recipient.

use askama::Template;
use rocket::form::FromForm;
use rocket::{get, post, routes, Route, State};

use super::cache::InboxCache;
use super::repo::{self, Filter, Message};
use crate::db::{Db, DbPool};
use crate::error::{AppError, AppResult};
use crate::mail::outbox::{self, Delivery};
use crate::mail::Wakeup;
use crate::session::AdminUser;
use crate::session::CsrfForm;
use crate::web::paging::{Pager, Paging};
use crate::web::text::format_time;
use crate::web::{enc, Layout, Reply};

const PAGE_SIZE: i64 = 20;

/// A delivery as the inbox shows it.
#[derive(Clone)]
pub struct DeliveryView {
    pub id: i64,
    pub to: String,
    pub state: &'static str,
    pub detail: String,
    pub can_retry: bool,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        let state = d.state();
        let detail = match state {
            "sent" => format!("sent {}", d.sent_at.map(format_time).unwrap_or_default()),
            "retrying" => format!(
                "attempt {} failed: {}; next attempt {}",
                d.attempts,
                d.last_error.as_deref().unwrap_or(""),
                format_time(d.next_attempt_at)
            ),
            "failed" => format!(
                "failed after {} attempt(s): {}",
                d.attempts,
                d.last_error.as_deref().unwrap_or("")
            ),
            _ => "waiting to be sent".into(),
        };
        DeliveryView {
            id: d.id,
            to: d.to_addr.clone(),
            state,
            detail,
            can_retry: state != "sent",
        }
    }
}

/// One row of the inbox list.
#[derive(Clone)]
pub struct Row {
    pub message: Message,
    pub received: String,
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Template)]
#[template(path = "admin/contact_list.html")]
struct InboxPage {
    layout: Layout,
    rows: Vec<Row>,
    q: String,
    show: &'static str,
    pager: Pager,
}

#[derive(Template)]
#[template(path = "admin/contact_show.html")]
struct MessagePage {
    layout: Layout,
    row: Row,
}

/// `messages` with their deliveries (one query for the lot).
pub(super) async fn with_deliveries(db: &DbPool, messages: Vec<Message>) -> AppResult<Vec<Row>> {
    let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
    let deliveries = outbox::deliveries(db, "contact", &ids).await?;
    Ok(messages
        .into_iter()
        .map(|message| Row {
            received: format_time(message.created_at),
            deliveries: deliveries
                .iter()
                .filter(|d| d.related_id == Some(message.id))
                .map(DeliveryView::from)
                .collect(),
            message,
        })
        .collect())
}

#[get("/admin/contact?<q>&<show>&<page>")]
async fn inbox(
    db: &Db,
    cache: &State<InboxCache>,
    _admin: AdminUser,
    layout: Layout,
    q: Option<String>,
    show: Option<String>,
    page: Option<i64>,
) -> AppResult<Reply> {
    let filter = Filter::parse(show.as_deref());
    let q: String = q.unwrap_or_default().chars().take(200).collect();
    let paging = Paging::page(page, PAGE_SIZE);
    let listed = cache
        .list(db, filter, &q, (paging.limit, paging.offset))
        .await?;
    let (rows, total) = &*listed;
    let base = format!("/admin/contact?show={}&q={}", filter.as_str(), enc(&q));
    Reply::page(&InboxPage {
        layout,
        rows: rows.clone(),
        q,
        show: filter.as_str(),
        pager: Pager::new(base, paging, *total).newest_first(),
    })
}

#[get("/admin/contact/<id>")]
async fn show(
    db: &Db,
    cache: &State<InboxCache>,
    _admin: AdminUser,
    layout: Layout,
    id: i64,
) -> AppResult<Reply> {
    let row = cache.message(db, id).await?.ok_or(AppError::NotFound)?;
    Reply::page(&MessagePage { layout, row })
}

#[derive(FromForm)]
struct HandledForm {
    #[field(default = false)]
    handled: bool,
}

#[post("/admin/contact/<id>/handled", data = "<form>")]
async fn set_handled(
    db: &Db,
    admin: AdminUser,
    id: i64,
    form: CsrfForm<HandledForm>,
) -> AppResult<Reply> {
    let handled = form.0.handled;
    if !repo::set_handled(db, id, handled, admin.0.id).await? {
        return Err(AppError::NotFound);
    }
    let note = if handled {
        "Marked as handled."
    } else {
        "Marked as not handled."
    };
    Ok(Reply::success(format!("/admin/contact/{id}"), note))
}

#[post("/admin/contact/<id>/deliveries/<delivery>/retry", data = "<_form>")]
async fn retry(
    db: &Db,
    _admin: AdminUser,
    wakeup: &State<Wakeup>,
    id: i64,
    delivery: i64,
    _form: CsrfForm<crate::session::NoFields>,
) -> AppResult<Reply> {
    let belongs = outbox::deliveries(db, "contact", &[id])
        .await?
        .iter()
        .any(|d| d.id == delivery);
    if !belongs || !outbox::retry_now(db, delivery).await? {
        return Err(AppError::NotFound);
    }
    wakeup.notify();
    Ok(Reply::success(
        format!("/admin/contact/{id}"),
        "The mail is queued to be sent again now.",
    ))
}

/// The admin routes of this feature.
pub fn routes() -> Vec<Route> {
    routes![inbox, show, set_handled, retry]
}
