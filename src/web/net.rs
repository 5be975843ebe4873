//! Who is asking: the client address (trusting proxies only when told to)
//! and the user agent.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

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

    /// The name every per-address limit counts this client under: the
    /// address itself for IPv4, its /64 network for IPv6. One subscriber
    /// is usually given a whole /64 and may use any address in it, so
    /// counting single IPv6 addresses would let them rotate past a limit.
    pub fn bucket_key(&self) -> String {
        match self.0 {
            Some(IpAddr::V6(v6)) => {
                let s = v6.segments();
                let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
            Some(ip) => ip.to_string(),
            None => "unknown".into(),
        }
    }
}

/// Whether the TCP peer is one of `trusted_proxies`.
pub(super) fn from_trusted_proxy(req: &Request<'_>) -> bool {
    let Some(peer) = req.remote().map(|r| r.ip().to_canonical()) else {
        return false;
    };
    req.rocket()
        .state::<AppConfig>()
        .is_some_and(|c| c.trusted_proxies.iter().any(|t| t.to_canonical() == peer))
}

fn resolve(req: &Request<'_>) -> Option<IpAddr> {
    let peer = req.remote()?.ip();
    let trusted = req
        .rocket()
        .state::<AppConfig>()
        .map(|c| c.trusted_proxies.as_slice())
        .unwrap_or(&[]);
    let hops: Vec<&str> = req
        .headers()
        .get("X-Forwarded-For")
        .flat_map(|v| v.split(','))
        .collect();
    Some(client_address(peer, trusted, hops.into_iter()))
}

/// The client behind `peer`, given the `X-Forwarded-For` entries in the
/// order they appear. Each trusted proxy appends the address it received
/// the request from, so the chain is walked from the right: past trusted
/// proxies, up to the first address that is not one. Entries to the left
/// of it were written by the client and prove nothing. A hop that cannot
/// be read ends the walk at the last trusted address: skipping it would
/// believe whatever the client put further left.
pub fn client_address<'a>(
    peer: IpAddr,
    trusted: &[IpAddr],
    hops: impl DoubleEndedIterator<Item = &'a str>,
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.to_canonical() == ip);
    let mut current = peer.to_canonical();
    if !is_trusted(current) {
        return current;
    }
    for hop in hops.rev() {
        let Some(ip) = parse_hop(hop) else {
            return current;
        };
        current = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    current
}

/// One `X-Forwarded-For` entry: `ip`, `ip:port`, `v6`, `[v6]` or `[v6]:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<Ipv6Addr>().ok())
                .map(IpAddr::V6)
        })?;
    Some(ip.to_canonical())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    fn client(peer: &str, trusted: &[&str], xff: &str) -> IpAddr {
        let trusted: Vec<IpAddr> = trusted.iter().map(|t| ip(t)).collect();
        client_address(ip(peer), &trusted, xff.split(','))
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network() {
        let key = |s: &str| ClientIp(Some(ip(s))).bucket_key();
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(ClientIp(None).bucket_key(), "unknown");
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(client("10.0.0.9", &[], "1.2.3.4"), ip("10.0.0.9"));
        assert_eq!(
            client("10.0.0.9", &["127.0.0.1"], "1.2.3.4"),
            ip("10.0.0.9")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies = ["127.0.0.1", "10.0.0.2"];
        assert_eq!(
            client("127.0.0.1", &proxies, "1.2.3.4, 203.0.113.9"),
            ip("203.0.113.9")
        );
        assert_eq!(
            client("127.0.0.1", &proxies, "1.2.3.4, 203.0.113.9, 10.0.0.2"),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn hops_with_ports_and_brackets_are_read() {
        let proxies = ["127.0.0.1"];
        assert_eq!(
            client("127.0.0.1", &proxies, "1.2.3.4, 203.0.113.9:5555"),
            ip("203.0.113.9")
        );
        assert_eq!(
            client("127.0.0.1", &proxies, "1.2.3.4, [2001:db8::7]:443"),
            ip("2001:db8::7")
        );
        assert_eq!(
            client("127.0.0.1", &proxies, "1.2.3.4, [2001:db8::7]"),
            ip("2001:db8::7")
        );
        assert_eq!(
            client("127.0.0.1", &proxies, "1.2.3.4,2001:db8::7"),
            ip("2001:db8::7")
        );
        assert_eq!(
            client("127.0.0.1", &proxies, "::ffff:203.0.113.9"),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk_at_the_last_trusted_address() {
        let proxies = ["127.0.0.1", "10.0.0.2"];
        for xff in [
            "1.2.3.4, unknown",
            "1.2.3.4, _hidden",
            "1.2.3.4, ",
            "1.2.3.4, 203.0.113.9:port",
        ] {
            assert_eq!(client("127.0.0.1", &proxies, xff), ip("127.0.0.1"), "{xff}");
        }
        assert_eq!(
            client("127.0.0.1", &proxies, "1.2.3.4, garbage, 10.0.0.2"),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn a_chain_of_only_trusted_proxies_ends_at_the_leftmost() {
        let proxies = ["127.0.0.1", "10.0.0.2"];
        assert_eq!(client("127.0.0.1", &proxies, "10.0.0.2"), ip("10.0.0.2"));
        assert_eq!(client("127.0.0.1", &proxies, ""), ip("127.0.0.1"));
    }
}
