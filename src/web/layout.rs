//! The data every page's base layout needs.

use std::convert::Infallible;
use std::sync::Arc;

use rocket::request::{FlashMessage, FromRequest, Outcome, Request};

use crate::session::{self, csrf, CurrentUser};

/// The signed-in person, as the navigation shows them.
#[derive(Debug, Clone)]
pub struct NavUser {
    pub username: String,
    pub is_admin: bool,
    /// False until the person confirms their email address (a banner says so).
    pub email_verified: bool,
}

impl From<CurrentUser> for NavUser {
    fn from(u: CurrentUser) -> Self {
        let is_admin = u.is_admin();
        NavUser {
            username: u.username,
            is_admin,
            email_verified: u.email_verified,
        }
    }
}

/// What the navigation shows beside an app's link for the signed-in
/// person: how many unread items, and how many of them mention them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NavBadge {
    pub unread: i64,
    pub mentions: i64,
}

/// The hook through which an app (chat) gives the navigation its badge
/// without the web layer knowing the app: the app puts a [`NavBadgeHook`]
/// in managed state. Called for every signed-in page, so an
/// implementation must answer from memory nearly always (chat keeps a
/// per-member cache invalidated through `src/events`); None shows no badge.
#[rocket::async_trait]
pub trait NavBadgeSource: Send + Sync + 'static {
    /// The badge of `user_id`, for this request.
    async fn badge(&self, req: &Request<'_>, user_id: i64) -> Option<NavBadge>;
}

/// The registered badge source (managed state; at most one).
pub struct NavBadgeHook(pub Arc<dyn NavBadgeSource>);

/// The second badge slot: the unread notifications beside the
/// navigation's "Notifications" link (`src/notifications` registers it;
/// managed state is one value per type, so a slot is a type).
pub struct NotificationsBadgeHook(pub Arc<dyn NavBadgeSource>);

/// A one-time message carried across a redirect.
#[derive(Debug, Clone)]
pub struct FlashView {
    /// One of `success`, `error`, `info`: used as a CSS class, so never free text.
    pub kind: &'static str,
    pub message: String,
}

/// What `base.html` needs: who is signed in, the CSRF token for forms, and
/// the flash message.
#[derive(Debug, Clone)]
pub struct Layout {
    pub user: Option<NavUser>,
    pub csrf: String,
    pub flash: Option<FlashView>,
    /// The chat badge of the navigation (None: nothing to show or ask).
    pub badge: Option<NavBadge>,
    /// The unread notifications of the navigation (None: nothing to show).
    pub notifications: Option<NavBadge>,
}

impl Layout {
    /// The unread notifications as the navigation says them: None for
    /// none, "99+" from the count's cap on.
    pub fn notifications_label(&self) -> Option<String> {
        unread_label(self.notifications.map_or(0, |b| b.unread))
    }
}

/// An unread count as the navigation says it: None for none, "99+" from
/// the count's cap (100) on. The live count (src/notifications) says the
/// same.
pub fn unread_label(n: i64) -> Option<String> {
    match n {
        0 => None,
        n if n >= 100 => Some("99+".into()),
        n => Some(n.to_string()),
    }
}

fn flash_view(f: FlashMessage<'_>) -> FlashView {
    let kind = match f.kind() {
        "success" => "success",
        "error" => "error",
        _ => "info",
    };
    FlashView {
        kind,
        message: f.message().to_string(),
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Layout {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        let current = session::current_user(req).await;
        let badge = match (&current, req.rocket().state::<NavBadgeHook>()) {
            (Some(u), Some(hook)) => hook.0.badge(req, u.id).await,
            _ => None,
        };
        let notifications = match (&current, req.rocket().state::<NotificationsBadgeHook>()) {
            (Some(u), Some(hook)) => hook.0.badge(req, u.id).await,
            _ => None,
        };
        let user = current.map(NavUser::from);
        // A GET page binds a token for its forms; other methods reuse the
        // one the form was sent with and never set a cookie.
        let csrf = if req.method().supports_payload() {
            csrf::existing(req).unwrap_or_default()
        } else {
            csrf::ensure(req)
        };
        let flash = req
            .guard::<Option<FlashMessage<'_>>>()
            .await
            .succeeded()
            .flatten()
            .map(flash_view);
        Outcome::Success(Layout {
            user,
            csrf,
            flash,
            badge,
            notifications,
        })
    }
}

/// The layout of a page with no form of its own (the home page): a CSRF
/// token, and so its cookie, only for someone signed in, whose navigation
/// holds the sign-out form. Minting one for every anonymous visitor meant
/// random bytes, an encrypted cookie and a `Set-Cookie` on every hit.
pub struct PlainLayout(pub Layout);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PlainLayout {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        if session::current_user(req).await.is_some() {
            return Layout::from_request(req).await.map(PlainLayout);
        }
        let flash = req
            .guard::<Option<FlashMessage<'_>>>()
            .await
            .succeeded()
            .flatten()
            .map(flash_view);
        Outcome::Success(PlainLayout(Layout {
            user: None,
            csrf: csrf::existing(req).unwrap_or_default(),
            flash,
            badge: None,
            notifications: None,
        }))
    }
}

/// The layout for an error page: built only from what this request already
/// knows, so rendering an error never queries the database or sets a cookie.
pub fn layout_for_error(req: &Request<'_>) -> Layout {
    Layout {
        user: session::cached_user(req).map(NavUser::from),
        csrf: csrf::existing(req).unwrap_or_default(),
        flash: None,
        badge: None,
        notifications: None,
    }
}
