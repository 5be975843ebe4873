//! Security headers on every response, error pages included.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

use crate::config::AppConfig;

/// No inline script, no framing, nothing from other origins but images.
const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
                   object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Adds CSP, nosniff, Referrer-Policy, frame protection, Permissions-Policy,
/// HSTS (when `base_url` is https) and `Cache-Control: no-store` for
/// signed-in pages, and marks every cookie `Secure` when
/// [`AppConfig::cookies_secure`] says so.
pub struct SecurityHeaders;

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "Security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.set_header(Header::new("Content-Security-Policy", CSP));
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        res.set_header(Header::new(
            "Referrer-Policy",
            "strict-origin-when-cross-origin",
        ));
        res.set_header(Header::new(
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ));
        res.set_header(Header::new("Cross-Origin-Opener-Policy", "same-origin"));
        let cfg = req.rocket().state::<AppConfig>();
        if cfg.is_some_and(AppConfig::is_https) {
            res.set_header(Header::new(
                "Strict-Transport-Security",
                "max-age=63072000; includeSubDomains",
            ));
        }
        if cfg.is_some_and(AppConfig::cookies_secure) {
            mark_cookies_secure(res);
        }
        if crate::session::signed_in(req) {
            res.set_header(Header::new("Cache-Control", "no-store"));
        }
    }
}

/// Add `Secure` to every `Set-Cookie` that lacks it: our own cookies set it
/// already, but Rocket builds the flash cookie and every removal itself.
fn mark_cookies_secure(res: &mut Response<'_>) {
    let is_secure = |line: &str| {
        line.split(';')
            .skip(1)
            .any(|a| a.trim().eq_ignore_ascii_case("secure"))
    };
    let lines: Vec<String> = res.headers().get("Set-Cookie").map(String::from).collect();
    if lines.iter().all(|l| is_secure(l)) {
        return;
    }
    res.remove_header("Set-Cookie");
    for line in lines {
        let line = if is_secure(&line) {
            line
        } else {
            format!("{line}; Secure")
        };
        res.adjoin_header(Header::new("Set-Cookie", line));
    }
}
