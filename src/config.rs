//! Typed application configuration, read from the same figment as Rocket's
//! own (`Rocket.toml` + `ROCKET_*` environment, plus `DATABASE_URL`).

use std::net::IpAddr;

use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use serde::{Deserialize, Serialize};

/// The development default database: an SQLite file next to the process.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://groundwork.db?mode=rwc";

/// Settings of our own (Rocket's are read by Rocket).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AppConfig {
    /// Public address of the site, used for every absolute link and for HSTS.
    pub base_url: String,
    /// Mark cookies `Secure`. Unset: on exactly when `base_url` is https.
    /// Read it through [`AppConfig::cookies_secure`].
    pub secure_cookies: Option<bool>,
    /// Let the release profile start with an https `base_url` and
    /// `secure_cookies = false` (only for a proxy that adds `Secure` itself).
    pub allow_insecure_cookies: bool,
    /// Peers whose `X-Forwarded-For` header is believed. Empty: none.
    pub trusted_proxies: Vec<IpAddr>,
    /// Seconds a session may sit unused before it ends.
    pub session_idle_timeout: i64,
    /// Seconds after sign-in at which a session ends however busy it is.
    pub session_absolute_timeout: i64,
    /// Lifetime (idle and absolute) of a "remember me" session, in seconds.
    pub session_remember_timeout: i64,
    /// Sessions the in-process session cache holds (0: no cache).
    pub session_cache_entries: usize,
    /// Seconds a session stays in the cache before it is read again (0: no
    /// cache). Invalidation does not wait for this: it bounds only changes
    /// made by hand in the database.
    pub session_cache_seconds: u64,
    /// Failed sign-ins allowed per account within `login_failure_window`.
    pub login_max_failures_per_account: i64,
    /// Failed sign-ins allowed per client address within the window.
    pub login_max_failures_per_address: i64,
    /// Seconds over which failed sign-ins are counted.
    pub login_failure_window: i64,
    /// Accounts one client address may create per hour.
    pub signups_per_address_per_hour: i64,
    /// Articles and comments one member may post per hour (blog and API).
    pub blog_posts_per_hour: i64,
    /// For how many hours after sign-up an account counts as new (0: no
    /// account does), and may post only `blog_new_account_posts_per_hour`.
    pub blog_new_account_hours: i64,
    /// Articles and comments a new account may post per hour.
    pub blog_new_account_posts_per_hour: i64,
    /// Refuse web links in articles and comments until the member has
    /// confirmed their email address (a spammer's first move is a link).
    pub blog_links_need_confirmed_email: bool,
    /// How many password hashes may be computed at once (0: cores - 1).
    pub hash_concurrency: usize,
    /// Seconds an API bearer token stays valid after it is issued.
    pub api_token_lifetime: i64,
    /// Origins allowed to call the JSON API from a browser (CORS). Empty:
    /// none, and no CORS header is ever sent.
    pub cors_allowed_origins: Vec<String>,
    /// Seconds `groundwork serve` keeps serving after SIGTERM, with
    /// `/healthz` answering 503, before it closes its listener
    /// (`web::drain`). 0: close at once.
    pub drain_seconds: u64,
    /// `text` (Rocket's readable lines) or `json` (one JSON object per
    /// line, `logging.rs`), for `groundwork serve`.
    pub log_format: String,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            base_url: "http://localhost:8000".into(),
            secure_cookies: None,
            allow_insecure_cookies: false,
            trusted_proxies: Vec::new(),
            session_idle_timeout: 8 * 3600,
            session_absolute_timeout: 24 * 3600,
            session_remember_timeout: 30 * 24 * 3600,
            session_cache_entries: 10_000,
            session_cache_seconds: 10,
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 30,
            login_failure_window: 15 * 60,
            signups_per_address_per_hour: 10,
            blog_posts_per_hour: 60,
            blog_new_account_hours: 0,
            blog_new_account_posts_per_hour: 10,
            blog_links_need_confirmed_email: true,
            hash_concurrency: 0,
            api_token_lifetime: 15 * 60,
            cors_allowed_origins: Vec::new(),
            drain_seconds: 0,
            log_format: "text".into(),
        }
    }
}

