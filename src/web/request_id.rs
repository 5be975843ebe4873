//! A request id for every request: taken from the proxy's `X-Request-Id`
//! when the peer is a trusted proxy (nginx sends `$request_id`, so its
//! access log and ours agree), made up otherwise; sent back in
//! `X-Request-Id`, written in every error line the request logs, and shown
//! on error pages so that a person can quote it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Data, Request, Response};

/// This request's id.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The id of `req` (made up on first use if the fairing did not run).
pub fn of<'a>(req: &'a Request<'_>) -> &'a str {
    &req.local_cache(|| RequestId(fresh())).0
}

/// A random prefix per process and a counter, as 16 hex digits: unique
/// across processes and cheaper than asking the OS for randomness on every
/// request.
fn fresh() -> String {
    static PREFIX: LazyLock<u32> = LazyLock::new(rand::random);
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) as u32;
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&PREFIX.to_be_bytes());
    bytes[4..].copy_from_slice(&n.to_be_bytes());
    crate::session::hex(&bytes)
}

/// What a proxy may send: short, and only characters safe in a log line
/// and a header.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub struct RequestIds;

#[rocket::async_trait]
impl Fairing for RequestIds {
    fn info(&self) -> Info {
        Info {
            name: "Request ids",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let from_proxy = if super::net::from_trusted_proxy(req) {
            req.headers()
                .get_one("X-Request-Id")
                .filter(|id| acceptable(id))
                .map(str::to_string)
        } else {
            None
        };
        req.local_cache(|| RequestId(from_proxy.unwrap_or_else(fresh)));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.set_header(Header::new("X-Request-Id", of(req)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_a_proxys_id_must_be_plain() {
        assert_ne!(fresh(), fresh());
        let id = fresh();
        assert_eq!(id.len(), 16);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(acceptable("f2c1a9e07b2d4e51a0c3e5d6b7a8c9d0"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("x\r\nSet-Cookie: y"));
        assert!(!acceptable(&"a".repeat(65)));
    }
}
