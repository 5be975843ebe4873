//! `GET /metrics` and the timing of every request (`crate::metrics`).
//!
//! Off by default: the page says how busy the site is and which routes
//! exist, which is nobody's business but the operator's. Turned on with
//! `metrics.enabled`, it answers only clients whose address is in
//! `metrics.allowed` (the Prometheus server; default loopback) and, when
//! `metrics.token` is set, only with `Authorization: Bearer <token>`.
//! Everyone else gets the same 404 as when it is off.

use std::net::IpAddr;
use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::{get, Data, Request, Response, State};
use serde::Deserialize;

use super::ClientIp;
use crate::db::Db;
use crate::metrics::{Metrics, RequestLabels};

/// The `[metrics]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Client addresses allowed to read the page.
    pub allowed: Vec<IpAddr>,
    /// When not empty, the bearer token the page asks for.
    pub token: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: false,
            allowed: vec![
                IpAddr::from(std::net::Ipv4Addr::LOCALHOST),
                IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            ],
            token: String::new(),
        }
    }
}

/// Times every request and counts its answer.
pub struct RequestTimer;

#[derive(Clone, Copy)]
struct Started(Instant);

#[rocket::async_trait]
impl Fairing for RequestTimer {
    fn info(&self) -> Info {
        Info {
            name: "Request metrics",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Started(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(metrics) = req.rocket().state::<Metrics>() else {
            return;
        };
        let started = req.local_cache(|| Started(Instant::now())).0;
        let route = req.route();
        let status = res.status().code;
        metrics.observe(
            (
                route.map_or(0, |r| r as *const _ as usize),
                req.method(),
                status,
            ),
            || RequestLabels {
                method: req.method().as_str().to_string(),
                route: route
                    .map_or_else(|| "unmatched".to_string(), |r| r.uri.as_str().to_string()),
                status,
            },
            started.elapsed().as_secs_f64(),
        );
    }
}

/// A client allowed to read the metrics.
pub struct Scraper;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Scraper {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(cfg) = req.rocket().state::<MetricsConfig>() else {
            return Outcome::Forward(Status::NotFound);
        };
        if !cfg.enabled {
            return Outcome::Forward(Status::NotFound);
        }
        let ip = req.guard::<ClientIp>().await.succeeded().and_then(|c| c.0);
        let allowed = ip.is_some_and(|ip| cfg.allowed.contains(&ip.to_canonical()));
        let token_ok = cfg.token.is_empty()
            || req
                .headers()
                .get_one("Authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
                .is_some_and(|t| constant_time_eq(t.as_bytes(), cfg.token.as_bytes()));
        if allowed && token_ok {
            Outcome::Success(Scraper)
        } else {
            Outcome::Forward(Status::NotFound)
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[get("/metrics")]
pub async fn metrics(
    _scraper: Scraper,
    metrics: &State<Metrics>,
    db: &Db,
) -> Result<(ContentType, String), Status> {
    match metrics.render(db).await {
        Ok(text) => Ok((
            ContentType::new("application", "openmetrics-text")
                .with_params([("version", "1.0.0"), ("charset", "utf-8")]),
            text,
        )),
        Err(e) => {
            log::error!("metrics: {e}");
            Err(Status::ServiceUnavailable)
        }
    }
}

/// Read `[metrics]`; the launch stops on a bad section.
pub fn config(figment: &rocket::figment::Figment) -> Result<MetricsConfig, String> {
    crate::config::section(figment, "metrics")
}
