//! The `Stripe-Signature` header, exactly as Stripe documents it
//! (<https://docs.stripe.com/webhooks#verify-manually>): `t=<unix
//! seconds>` and one or more `v1=<hex>` (several while a secret is being
//! rolled), each an HMAC-SHA256 with the endpoint secret over
//! `"{t}.{raw body}"`. Any one `v1` matching is enough; other schemes
//! (`v0`, the test-mode scheme) are ignored, as Stripe's libraries do.
//!
//! The body is the raw bytes as received: JSON re-serialised by us would
//! not be what Stripe signed. The comparison is constant-time. A timestamp
//! further than the tolerance from now, in either direction, is refused:
//! in the past it is a replay; in the future it is a forger hoping to make
//! a captured signature last.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::session::hex;

/// Stripe's default tolerance, in seconds.
pub const DEFAULT_TOLERANCE: i64 = 300;

/// Why a signature was refused. The messages are safe to show and log:
/// they never contain the secret or the expected signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `Stripe-Signature` header at all.
    Missing,
    /// A header without a numeric `t=` or without any `v1=`.
    Malformed,
    /// No `v1` matches the body and the secret.
    Mismatch,
    /// `t` is older than the tolerance.
    TooOld,
    /// `t` is later than now plus the tolerance.
    InFuture,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "no Stripe-Signature header",
            SignatureError::Malformed => "the Stripe-Signature header is malformed",
            SignatureError::Mismatch => "no signature matches the body",
            SignatureError::TooOld => "the signature's timestamp is too old",
            SignatureError::InFuture => "the signature's timestamp is in the future",
        })
    }
}

impl std::error::Error for SignatureError {}

fn mac(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `v1` signature of `body` at time `t` (lowercase hex).
pub fn v1(secret: &str, t: i64, body: &[u8]) -> String {
    hex(&mac(secret, t, body).finalize().into_bytes())
}

/// A `Stripe-Signature` header for `body` signed at `t`: what the test
/// provider sends, and what tests forge and tamper with.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", v1(secret, t, body))
}

/// Check `header` against `body`: `Ok(t)` when one `v1` matches and `t`
/// is within `tolerance` seconds of `now`.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    tolerance: i64,
    now: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t = None;
    let mut candidates = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => match value.parse::<i64>() {
                Ok(v) => t = Some(v),
                Err(_) => return Err(SignatureError::Malformed),
            },
            "v1" => candidates.push(value),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let expected = v1(secret, t, body);
    // Every candidate is compared, matched or not, so the time taken does
    // not say which one (or how much of one) was right.
    let matched = candidates.iter().fold(false, |found, c| {
        found | bool::from(c.as_bytes().ct_eq(expected.as_bytes()))
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if now - t > tolerance {
        return Err(SignatureError::TooOld);
    }
    if t - now > tolerance {
        return Err(SignatureError::InFuture);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
    const NOW: i64 = 1_700_000_000;

    fn check(header: &str) -> Result<i64, SignatureError> {
        verify(Some(header), BODY, SECRET, DEFAULT_TOLERANCE, NOW)
    }

    #[test]
    fn a_signature_made_by_the_signer_verifies() {
        assert_eq!(check(&sign(SECRET, NOW, BODY)), Ok(NOW));
        // Within the tolerance on both sides.
        assert!(check(&sign(SECRET, NOW - 300, BODY)).is_ok());
        assert!(check(&sign(SECRET, NOW + 300, BODY)).is_ok());
    }

    #[test]
    fn the_hmac_is_the_one_stripe_documents() {
        // HMAC-SHA256("secret", "1.{}") computed independently (Python's hmac module).
        assert_eq!(
            v1("secret", 1, b"{}"),
            "1122767b193110cfec322b6f199b599edbf608ed087f2d27afb0b97d99523908"
        );
    }

    #[test]
    fn a_forged_signature_is_refused() {
        let forged = sign("whsec_another_secret", NOW, BODY);
        assert_eq!(check(&forged), Err(SignatureError::Mismatch));
        let garbage = format!("t={NOW},v1={}", "0".repeat(64));
        assert_eq!(check(&garbage), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_tampered_body_or_timestamp_is_refused() {
        let header = sign(SECRET, NOW, BODY);
        let tampered = br#"{"id":"evt_1","type":"checkout.session.completed" }"#;
        assert_eq!(
            verify(Some(&header), tampered, SECRET, DEFAULT_TOLERANCE, NOW),
            Err(SignatureError::Mismatch)
        );
        let moved = header.replace(&format!("t={NOW}"), &format!("t={}", NOW - 1));
        assert_eq!(check(&moved), Err(SignatureError::Mismatch));
    }

    #[test]
    fn stale_and_future_timestamps_are_refused_even_when_signed() {
        assert_eq!(
            check(&sign(SECRET, NOW - 301, BODY)),
            Err(SignatureError::TooOld)
        );
        assert_eq!(
            check(&sign(SECRET, NOW + 301, BODY)),
            Err(SignatureError::InFuture)
        );
        // The tolerance is a setting.
        assert!(verify(Some(&sign(SECRET, NOW - 301, BODY)), BODY, SECRET, 600, NOW).is_ok());
    }

    #[test]
    fn any_one_of_several_v1_signatures_is_enough() {
        let good = v1(SECRET, NOW, BODY);
        let bad = v1("whsec_old_secret", NOW, BODY);
        assert!(check(&format!("t={NOW},v1={bad},v1={good}")).is_ok());
        assert!(check(&format!("t={NOW},v1={good},v1={bad}")).is_ok());
        // Other schemes are ignored, not taken as a match.
        assert!(check(&format!("t={NOW},v0={good},v1={good}")).is_ok());
        assert_eq!(
            check(&format!("t={NOW},v0={good}")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check(&format!("t={NOW},v1={bad},v1={bad}")),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        assert_eq!(
            verify(None, BODY, SECRET, DEFAULT_TOLERANCE, NOW),
            Err(SignatureError::Missing)
        );
        let good = v1(SECRET, NOW, BODY);
        for header in [
            String::new(),
            format!("v1={good}"),
            format!("t={NOW}"),
            format!("t=soon,v1={good}"),
            "garbage".to_string(),
        ] {
            assert_eq!(check(&header), Err(SignatureError::Malformed), "{header}");
        }
    }
}
