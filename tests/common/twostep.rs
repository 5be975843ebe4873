//! Two-step sign-in as a member meets it: the secret read from the setup
//! page, codes computed from it here (RFC 6238, written again on its own so
//! that a mistake in the app's version cannot hide), recovery codes read
//! from the page that shows them.

use hmac::{Hmac, Mac};
use rocket::http::Status;
use rocket::local::asynchronous::Client;

use super::{get, post_raw, submit, Resp};

/// RFC 4648 base32 (spaces ignored, no padding) to bytes.
pub fn base32_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = alphabet
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("a base32 character") as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// The 6-digit code of `step`.
pub fn code_at(secret: &[u8], step: i64) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).unwrap();
    mac.update(&(step as u64).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = usize::from(h[19] & 0x0f);
    let n = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]) % 1_000_000;
    format!("{n:06}")
}

/// The current step, as the app counts it.
pub fn step_now() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    secs / 30
}

/// The code `offset` steps from now (-1: the one before, as a slow phone shows).
pub fn code_now(secret: &[u8], offset: i64) -> String {
    code_at(secret, step_now() + offset)
}

/// The text of the first `<code ... {marker}...>` element on a page.
fn code_element<'a>(body: &'a str, marker: &str) -> Option<&'a str> {
    let at = body.find(marker)?;
    let start = at + body[at..].find('>')? + 1;
    let end = start + body[start..].find("</code>")?;
    Some(&body[start..end])
}

/// The secret the setup page shows for typing by hand.
pub fn secret_on_page(body: &str) -> String {
    code_element(body, "id=\"secret\"")
        .expect("the setup page shows the secret")
        .to_string()
}

/// The recovery codes a page shows.
pub fn codes_on_page(body: &str) -> Vec<String> {
    body.split("class=\"recovery-code\">")
        .skip(1)
        .map(|s| s[..s.find("</code>").unwrap()].to_string())
        .collect()
}

/// What enrolling gave the member.
pub struct Enrolled {
    pub secret: Vec<u8>,
    pub codes: Vec<String>,
}

/// "Set up two-step sign-in" on the profile: the QR page (whose secret is
/// read), and the current code. That step's code is then used: the next
/// sign-in types the code one step ahead ([`code_now`] with 1), which the
/// app accepts whether or not the clock has reached it yet.
pub async fn enrol(browser: &Client) -> Enrolled {
    enrol_with_offset(browser, 0).await
}

/// [`enrol`], typing the code `offset` steps from now.
pub async fn enrol_with_offset(browser: &Client, offset: i64) -> Enrolled {
    let setup = submit(browser, "/account/two-step", "/account/two-step/setup", &[]).await;
    assert_eq!(setup.status, Status::Ok, "{}", setup.body);
    assert!(setup.body.contains("<svg"), "no QR code: {}", setup.body);
    let secret = base32_decode(&secret_on_page(&setup.body));
    assert_eq!(secret.len(), 20);
    let code = code_now(&secret, offset);
    let done = post_raw(
        browser,
        "/account/two-step/enable",
        &[("csrf_token", &setup.csrf()), ("code", &code)],
        &[],
    )
    .await;
    assert_eq!(done.status, Status::Ok, "{}", done.body);
    let codes = codes_on_page(&done.body);
    assert_eq!(codes.len(), 10, "{}", done.body);
    Enrolled { secret, codes }
}

/// Send `code` to the second step, with a token from the sign-in page
/// (which works whether or not this browser is halfway through).
pub async fn send_code(browser: &Client, code: &str) -> Resp {
    let token = get(browser, "/login").await.csrf();
    assert!(!token.is_empty(), "no CSRF token on /login");
    post_raw(
        browser,
        "/login/two-step",
        &[("csrf_token", &token), ("code", code)],
        &[],
    )
    .await
}
