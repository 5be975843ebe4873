//! Template data for the profile page.

use askama::Template;

use super::cache::ProfileCache;
use crate::accounts::credentials;
use crate::accounts::model::ProfileForm;
use crate::accounts::repo::User;
use crate::auth::oauth::Providers;
use crate::db::DbPool;
use crate::error::{AppResult, FieldErrors};
use crate::session::{CurrentUser, SessionRow};
use crate::web::text::format_time;
use crate::web::Layout;

/// One row of "where you are signed in".
pub struct SessionView {
    pub id: i64,
    pub current: bool,
    pub device: String,
    pub ip: String,
    pub created: String,
    pub last_seen: String,
}

/// A provider connected to the account, or one that could be.
pub struct ConnectionView {
    pub slug: String,
    pub name: String,
    /// The email the provider gave, when connected.
    pub email: String,
    pub connected: bool,
    pub since: String,
    /// The provider is configured here, so one can sign in with it.
    pub enabled: bool,
}

/// `GET /profile`: the profile form, password change, sessions, deletion.
#[derive(Template)]
#[template(path = "profile/profile.html")]
pub struct ProfilePage {
    pub layout: Layout,
    pub user: User,
    pub profile: ProfileForm,
    pub errors: FieldErrors,
    pub password_errors: FieldErrors,
    pub delete_error: Option<String>,
    pub sessions: Vec<SessionView>,
    /// Sign-in providers: connected ones first, then the others enabled here.
    pub connections: Vec<ConnectionView>,
    /// For an account without a password: this session signed in at a
    /// provider recently enough to make sensitive changes.
    pub proved: bool,
    /// The member's time zone (chosen on [`TimeZonePage`]).
    pub time_zone: String,
    /// Whether two-step sign-in is on.
    pub two_step: bool,
    /// How many passkeys the member has.
    pub passkeys: i64,
}

impl ProfilePage {
    /// The page as stored, with no errors.
    pub async fn load(
        db: &DbPool,
        cache: &ProfileCache,
        providers: &Providers,
        layout: Layout,
        me: &CurrentUser,
    ) -> AppResult<ProfilePage> {
        // At most one round trip: the user, their sessions, providers,
        // two-step state and passkeys, kept between views.
        let super::repo::Profile {
            user,
            time_zone,
            sessions,
            linked,
            two_step,
            passkeys,
        } = cache.load(db, me.id).await?;
        let proved_at = sessions
            .iter()
            .find(|(s, _)| s.id == me.session_id)
            .map_or(0, |(_, at)| *at);
        let sessions = sessions
            .into_iter()
            .map(|(s, _)| view(s, me.session_id))
            .collect();
        let profile = ProfileForm {
            display_name: user.display_name.clone(),
            bio: user.bio.clone(),
            avatar_url: user.avatar_url.clone(),
        };
        let mut connections: Vec<ConnectionView> = linked
            .into_iter()
            .map(|i| ConnectionView {
                name: providers.name_of(&i.provider),
                enabled: providers.get(&i.provider).is_some(),
                slug: i.provider,
                email: i.email,
                connected: true,
                since: format_time(i.created_at),
            })
            .collect();
        for p in providers.all() {
            if !connections.iter().any(|c| c.slug == p.slug) {
                connections.push(ConnectionView {
                    slug: p.slug.to_string(),
                    name: p.name.clone(),
                    email: String::new(),
                    connected: false,
                    since: String::new(),
                    enabled: true,
                });
            }
        }
        let proved = user.password_hash.is_none() && credentials::proof_is_recent(proved_at);
        Ok(ProfilePage {
            layout,
            user,
            profile,
            errors: FieldErrors::default(),
            password_errors: FieldErrors::default(),
            delete_error: None,
            sessions,
            connections,
            proved,
            time_zone,
            two_step,
            passkeys,
        })
    }

    /// Whether the account has a password (accounts made through a
    /// provider may not).
    pub fn has_password(&self) -> bool {
        self.user.password_hash.is_some()
    }

    /// Minutes a fresh sign-in at a provider counts for.
    pub fn proof_minutes(&self) -> i64 {
        credentials::PROOF_WINDOW / 60
    }

    /// Whether a sensitive change needs "Confirm with ..." first.
    pub fn needs_proof(&self) -> bool {
        !self.has_password() && !self.proved
    }

    /// Whether disconnecting a provider would leave no way to sign in.
    pub fn is_last_way_in(&self) -> bool {
        !self.has_password() && self.connections.iter().filter(|c| c.connected).count() <= 1
    }
}

fn view(s: SessionRow, current: i64) -> SessionView {
    SessionView {
        id: s.id,
        current: s.id == current,
        device: s.device(),
        ip: s.ip,
        created: format_time(s.created_at),
        last_seen: format_time(s.last_seen_at),
    }
}

/// `GET /account/time-zone`: the list of zones, on a page of its own: its
/// 500-odd `<option>`s are 35 KB, ten times the rest of the profile page,
/// which is opened far more often than the zone is changed.
#[derive(Template)]
#[template(path = "profile/time_zone.html")]
pub struct TimeZonePage {
    pub layout: Layout,
    /// The member's time zone, as chosen (or as just typed, when refused).
    pub time_zone: String,
    /// Why the time zone typed was refused.
    pub error: Option<String>,
}

impl TimeZonePage {
    /// The time zones to choose from, as `<option>`s, the member's selected.
    pub fn zone_options(&self) -> String {
        crate::accounts::timezone::options_html(&self.time_zone)
    }
}