impl AppConfig {
    /// True when the public address is https.
    pub fn is_https(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// Whether cookies are marked `Secure`: as `secure_cookies` says, and by
    /// default whenever `base_url` is https. Every cookie the site sets
    /// follows this one answer.
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| self.is_https())
    }

    /// `scheme://host[:port]` of `base_url`, as browsers send it in `Origin`.
    pub fn origin(&self) -> &str {
        let url = self.base_url.trim_end_matches('/');
        match url.find("://") {
            Some(i) => match url[i + 3..].find('/') {
                Some(j) => &url[..i + 3 + j],
                None => url,
            },
            None => url,
        }
    }

    /// Refuse settings that are unsafe in production.
    pub fn check(&self, profile: &Profile, has_secret_key: bool) -> Result<(), String> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(format!(
                "base_url must start with http:// or https:// (got {:?})",
                self.base_url
            ));
        }
        if profile == "release" {
            if !has_secret_key {
                return Err("the release profile needs a secret_key: set ROCKET_SECRET_KEY to the output of `head -c64 /dev/urandom | base64`".into());
            }
            if self.secure_cookies == Some(true) && !self.is_https() {
                return Err("secure_cookies is on but base_url is http://: browsers would drop every cookie. Use an https base_url".into());
            }
            if self.secure_cookies == Some(false) && self.is_https() && !self.allow_insecure_cookies
            {
                return Err("secure_cookies = false with an https base_url would let browsers send the session cookie over plain http. Remove the setting (cookies are then Secure), or set allow_insecure_cookies = true if a proxy in front adds Secure itself".into());
            }
        }
        if self.session_idle_timeout <= 0
            || self.session_absolute_timeout <= 0
            || self.session_remember_timeout <= 0
        {
            return Err("session timeouts must be positive".into());
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(format!(
                "log_format must be \"text\" or \"json\" (got {:?})",
                self.log_format
            ));
        }
        if self.api_token_lifetime <= 0 {
            return Err("api_token_lifetime must be positive".into());
        }
        Ok(())
    }
}

/// A feature's own section of the configuration (`[default.contact]` in
/// `Rocket.toml`, `ROCKET_CONTACT={...}` in the environment), or its
/// defaults when the section is absent. Each feature reads its section in its
/// own `stage()`, so this module names no feature's settings.
pub fn section<T: serde::de::DeserializeOwned + Default>(
    figment: &Figment,
    name: &str,
) -> Result<T, String> {
    if figment.find_value(name).is_err() {
        return Ok(T::default());
    }
    figment
        .extract_inner(name)
        .map_err(|e| format!("invalid configuration in [{name}]: {e}"))
}

/// Rocket's figment with our defaults underneath and `DATABASE_URL` on top.
pub fn figment() -> Figment {
    let mut figment = Figment::from(rocket::Config::default())
        .merge(Serialized::defaults(AppConfig::default()))
        .merge(Serialized::default(
            "databases.main.url",
            DEFAULT_DATABASE_URL,
        ))
        .merge(Serialized::default("databases.main.connect_timeout", 3))
        // Never believe X-Real-IP from arbitrary clients: see `web::ClientIp`.
        .merge(Serialized::default("ip_header", false))
        // No `Server: Rocket` on every response: it tells a scanner what to
        // try, and every header costs each response a little.
        .merge(Serialized::default("ident", false))
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global());
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !url.is_empty() {
            figment = figment.merge(Serialized::global("databases.main.url", url));
        }
    }
    figment.select(Profile::from_env_or(
        "ROCKET_PROFILE",
        rocket::Config::DEFAULT_PROFILE,
    ))
}
