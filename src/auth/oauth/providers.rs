//! The providers: how to send a person to each, exchange the code, and
//! learn who came back. GitHub and Google by their documented endpoints,
//! any other OpenID Connect provider by discovery.

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};

pub use super::identity::{ProviderIdentity, UserInfo};
use super::oidc::{self, Discovery};
use super::OAuthConfig;
use crate::error::{AppError, AppResult};

/// Which protocol dialect a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Github,
    Google,
    Oidc,
}

/// One configured provider.
pub struct Provider {
    /// The name in URLs and in the `identities` table: `github`, `google`, `oidc`.
    pub slug: &'static str,
    /// The name people read: "GitHub".
    pub name: String,
    pub kind: Kind,
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) auth_url: String,
    pub(super) token_url: String,
    /// GitHub: the API root. Google: the userinfo endpoint. OIDC: the issuer.
    pub(super) extra_url: String,
    pub(super) discovery: oidc::Cache,
    /// OIDC: the issuer that identities stored without one belong to
    /// (`oauth.oidc.legacy_issuer`, without a trailing slash); empty: none.
    pub(super) legacy_issuer: String,
}

/// Every provider that has a `client_id`, in the order the sign-in page shows them.
pub struct Providers {
    list: Vec<Provider>,
    /// Seconds a sign-in may take between leaving for the provider and
    /// coming back.
    pub flow_timeout: i64,
}

impl Providers {
    /// The enabled providers of a configuration.
    pub fn from_config(cfg: &OAuthConfig) -> Providers {
        let mut list = Vec::new();
        let mut add = |slug, name: &str, kind, id: &str, secret: &str, urls: [&str; 3]| {
            if !id.is_empty() {
                list.push(Provider {
                    slug,
                    name: name.to_string(),
                    kind,
                    client_id: id.to_string(),
                    client_secret: secret.to_string(),
                    auth_url: urls[0].to_string(),
                    token_url: urls[1].to_string(),
                    extra_url: urls[2].to_string(),
                    discovery: oidc::Cache::default(),
                    legacy_issuer: String::new(),
                });
            }
        };
        let (gh, go, oi) = (&cfg.github, &cfg.google, &cfg.oidc);
        add(
            "google",
            "Google",
            Kind::Google,
            &go.client_id,
            &go.client_secret,
            [&go.auth_url, &go.token_url, &go.userinfo_url],
        );
        add(
            "github",
            "GitHub",
            Kind::Github,
            &gh.client_id,
            &gh.client_secret,
            [&gh.auth_url, &gh.token_url, &gh.api_url],
        );
        add(
            "oidc",
            &oi.name,
            Kind::Oidc,
            &oi.client_id,
            &oi.client_secret,
            ["", "", &oi.issuer],
        );
        if let Some(p) = list.iter_mut().find(|p| p.kind == Kind::Oidc) {
            p.legacy_issuer = oi.legacy_issuer.trim_end_matches('/').to_string();
        }
        Providers {
            list,
            flow_timeout: cfg.flow_timeout(),
        }
    }

    /// The provider with this slug, if it is enabled.
    pub fn get(&self, slug: &str) -> Option<&Provider> {
        self.list.iter().find(|p| p.slug == slug)
    }

    /// Every enabled provider.
    pub fn all(&self) -> &[Provider] {
        &self.list
    }

    /// Sign-in links for the sign-in page, each bringing the person back to `next`.
    pub fn buttons(&self, next: &str) -> Vec<ProviderLink> {
        self.list
            .iter()
            .map(|p| ProviderLink {
                slug: p.slug,
                name: p.name.clone(),
                href: if next.is_empty() {
                    format!("/auth/{}", p.slug)
                } else {
                    format!(
                        "/auth/{}?next={}",
                        p.slug,
                        rocket::http::RawStr::new(next).percent_encode()
                    )
                },
            })
            .collect()
    }

    /// The display name of a slug (for identities of a provider since turned off).
    pub fn name_of(&self, slug: &str) -> String {
        match self.get(slug) {
            Some(p) => p.name.clone(),
            None => match slug {
                "github" => "GitHub".into(),
                "google" => "Google".into(),
                other => other.to_string(),
            },
        }
    }
}

/// A "Sign in with ..." link.
#[derive(Debug, Clone)]
pub struct ProviderLink {
    pub slug: &'static str,
    pub name: String,
    pub href: String,
}

