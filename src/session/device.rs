//! Device cookies, OWASP's answer to lockout by strangers: wrong passwords
//! sent from anywhere fill an account's sign-in limit, and would lock the
//! owner out too. A browser that has signed in to an account carries an
//! encrypted cookie naming it (user id, issue time and a random nonce);
//! its sign-ins to that account are counted against a limit of its own
//! instead of the account's, so the owner still gets in while strangers
//! are refused. The per-address limit applies to everyone.

use rocket::http::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::store::random_token;
use crate::config::AppConfig;
use crate::db::now;

const DEVICE_COOKIE: &str = "gw_device";
/// Only the sign-in form reads it.
const DEVICE_PATH: &str = "/login";
/// How long a browser stays known after its last sign-in: a year.
const LIFETIME: i64 = 365 * 24 * 3600;

#[derive(Serialize, Deserialize)]
struct Claim {
    uid: i64,
    iat: i64,
    nonce: String,
}

/// A browser's proof that it signed in to an account before.
#[derive(Debug, Clone)]
pub struct Device {
    /// The account the browser signed in to.
    pub user_id: i64,
    /// The bucket its failed sign-ins are counted in.
    pub bucket: String,
}

impl Device {
    /// The device cookie this browser sends, if it opens (it is encrypted
    /// with the site's secret key) and has not expired.
    pub fn from_cookies(cookies: &CookieJar<'_>) -> Option<Device> {
        let cookie = cookies.get_private(DEVICE_COOKIE)?;
        let claim: Claim = serde_json::from_str(cookie.value()).ok()?;
        let age = now() - claim.iat;
        if !(0..LIFETIME).contains(&age) {
            return None;
        }
        let id = format!("{}:{}:{}", claim.uid, claim.iat, claim.nonce);
        Some(Device {
            user_id: claim.uid,
            bucket: format!("login:device:{:x}", Sha256::digest(id.as_bytes())),
        })
    }
}

/// Mark this browser as one that signed in to `user_id` (a new cookie,
/// whose failures start from nothing).
pub fn remember(cfg: &AppConfig, cookies: &CookieJar<'_>, user_id: i64) {
    let claim = Claim {
        uid: user_id,
        iat: now(),
        nonce: random_token(),
    };
    let Ok(value) = serde_json::to_string(&claim) else {
        return;
    };
    let cookie = Cookie::build((DEVICE_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(DEVICE_PATH)
        .secure(cfg.cookies_secure())
        .max_age(rocket::time::Duration::seconds(LIFETIME));
    cookies.add_private(cookie);
}
