//! Sign-in through OAuth 2.0 / OpenID Connect providers: GitHub, Google and
//! one generic OpenID Connect provider (Keycloak, GitLab, Authentik...).
//!
//! The flow follows RFC 9700: `state` and PKCE S256 on every request, the
//! exact redirect URI, a short-lived private cookie that remembers the
//! request, and a single use of each callback. `routes.rs` runs it, `link.rs` decides which account a person gets,
//! `providers.rs` talks to each provider, `oidc.rs` does discovery and ID
//! token checks, and `repo.rs` stores identities.

mod identity;
mod link;
mod oidc;
pub mod providers;
pub mod repo;
mod routes;

use std::time::Duration;

use rocket::fairing::AdHoc;
use serde::{Deserialize, Serialize};

pub use providers::{Provider, ProviderLink, Providers};

/// The `oauth` table of the configuration. A provider without a
/// `client_id` is off and not shown anywhere.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct OAuthConfig {
    /// `oauth.github`.
    pub github: GithubConfig,
    /// `oauth.google`.
    pub google: GoogleConfig,
    /// `oauth.oidc`: any OpenID Connect provider, found by discovery.
    pub oidc: OidcConfig,
    /// Seconds allowed between leaving for the provider and coming back.
    pub flow_timeout: i64,
}

/// `oauth.github`: every URL can be changed (GitHub Enterprise, tests).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct GithubConfig {
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    /// The REST API root (`/user`, `/user/emails` are below it).
    pub api_url: String,
}

impl Default for GithubConfig {
    fn default() -> Self {
        GithubConfig {
            client_id: String::new(),
            client_secret: String::new(),
            auth_url: "https://github.com/login/oauth/authorize".into(),
            token_url: "https://github.com/login/oauth/access_token".into(),
            api_url: "https://api.github.com".into(),
        }
    }
}

/// `oauth.google`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct GoogleConfig {
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    /// The OpenID Connect userinfo endpoint.
    pub userinfo_url: String,
}

impl Default for GoogleConfig {
    fn default() -> Self {
        GoogleConfig {
            client_id: String::new(),
            client_secret: String::new(),
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            userinfo_url: "https://openidconnect.googleapis.com/v1/userinfo".into(),
        }
    }
}

/// `oauth.oidc`: a generic OpenID Connect provider.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct OidcConfig {
    /// What the sign-in button says: "Sign in with <name>".
    pub name: String,
    /// The issuer URL; `<issuer>/.well-known/openid-configuration` is read.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The issuer that identities stored before issuers were recorded came
    /// from. Those rows are matched by this issuer only, and none at all
    /// while it is empty (see docs/oauth.md).
    pub legacy_issuer: String,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            name: "single sign-on".into(),
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            legacy_issuer: String::new(),
        }
    }
}

impl OAuthConfig {
    /// Refuse configurations that cannot work, and (in production) ones
    /// that would send secrets or codes over plain http.
    pub fn check(&self, release: bool) -> Result<(), String> {
        let mut urls: Vec<(&str, &str)> = Vec::new();
        if !self.github.client_id.is_empty() {
            if self.github.client_secret.is_empty() {
                return Err("oauth.github.client_id is set but client_secret is not".into());
            }
            urls.extend([
                ("oauth.github.auth_url", self.github.auth_url.as_str()),
                ("oauth.github.token_url", &self.github.token_url),
                ("oauth.github.api_url", &self.github.api_url),
            ]);
        }
        if !self.google.client_id.is_empty() {
            if self.google.client_secret.is_empty() {
                return Err("oauth.google.client_id is set but client_secret is not".into());
            }
            urls.extend([
                ("oauth.google.auth_url", self.google.auth_url.as_str()),
                ("oauth.google.token_url", &self.google.token_url),
                ("oauth.google.userinfo_url", &self.google.userinfo_url),
            ]);
        }
        if !self.oidc.client_id.is_empty() {
            if self.oidc.issuer.is_empty() {
                return Err("oauth.oidc.client_id is set but issuer is not".into());
            }
            urls.push(("oauth.oidc.issuer", &self.oidc.issuer));
        }
        for (key, url) in urls {
            let ok = if release {
                url.starts_with("https://")
            } else {
                url.starts_with("https://") || url.starts_with("http://")
            };
            if !ok {
                return Err(format!(
                    "{key} must be an {}URL (got {url:?})",
                    if release { "https:// " } else { "http(s) " }
                ));
            }
        }
        Ok(())
    }

    /// How long a started sign-in stays valid, in seconds.
    pub fn flow_timeout(&self) -> i64 {
        if self.flow_timeout > 0 {
            self.flow_timeout
        } else {
            600
        }
    }
}

/// The HTTP client for talking to providers: it never follows redirects
/// (a token endpoint that redirects is not followed with our secret) and
/// gives up after a few seconds.
pub struct ProviderHttp(pub reqwest::Client);

fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("Groundwork/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// OAuth sign-in, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("OAuth sign-in", |rocket| async {
        let cfg: OAuthConfig = match crate::config::section(rocket.figment(), "oauth") {
            Ok(cfg) => cfg,
            Err(e) => {
                log::error!("{e}");
                return Err(rocket);
            }
        };
        if let Err(problem) = cfg.check(rocket.figment().profile() == "release") {
            log::error!("refusing to start: {problem}");
            eprintln!("refusing to start: {problem}");
            return Err(rocket);
        }
        let providers = Providers::from_config(&cfg);
        let client = match http_client() {
            Ok(c) => c,
            Err(e) => {
                log::error!("cannot build the HTTP client for sign-in providers: {e}");
                return Err(rocket);
            }
        };
        Ok(rocket
            .manage(providers)
            .manage(ProviderHttp(client))
            .mount("/", routes::routes()))
    })
}
