//! API bearer tokens: JWTs signed HS256 with a key derived from the app's
//! secret, short-lived, and bound to a server-side session row so that
//! signing out, "sign out everywhere", disabling and deleting the user all
//! revoke them at once.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use rocket::figment::Figment;
use rocket::http::Header as HttpHeader;
use rocket::request::Request;
use rocket::response::{self, Responder};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::AppConfig;
use crate::db::{now, DbPool};
use crate::error::{AppError, AppResult};
use crate::session::hash_token;
use crate::session::random_token;

/// The `aud` every token is issued for and checked against.
pub const AUDIENCE: &str = "groundwork-api";

/// Keeps this key apart from every other key derived from the same secret.
const CONTEXT: &[u8] = b"groundwork/api-token/hs256/v1\0";

/// A response that carries a token: `Cache-Control: no-store` (and the
/// HTTP/1.0 `Pragma: no-cache`), as RFC 6749 section 5.1 asks, so that no
/// cache on the way keeps a copy.
pub struct NoStore<R>(pub R);

impl<'r, R: Responder<'r, 'static>> Responder<'r, 'static> for NoStore<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = self.0.respond_to(req)?;
        res.set_header(HttpHeader::new("Cache-Control", "no-store"));
        res.set_header(HttpHeader::new("Pragma", "no-cache"));
        Ok(res)
    }
}

/// What a token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The site's `base_url`.
    pub iss: String,
    /// Always [`AUDIENCE`].
    pub aud: String,
    /// The user's id, as a string (RFC 7519).
    pub sub: String,
    /// The id of the session row the token is bound to.
    pub sid: i64,
    /// A random id; the session row stores its hash.
    pub jti: String,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Expires at, unix seconds.
    pub exp: i64,
}

/// The signing key and the rules a token must pass.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
}

impl TokenKeys {
    /// Keys derived from the configured `secret_key`: SHA-256 over a context
    /// string and the secret, so every process sharing the secret accepts
    /// the others' tokens. Without a configured key (only the debug profile
    /// starts without one) a random key is made, and tokens end with the process.
    pub fn from_figment(figment: &Figment, base_url: &str) -> TokenKeys {
        let provided = figment
            .extract_inner::<rocket::config::SecretKey>("secret_key")
            .is_ok_and(|k| k.is_provided());
        let material = figment
            .find_value("secret_key")
            .ok()
            .filter(|_| provided)
            .map(|v| match v.as_str() {
                Some(s) => s.trim().as_bytes().to_vec(),
                None => serde_json::to_vec(&v).unwrap_or_default(),
            });
        let key: [u8; 32] = match material {
            Some(secret) => Sha256::new()
                .chain_update(CONTEXT)
                .chain_update(&secret)
                .finalize()
                .into(),
            None => {
                let mut k = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut k);
                k
            }
        };
        TokenKeys::from_key(&key, base_url)
    }

    /// Keys for a raw HMAC key (tests sign tokens of their own with this).
    pub fn from_key(key: &[u8], base_url: &str) -> TokenKeys {
        // Pinned to HS256: `alg: none` and every other algorithm fail.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[base_url]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // The session row expires with the token: no grace period on either.
        validation.leeway = 0;
        TokenKeys {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            issuer: base_url.to_string(),
        }
    }

    /// The issuer tokens carry (`base_url`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Sign `claims`.
    pub fn sign(&self, claims: &Claims) -> AppResult<String> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing a token: {e}")))
    }

    /// The claims of a token with a good signature, issuer, audience and
    /// expiry; None for anything else.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        match decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => Some(data.claims),
            Err(e) => {
                log::debug!("bearer token refused: {e}");
                None
            }
        }
    }
}

/// A token just issued.
pub struct Issued {
    pub token: String,
    pub expires_in: i64,
}

/// Start an API session for `user_id` and sign a token bound to it.
pub async fn issue(
    db: &DbPool,
    keys: &TokenKeys,
    cfg: &AppConfig,
    user_id: i64,
    user_agent: &str,
    ip: &str,
) -> AppResult<Issued> {
    let jti = random_token();
    let t = now();
    let exp = t + cfg.api_token_lifetime;
    let sid: i64 = sqlx::query_scalar(
        "INSERT INTO sessions (user_id, token_hash, remember, created_at, last_seen_at, expires_at, user_agent, ip, kind) \
         VALUES ($1, $2, 0, $3, $3, $4, $5, $6, 'api') RETURNING id",
    )
    .bind(user_id)
    .bind(hash_token(&jti))
    .bind(t)
    .bind(exp)
    .bind(user_agent)
    .bind(ip)
    .fetch_one(&db.pool)
    .await?;
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(t)
        .execute(&db.pool)
        .await?;
    // The profile page lists API tokens with the sessions.
    crate::session::user_changed(db, user_id).await?;
    let claims = Claims {
        iss: keys.issuer().to_string(),
        aud: AUDIENCE.into(),
        sub: user_id.to_string(),
        sid,
        jti,
        iat: t,
        exp,
    };
    Ok(Issued {
        token: keys.sign(&claims)?,
        expires_in: cfg.api_token_lifetime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "http://localhost:8000".into(),
            aud: AUDIENCE.into(),
            sub: "1".into(),
            sid: 1,
            jti: "x".into(),
            iat: now(),
            exp,
        }
    }

    #[test]
    fn a_token_verifies_only_with_its_key_issuer_and_expiry() {
        let keys = TokenKeys::from_key(b"one key", "http://localhost:8000");
        let token = keys.sign(&claims(now() + 60)).unwrap();
        assert_eq!(keys.verify(&token).map(|c| c.sid), Some(1));
        let other = TokenKeys::from_key(b"another key", "http://localhost:8000");
        assert!(other.verify(&token).is_none());
        let elsewhere = TokenKeys::from_key(b"one key", "https://elsewhere.example");
        assert!(elsewhere.verify(&token).is_none());
        let expired = keys.sign(&claims(now() - 1)).unwrap();
        assert!(keys.verify(&expired).is_none());
    }
}
