//! Template data for the admin pages.

use askama::Template;

use super::repo::{Sort, Stats, UserRow};
use crate::accounts::repo::User;
use crate::audit::{Entry, Filter};
use crate::profile::repo::Profile;
use crate::session::Role;
use crate::web::enc;
use crate::web::paging::{Pager, Paging};
use crate::web::text::format_time;
use crate::web::Layout;

/// `GET /admin`.
#[derive(Template)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub stats: Stats,
}

/// `GET /users`.
#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub layout: Layout,
    pub rows: Vec<UserRow>,
    pub q: String,
    pub sort: Sort,
    pub pager: Pager,
}

impl UsersPage {
    /// The address of this list (search and sort kept) for its pager.
    pub fn base(q: &str, sort: Sort) -> String {
        format!("/users?q={}&sort={}", enc(q), sort.as_str())
    }
    fn sorts(&self) -> [Sort; 5] {
        Sort::ALL
    }
    fn when(&self, t: &Option<i64>) -> String {
        t.map(format_time).unwrap_or_else(|| "never".into())
    }
    fn date(&self, t: &i64) -> String {
        format_time(*t)
    }
}

/// A session as an admin sees it.
pub struct SessionLine {
    pub device: String,
    pub ip: String,
    pub created: String,
    pub last_seen: String,
}

/// An audit entry as pages show it.
pub struct EntryLine {
    pub when: String,
    pub entry: Entry,
}

fn lines(entries: Vec<Entry>) -> Vec<EntryLine> {
    entries
        .into_iter()
        .map(|entry| EntryLine {
            when: format_time(entry.created_at),
            entry,
        })
        .collect()
}

/// `GET /admin/users/<id>`.
#[derive(Template)]
#[template(path = "admin/user.html")]
pub struct UserPage {
    pub layout: Layout,
    pub user: User,
    pub joined: String,
    pub sessions: Vec<SessionLine>,
    /// Linked sign-in providers: (provider, email there, linked on).
    pub identities: Vec<(String, String, String)>,
    pub audit: Vec<EntryLine>,
    /// Whether the user has two-step sign-in on.
    pub two_step: bool,
    /// How many passkeys the user has.
    pub passkeys: i64,
}

impl UserPage {
    /// The page for the account `profile` describes (what its member's
    /// own profile page shows), with the audit entries about it.
    pub fn new(layout: Layout, profile: Profile, audit: Vec<Entry>) -> UserPage {
        let Profile {
            user,
            sessions,
            linked,
            two_step,
            passkeys,
            ..
        } = profile;
        let identities = linked
            .into_iter()
            .map(|i| (i.provider, i.email, format_time(i.created_at)))
            .collect();
        let sessions = sessions
            .into_iter()
            .map(|(s, _)| SessionLine {
                device: s.device(),
                ip: s.ip,
                created: format_time(s.created_at),
                last_seen: format_time(s.last_seen_at),
            })
            .collect();
        UserPage {
            layout,
            joined: format_time(user.created_at),
            user,
            sessions,
            identities,
            audit: lines(audit),
            two_step,
            passkeys,
        }
    }
    fn roles(&self) -> [Role; 2] {
        Role::ALL
    }
}

/// `GET /admin/users/<id>/delete`: the confirmation step.
#[derive(Template)]
#[template(path = "admin/delete_user.html")]
pub struct ConfirmDeletePage {
    pub layout: Layout,
    pub user: User,
}

/// `GET /admin/audit`.
#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub entries: Vec<EntryLine>,
    pub filter: Filter,
    pub actions: Vec<String>,
    pub pager: Pager,
}

impl AuditPage {
    /// The page of `entries`.
    pub fn new(
        layout: Layout,
        entries: Vec<Entry>,
        filter: Filter,
        actions: Vec<String>,
        paging: Paging,
        total: i64,
    ) -> AuditPage {
        let base = format!(
            "/admin/audit?actor={}&action={}&target={}",
            enc(&filter.actor),
            enc(&filter.action),
            enc(&filter.target)
        );
        AuditPage {
            layout,
            entries: lines(entries),
            filter,
            actions,
            pager: Pager::new(base, paging, total).newest_first(),
        }
    }
}
