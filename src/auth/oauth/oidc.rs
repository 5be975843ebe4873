//! OpenID Connect: discovery of a provider's endpoints from its issuer URL,
//! and verification of the ID token (signature from the provider's JWKS,
//! `iss`, `aud`, `exp`, `nonce`) with the jsonwebtoken crate.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rocket::tokio::sync::Mutex;
use serde::Deserialize;

use super::providers::ProviderIdentity;

/// How long a discovery document is trusted before it is read again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// The parts of `/.well-known/openid-configuration` we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
}

/// A provider's discovery document, fetched once an hour at most.
#[derive(Default)]
pub struct Cache(Mutex<Option<(Instant, Discovery)>>);

impl Cache {
    /// The discovery document of `issuer`, from cache or freshly read.
    pub async fn get(&self, http: &reqwest::Client, issuer: &str) -> Result<Discovery, String> {
        let mut slot = self.0.lock().await;
        if let Some((at, d)) = slot.as_ref() {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok(d.clone());
            }
        }
        let d = discover(http, issuer).await?;
        *slot = Some((Instant::now(), d.clone()));
        Ok(d)
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let res = http
        .get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("GET {url}: HTTP {}", res.status()));
    }
    let body = res.bytes().await.map_err(|e| format!("GET {url}: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("GET {url}: bad JSON: {e}"))
}

async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Discovery, String> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let d: Discovery = get_json(http, &url).await?;
    // OpenID Connect Discovery §4.3: the document must name the issuer we
    // asked, or another party could hand us its own endpoints and keys.
    if d.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(format!(
            "discovery names issuer {:?}, expected {issuer:?}",
            d.issuer
        ));
    }
    Ok(d)
}

/// The ID token claims we read; `iss`, `aud` and `exp` are checked by
/// jsonwebtoken, `nonce` here.
#[derive(Debug, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(flatten)]
    pub profile: serde_json::Map<String, serde_json::Value>,
}

impl IdClaims {
    /// The identity the token describes.
    pub fn into_identity(self) -> ProviderIdentity {
        let mut map = self.profile;
        map.insert("sub".into(), serde_json::Value::String(self.sub.clone()));
        match serde_json::from_value::<super::providers::UserInfo>(serde_json::Value::Object(map)) {
            Ok(info) => info.into_identity(),
            Err(_) => ProviderIdentity {
                subject: self.sub,
                issuer: String::new(),
                email: None,
                email_verified: false,
                name_hint: String::new(),
            },
        }
    }
}

/// Signature algorithms we accept: asymmetric only, so a token can never be
/// "signed" with a key anyone can read.
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Verify an ID token: signature against the provider's published keys,
/// issuer, audience (our client id), expiry, and the nonce we sent.
pub async fn verify_id_token(
    http: &reqwest::Client,
    d: &Discovery,
    client_id: &str,
    token: &str,
    nonce: Option<&str>,
) -> Result<IdClaims, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("header: {e}"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(format!("algorithm {:?} not accepted", header.alg));
    }
    let jwks: JwkSet = get_json(http, &d.jwks_uri).await?;
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or("no key in the JWKS matches the token")?;
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return Err("the JWKS offers a symmetric key".into());
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key: {e}"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&d.issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.leeway = 60;
    let data =
        jsonwebtoken::decode::<IdClaims>(token, &key, &validation).map_err(|e| format!("{e}"))?;
    let claims = data.claims;
    if let Some(expected) = nonce {
        let ok = claims.nonce.as_deref().is_some_and(|n| {
            subtle::ConstantTimeEq::ct_eq(n.as_bytes(), expected.as_bytes()).into()
        });
        if !ok {
            return Err("nonce does not match".into());
        }
    }
    Ok(claims)
}
