//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), as every
//! authenticator app computes them: HMAC-SHA1, 30-second steps, 6 digits.
//! Hand-written because it is twenty lines over the RustCrypto `hmac` and
//! `sha1` crates; the RFC's own test vectors check it below.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per step (RFC 6238's default, and the only period apps agree on).
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret: 160 bits, the HMAC-SHA1 block RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;
/// Steps of clock difference accepted either way (one step: 30 s).
pub const SKEW: i64 = 1;

/// The step a unix time falls in.
pub fn step_at(unix: i64) -> i64 {
    unix.div_euclid(STEP)
}

/// RFC 4226's HOTP value of `counter`, `digits` long.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC accepts a key of any length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 section 5.3).
    let off = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 10u32.pow(digits)
}

/// The 6-digit code of `step`, zero-padded as apps show it.
pub fn code(secret: &[u8], step: i64) -> String {
    let counter = u64::try_from(step).unwrap_or(0);
    format!("{:06}", hotp(secret, counter, DIGITS))
}

/// The step whose code `given` is, among the current step at `unix` and
/// [`SKEW`] steps either side, and only among steps after `last_step` (a
/// code is never accepted twice, nor one older than the last accepted).
/// Spaces are ignored; anything but six digits matches nothing.
pub fn matching_step(secret: &[u8], given: &str, unix: i64, last_step: i64) -> Option<i64> {
    let given: String = given.chars().filter(|c| !c.is_whitespace()).collect();
    if given.len() != DIGITS as usize || !given.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix);
    (now - SKEW..=now + SKEW)
        .filter(|s| *s > last_step)
        .find(|s| bool::from(code(secret, *s).as_bytes().ct_eq(given.as_bytes())))
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding: how apps take a secret typed by hand.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The secret in groups of four, easier to type: `ABCD EFGH ...`.
pub fn grouped(secret_b32: &str) -> String {
    secret_b32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://` URI apps read from the QR code (Google Authenticator's
/// key-uri format): the issuer names the site, the label the account.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    // Everything but RFC 3986's unreserved characters is escaped: `:`
    // separates the issuer from the account in the label.
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer),
        enc(account),
        enc(issuer),
    )
}

/// The URI as a QR code in SVG, drawn here: no script, no outside service.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, the SHA-1 rows (8 digits, the ASCII secret
    /// "12345678901234567890").
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            let counter = u64::try_from(step_at(time)).unwrap();
            assert_eq!(hotp(secret, counter, 8), expected, "T = {time}");
        }
    }

    /// RFC 4226 appendix D: the first HOTP values, 6 digits.
    #[test]
    fn rfc_4226_test_vectors() {
        let secret = b"12345678901234567890";
        let expected = [755224, 287082, 359152, 969429, 338314];
        for (counter, value) in expected.iter().enumerate() {
            assert_eq!(hotp(secret, counter as u64, 6), *value);
        }
    }

    #[test]
    fn a_code_matches_within_one_step_and_never_at_or_before_the_last_used() {
        let secret = b"12345678901234567890";
        let t = 1_234_567_890;
        let now = step_at(t);
        assert_eq!(matching_step(secret, &code(secret, now), t, 0), Some(now));
        assert_eq!(
            matching_step(secret, &code(secret, now - 1), t, 0),
            Some(now - 1)
        );
        assert_eq!(
            matching_step(secret, &code(secret, now + 1), t, 0),
            Some(now + 1)
        );
        assert_eq!(matching_step(secret, &code(secret, now - 2), t, 0), None);
        assert_eq!(matching_step(secret, &code(secret, now + 2), t, 0), None);
        assert_eq!(matching_step(secret, &code(secret, now), t, now), None);
        assert_eq!(
            matching_step(secret, &code(secret, now - 1), t, now - 1),
            None
        );
        let spaced = format!("{} {}", &code(secret, now)[..3], &code(secret, now)[3..]);
        assert_eq!(matching_step(secret, &spaced, t, 0), Some(now));
        assert_eq!(matching_step(secret, "12345", t, 0), None);
        assert_eq!(matching_step(secret, "abcdef", t, 0), None);
    }

    #[test]
    fn base32_follows_rfc_4648() {
        // RFC 4648 section 10, without the padding.
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"fo"), "MZXQ");
        assert_eq!(base32(b"foo"), "MZXW6");
        assert_eq!(base32(b"foob"), "MZXW6YQ");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }

    #[test]
    fn the_uri_and_qr_code_name_the_site_and_account() {
        let uri = otpauth_uri("localhost:8000", "ann@example.org", "MZXW6YTBOI");
        assert_eq!(
            uri,
            "otpauth://totp/localhost%3A8000:ann%40example.org?secret=MZXW6YTBOI&issuer=localhost%3A8000&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg"), "{svg}");
    }
}
