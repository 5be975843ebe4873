//! The notifications pages (`/notifications`, "mark all read"), the
//! preferences form, and the navigation's unread count, given to every
//! page through the web layer's badge hook.

use askama::Template;
use rocket::form::FromForm;
use rocket::{get, post, routes, Route, State};

use super::digest::{self, Frequency, UnsubscribeKey};
use super::kind::{who, Kind};
use super::repo::{self, Entry, UNREAD_CAP};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::session::{CsrfForm, CurrentUser, NoFields};
use crate::web::text::format_time;
use crate::web::{Layout, Reply};

/// Entries per page.
pub const PAGE_SIZE: i64 = 30;

/// One entry as the page shows it.
pub struct ItemView {
    pub id: i64,
    /// "Ada and 37 others".
    pub who: String,
    /// "favourited".
    pub verb: &'static str,
    /// The article's title, or empty.
    pub subject: String,
    pub url: String,
    pub when: String,
    pub unread: bool,
}

impl ItemView {
    /// From a stored entry.
    pub fn new(e: &Entry) -> ItemView {
        ItemView {
            id: e.id,
            who: who(&e.actors, e.actor_count),
            verb: e.kind.verb(),
            subject: e.subject.clone(),
            url: e.url.clone(),
            when: format_time(e.created_at),
            unread: e.unread,
        }
    }
}

/// `/notifications`.
#[derive(Template)]
#[template(path = "notifications/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub items: Vec<ItemView>,
    /// The newest id shown: "mark all read" marks up to it.
    pub newest: i64,
    /// The next (older) page's address.
    pub next: Option<String>,
    /// Whether this is a later page (a link back to the newest).
    pub older: bool,
    pub unread: i64,
}

impl ListPage {
    /// The unread count as the page says it ("99+" at the cap).
    pub fn unread_label(&self) -> String {
        badge_label(self.unread)
    }
}

/// A count as the navigation shows it: "99+" from [`UNREAD_CAP`] on.
pub fn badge_label(n: i64) -> String {
    if n >= UNREAD_CAP {
        format!("{}+", UNREAD_CAP - 1)
    } else {
        n.to_string()
    }
}

#[get("/notifications?<before>", rank = 2)]
async fn list(db: &Db, user: CurrentUser, layout: Layout, before: Option<i64>) -> AppResult<Reply> {
    let (entries, next) = repo::page(db, user.id, before, PAGE_SIZE).await?;
    let unread = repo::unread_count(db, user.id).await?;
    Reply::page(&ListPage {
        layout,
        newest: entries.first().map_or(0, |e| e.id),
        items: entries.iter().map(ItemView::new).collect(),
        next: next.map(|id| format!("/notifications?before={id}")),
        older: before.is_some(),
        unread,
    })
}

/// "Mark all read": up to the newest entry the page showed.
#[derive(Debug, FromForm)]
struct ReadForm {
    up_to: Option<i64>,
}

#[post("/notifications/read", data = "<form>", rank = 2)]
async fn mark_read(db: &Db, user: CurrentUser, form: CsrfForm<ReadForm>) -> AppResult<Reply> {
    repo::mark_read(db, user.id, form.0.up_to).await?;
    Ok(Reply::success("/notifications", "All marked as read."))
}

/// The preferences form: one checkbox per kind (an unticked box is absent
/// from the form, so absent means off).
#[derive(Debug, FromForm)]
struct PrefsForm {
    #[field(default = Vec::new())]
    kinds: Vec<String>,
    /// The digest: off, daily or weekly (absent: unchanged).
    digest: Option<String>,
}

#[post("/notifications/preferences", data = "<form>", rank = 2)]
async fn save_preferences(
    db: &Db,
    user: CurrentUser,
    form: CsrfForm<PrefsForm>,
) -> AppResult<Reply> {
    for kind in Kind::ALL {
        let on = form.0.kinds.iter().any(|k| k == kind.as_str());
        repo::set_preference(db, user.id, kind, on).await?;
    }
    if let Some(f) = form.0.digest.as_deref().and_then(Frequency::parse) {
        digest::set_frequency(db, user.id, f).await?;
    }
    Ok(Reply::success(
        "/notifications/preferences",
        "Preferences saved.",
    ))
}

/// One kind's line of the preferences form.
pub struct PrefView {
    pub name: &'static str,
    pub label: &'static str,
    pub on: bool,
}

/// `/notifications/preferences`.
#[derive(Template)]
#[template(path = "notifications/preferences.html")]
pub struct PrefsPage {
    pub layout: Layout,
    pub kinds: Vec<PrefView>,
    /// The digest choices: name, label, chosen.
    pub digests: Vec<(&'static str, &'static str, bool)>,
}

#[get("/notifications/preferences", rank = 2)]
async fn preferences(db: &Db, user: CurrentUser, layout: Layout) -> AppResult<Reply> {
    let kinds = repo::preferences(db, user.id)
        .await?
        .into_iter()
        .map(|(k, on)| PrefView {
            name: k.as_str(),
            label: k.label(),
            on,
        })
        .collect();
    let chosen = digest::frequency(db, user.id).await?;
    let digests = Frequency::ALL
        .into_iter()
        .map(|f| (f.as_str(), f.label(), f == chosen))
        .collect();
    Reply::page(&PrefsPage {
        layout,
        kinds,
        digests,
    })
}

/// `/notifications/unsubscribe/<token>`: the digest's mailed link, for
/// anyone holding it (no sign-in).
#[derive(Template)]
#[template(path = "notifications/unsubscribe.html")]
pub struct UnsubscribePage {
    pub layout: Layout,
    pub token: String,
    pub done: bool,
    pub username: String,
}

/// The link's page: one button (a GET never changes anything: mail
/// scanners follow links).
#[get("/notifications/unsubscribe/<token>")]
async fn unsubscribe_page(
    layout: Layout,
    key: &State<UnsubscribeKey>,
    token: &str,
) -> AppResult<Reply> {
    key.verify(token).ok_or(AppError::NotFound)?;
    Reply::page(&UnsubscribePage {
        layout,
        token: token.to_string(),
        done: false,
        username: String::new(),
    })
}

#[post("/notifications/unsubscribe/<token>", data = "<_form>")]
async fn unsubscribe(
    db: &Db,
    layout: Layout,
    key: &State<UnsubscribeKey>,
    token: &str,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let username = digest::unsubscribe(db, key, token)
        .await?
        .ok_or(AppError::NotFound)?;
    Reply::page(&UnsubscribePage {
        layout,
        token: String::new(),
        done: true,
        username,
    })
}

/// The notifications pages.
pub fn routes() -> Vec<Route> {
    routes![
        list,
        mark_read,
        preferences,
        save_preferences,
        unsubscribe_page,
        unsubscribe
    ]
}
