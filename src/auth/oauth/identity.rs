//! Learning who signed in: GitHub's `/user` and `/user/emails`, Google's
//! OpenID userinfo, and a verified ID token for other OpenID providers.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::oidc;
use super::providers::{Endpoints, Exchanged, Kind, Provider};
use crate::accounts::model::parse_email;
use crate::error::AppResult;

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub struct ProviderIdentity {
    /// The provider's stable id for the person.
    pub subject: String,
    /// Whose subject it is: the issuer of the verified ID token for OpenID
    /// Connect (without a trailing slash), empty for GitHub and Google.
    pub issuer: String,
    /// Their email, normalised, if the provider gave a usable one.
    pub email: Option<String>,
    /// Whether the provider vouches that the email is theirs.
    pub email_verified: bool,
    /// A login or name to derive a username from.
    pub name_hint: String,
}

impl Provider {
    /// Who signed in, as the provider tells it.
    pub async fn identity(
        &self,
        ep: &Endpoints,
        http: &reqwest::Client,
        tokens: &Exchanged,
        nonce: Option<&str>,
    ) -> AppResult<ProviderIdentity> {
        match self.kind {
            Kind::Github => self.github_identity(http, &tokens.access_token).await,
            Kind::Google => {
                let info: UserInfo = self
                    .fetch(http, &self.extra_url, &tokens.access_token)
                    .await?;
                Ok(info.into_identity())
            }
            Kind::Oidc => self.oidc_identity(ep, http, tokens, nonce).await,
        }
    }

    async fn github_identity(
        &self,
        http: &reqwest::Client,
        token: &str,
    ) -> AppResult<ProviderIdentity> {
        #[derive(Deserialize)]
        struct User {
            id: i64,
            login: String,
            #[serde(default)]
            email: Option<String>,
        }
        #[derive(Deserialize)]
        struct Email {
            email: String,
            #[serde(default)]
            primary: bool,
            #[serde(default)]
            verified: bool,
        }
        let api = self.extra_url.trim_end_matches('/');
        let user: User = self.fetch(http, &format!("{api}/user"), token).await?;
        let emails: Vec<Email> = self
            .fetch(http, &format!("{api}/user/emails"), token)
            .await?;
        let primary = emails.iter().find(|e| e.primary);
        // Only the primary address, and only if GitHub verified it, can
        // vouch for the person; anything else is kept as unverified.
        let (email, verified) = match primary {
            Some(e) => (Some(e.email.clone()), e.verified),
            None => (user.email.clone(), false),
        };
        let email = email.and_then(|e| parse_email(&e).ok());
        Ok(ProviderIdentity {
            subject: user.id.to_string(),
            issuer: String::new(),
            email_verified: verified && email.is_some(),
            email,
            name_hint: user.login,
        })
    }

    async fn oidc_identity(
        &self,
        ep: &Endpoints,
        http: &reqwest::Client,
        tokens: &Exchanged,
        nonce: Option<&str>,
    ) -> AppResult<ProviderIdentity> {
        let Some(d) = &ep.discovery else {
            return Err(self.failed("no discovery document"));
        };
        let Some(id_token) = &tokens.id_token else {
            return Err(self.failed("the token response has no id_token"));
        };
        let claims = oidc::verify_id_token(http, d, &self.client_id, id_token, nonce)
            .await
            .map_err(|e| self.failed(format!("ID token rejected: {e}")))?;
        let mut identity = claims.into_identity();
        identity.issuer = d.issuer.trim_end_matches('/').to_string();
        // Some providers keep the email out of the ID token: ask userinfo,
        // and believe it only about the same subject.
        if identity.email.is_none() {
            if let Some(url) = &d.userinfo_endpoint {
                let info: UserInfo = self.fetch(http, url, &tokens.access_token).await?;
                if info.sub == identity.subject {
                    let more = info.into_identity();
                    identity.email = more.email;
                    identity.email_verified = more.email_verified;
                }
            }
        }
        Ok(identity)
    }

    /// GET a JSON resource with the access token.
    async fn fetch<T: DeserializeOwned>(
        &self,
        http: &reqwest::Client,
        url: &str,
        token: &str,
    ) -> AppResult<T> {
        let res = http
            .get(url)
            .bearer_auth(token)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| self.failed(format!("GET {url}: {e}")))?;
        let status = res.status();
        if !status.is_success() {
            return Err(self.failed(format!("GET {url}: HTTP {status}")));
        }
        let body = res
            .bytes()
            .await
            .map_err(|e| self.failed(format!("GET {url}: {e}")))?;
        serde_json::from_slice(&body).map_err(|e| self.failed(format!("GET {url}: bad JSON: {e}")))
    }
}

/// The OpenID Connect claims we read (userinfo and ID token alike).
#[derive(Debug, Deserialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    /// A boolean, though some providers send the string "true".
    #[serde(default)]
    pub email_verified: Option<serde_json::Value>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
}

impl UserInfo {
    /// The identity these claims describe.
    pub fn into_identity(self) -> ProviderIdentity {
        let verified = matches!(&self.email_verified, Some(serde_json::Value::Bool(true)))
            || matches!(&self.email_verified, Some(serde_json::Value::String(s)) if s == "true");
        let email = self.email.as_deref().and_then(|e| parse_email(e).ok());
        let local_part = email
            .as_deref()
            .and_then(|e| e.split('@').next())
            .map(str::to_string);
        let name_hint = [
            self.preferred_username,
            self.name,
            self.given_name,
            local_part,
        ]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .unwrap_or_default();
        ProviderIdentity {
            subject: self.sub,
            issuer: String::new(),
            email_verified: verified && email.is_some(),
            email,
            name_hint,
        }
    }
}