/// Where to send the person and where to fetch tokens, for one flow.
pub struct Endpoints {
    auth_url: String,
    token_url: String,
    pub(super) discovery: Option<Discovery>,
}

/// The token response, with the ID token OpenID Connect adds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

type Tokens = StandardTokenResponse<IdTokenField, BasicTokenType>;
type Unset = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;
type Client = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// What the callback got from the token endpoint.
pub struct Exchanged {
    pub access_token: String,
    pub id_token: Option<String>,
}

impl Provider {
    /// An error page for a provider that failed; the cause goes to the log.
    pub fn failed(&self, cause: impl Into<String>) -> AppError {
        AppError::BadGateway(
            format!(
                "{} did not answer as expected, so we could not sign you in. Please try again in a moment.",
                self.name
            ),
            format!("{}: {}", self.slug, cause.into()),
        )
    }

    /// The endpoints of this flow (for OIDC, read from discovery).
    pub async fn endpoints(&self, http: &reqwest::Client) -> AppResult<Endpoints> {
        if self.kind != Kind::Oidc {
            return Ok(Endpoints {
                auth_url: self.auth_url.clone(),
                token_url: self.token_url.clone(),
                discovery: None,
            });
        }
        let d = self
            .discovery
            .get(http, &self.extra_url)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(Endpoints {
            auth_url: d.authorization_endpoint.clone(),
            token_url: d.token_endpoint.clone(),
            discovery: Some(d),
        })
    }

    fn client(&self, ep: &Endpoints, redirect_uri: &str) -> AppResult<Client> {
        let bad = |what: &str, e: oauth2::url::ParseError| self.failed(format!("{what}: {e}"));
        // GitHub only reads the credentials from the form body; the others
        // take HTTP Basic, which the OAuth and OIDC specs require servers to support.
        let auth_type = match self.kind {
            Kind::Github => AuthType::RequestBody,
            _ => AuthType::BasicAuth,
        };
        Ok(Unset::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.clone()))
            .set_auth_uri(AuthUrl::new(ep.auth_url.clone()).map_err(|e| bad("auth_url", e))?)
            .set_token_uri(TokenUrl::new(ep.token_url.clone()).map_err(|e| bad("token_url", e))?)
            .set_redirect_uri(
                RedirectUrl::new(redirect_uri.to_string()).map_err(|e| bad("redirect_uri", e))?,
            )
            .set_auth_type(auth_type))
    }

    /// The authorization request URL, with `state`, PKCE S256, the exact
    /// redirect URI and (OIDC) the nonce.
    pub fn authorize_url(
        &self,
        ep: &Endpoints,
        redirect_uri: &str,
        state: &str,
        challenge: PkceCodeChallenge,
        nonce: Option<&str>,
    ) -> AppResult<String> {
        let client = self.client(ep, redirect_uri)?;
        let state = state.to_string();
        let scopes: &[&str] = match self.kind {
            Kind::Github => &["read:user", "user:email"],
            _ => &["openid", "email", "profile"],
        };
        let mut req = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(scopes.iter().map(|s| Scope::new(s.to_string())))
            .set_pkce_challenge(challenge);
        if let Some(nonce) = nonce {
            req = req.add_extra_param("nonce", nonce.to_string());
        }
        Ok(req.url().0.to_string())
    }

    /// Exchange the authorization code (with the PKCE verifier) for tokens.
    pub async fn exchange(
        &self,
        ep: &Endpoints,
        http: &reqwest::Client,
        redirect_uri: &str,
        code: &str,
        verifier: &str,
    ) -> AppResult<Exchanged> {
        let client = self.client(ep, redirect_uri)?;
        let result = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
            .request_async(http)
            .await;
        let tokens = match result {
            Ok(t) => t,
            Err(RequestTokenError::ServerResponse(e)) => {
                return Err(self.failed(format!("token endpoint refused the code: {e}")))
            }
            Err(RequestTokenError::Request(e)) => {
                return Err(self.failed(format!("token endpoint unreachable: {e}")))
            }
            Err(RequestTokenError::Parse(e, body)) => {
                let body: String = String::from_utf8_lossy(&body).chars().take(200).collect();
                return Err(self.failed(format!("token response unreadable ({e}): {body:?}")));
            }
            Err(e) => return Err(self.failed(format!("token request failed: {e}"))),
        };
        Ok(Exchanged {
            access_token: tokens.access_token().secret().clone(),
            id_token: tokens.extra_fields().id_token.clone(),
        })
    }
}
