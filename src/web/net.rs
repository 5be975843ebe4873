//! Who is asking: the client address (trusting proxies only when told to)
//! and the user agent.

use std::convert::Infallible;
use std::net::IpAddr;

use rocket::request::{FromRequest, Outcome, Request};

use crate::config::AppConfig;

/// The client's address. Behind a reverse proxy listed in `trusted_proxies`
/// it is read from `X-Forwarded-For`; otherwise it is the TCP peer, and any
/// `X-Forwarded-For` or `X-Real-IP` a client sends is ignored.
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// The address as stored and shown (`unknown` when there is none).
    pub fn label(&self) -> String {
        self.0
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".into())
    }
}

fn resolve(req: &Request<'_>) -> Option<IpAddr> {
    let peer = req.remote().map(|a| a.ip());
    let trusted = req
        .rocket()
        .state::<AppConfig>()
        .map(|c| c.trusted_proxies.as_slice())
        .unwrap_or(&[]);
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    // Walk the chain from the nearest hop; the first untrusted one is the client.
    let hops: Vec<IpAddr> = req
        .headers()
        .get("X-Forwarded-For")
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    Some(
        hops.into_iter()
            .rev()
            .find(|ip| !trusted.contains(ip))
            .unwrap_or(peer),
    )
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientIp {
    type Error = Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        Outcome::Success(ClientIp(resolve(req)))
    }
}

/// The `User-Agent` header, cut to a sane length.
#[derive(Debug, Clone)]
pub struct UserAgent(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for UserAgent {
    type Error = Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        let ua = req.headers().get_one("User-Agent").unwrap_or("");
        Outcome::Success(UserAgent(ua.chars().take(255).collect()))
    }
}
