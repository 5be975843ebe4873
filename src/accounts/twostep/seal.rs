//! Sealing authenticator secrets: a stolen database dump (or backup) must
//! not let anyone compute a member's codes. Each secret is encrypted with
//! AES-256-GCM under a key derived from the site's `secret_key` by
//! HKDF-SHA256 with a label of its own, so it shares nothing with the
//! cookie or API-token keys derived from the same secret; the user id is
//! the associated data, so a sealed secret copied to another row fails to open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use rand::RngCore;
use rocket::figment::Figment;
use sha2::Sha256;

use crate::error::{AppError, AppResult};

/// The HKDF label of this key; bump the version to rotate the scheme.
const LABEL: &[u8] = b"groundwork/twostep/totp-secret/aes-256-gcm/v1";
const NONCE_LEN: usize = 12;

/// The key authenticator secrets are sealed with, managed as Rocket state.
pub struct SealKey(Aes256Gcm);

impl SealKey {
    /// The key derived from the configured `secret_key`. Without one (only
    /// the debug profile starts without it) a random key is made, and
    /// secrets set up in this process cannot be opened after it stops.
    pub fn from_figment(figment: &Figment) -> SealKey {
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
        match material {
            Some(secret) => SealKey::derive(&secret),
            None => {
                let mut k = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut k);
                SealKey::derive(&k)
            }
        }
    }

    /// The key HKDF-SHA256 derives from `secret` under [`LABEL`].
    pub fn derive(secret: &[u8]) -> SealKey {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(None, secret)
            .expand(LABEL, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        SealKey(Aes256Gcm::new(&key.into()))
    }

    /// `secret` sealed for `user_id`: base64 of nonce and ciphertext.
    pub fn seal(&self, user_id: i64, secret: &[u8]) -> AppResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = user_id.to_be_bytes();
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| AppError::Internal("sealing an authenticator secret".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD_NO_PAD.encode(out))
    }

    /// The secret [`seal`](Self::seal) sealed for `user_id`; None when it
    /// does not open (another key, another user, or a damaged value).
    pub fn open(&self, user_id: i64, sealed: &str) -> Option<Vec<u8>> {
        let bytes = STANDARD_NO_PAD.decode(sealed).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let aad = user_id.to_be_bytes();
        self.0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_opens_only_with_its_key_and_for_its_user() {
        let key = SealKey::derive(b"the site's secret");
        let sealed = key.seal(7, b"12345678901234567890").unwrap();
        assert!(!sealed.contains("12345678901234567890"));
        assert_eq!(key.open(7, &sealed).unwrap(), b"12345678901234567890");
        assert!(key.open(8, &sealed).is_none());
        assert!(SealKey::derive(b"another secret")
            .open(7, &sealed)
            .is_none());
        assert!(key.open(7, "garbage!").is_none());
        assert_ne!(key.seal(7, b"same").unwrap(), key.seal(7, b"same").unwrap());
    }
}
