//! Metrics in the Prometheus/OpenMetrics text format, for `GET /metrics`
//! (`web::metrics` serves them and times every request).
//!
//! One registry per process, built at ignite; any layer may add a gauge or
//! counter to it while the app is being built ([`Metrics::gauge`]) and then
//! move the returned handle wherever it counts (the password hasher, the
//! chat streams). Values that live in the database (the job queue) or the
//! pool are read when the page is scraped, not kept up to date on every
//! change. The registry and the text format are `prometheus-client`'s, the
//! Prometheus project's own Rust client.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of one request's measurement.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route's template (`/notes/<id>`), never the path itself, so the
    /// number of series stays bounded; `unmatched` for 404s without a route.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    kind: String,
    state: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~8 s: a cached page takes well under a millisecond, a
    // password hash a few hundred.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 15,
    ))
}

/// What tells one request's series from another without building its
/// labels: the route (its address in the router, 0 for none), the method
/// and the status.
pub type SeriesKey = (usize, rocket::http::Method, u16);

/// This process's metrics.
pub struct Metrics {
    /// The request series already created, by [`SeriesKey`]: counting a
    /// request is then one small hash, not two label sets of strings
    /// allocated and hashed per request.
    series: Mutex<HashMap<SeriesKey, (Counter, Histogram)>>,
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    pool_size: Gauge,
    pool_idle: Gauge,
    jobs: Family<StateLabels, Gauge>,
    memory: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("groundwork");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        let latency = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response, by method, route and status",
            latency.clone(),
        );
        let pool_size = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Database connections the pool holds open (in use and idle)",
            pool_size.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "db_pool_idle_connections",
            "Open database connections waiting to be used",
            pool_idle.clone(),
        );
        let jobs = Family::<StateLabels, Gauge>::default();
        registry.register(
            "jobs",
            "Background jobs in the queue (mail included), by kind and state",
            jobs.clone(),
        );
        let memory = Gauge::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of this process",
            memory.clone(),
        );
        Metrics {
            series: Mutex::default(),
            registry: Mutex::new(registry),
            requests,
            latency,
            pool_size,
            pool_idle,
            jobs,
            memory,
        }
    }

    /// A gauge named `groundwork_<name>`, registered now; keep the handle
    /// and set it where the value changes.
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        let gauge = Gauge::default();
        if let Ok(mut registry) = self.registry.lock() {
            registry.register(name, help, gauge.clone());
        }
        gauge
    }

    /// Count one answered request, of the series `key` whose labels
    /// `labels` gives (called only the first time a series is seen).
    pub fn observe(&self, key: SeriesKey, labels: impl FnOnce() -> RequestLabels, seconds: f64) {
        let mut series = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (count, latency) = series.entry(key).or_insert_with(|| {
            let labels = labels();
            (
                self.requests.get_or_create(&labels).clone(),
                self.latency.get_or_create(&labels).clone(),
            )
        });
        count.inc();
        latency.observe(seconds);
    }

    /// Read what is measured at scrape time, then the whole registry as
    /// OpenMetrics text.
    pub async fn render(&self, db: &crate::db::DbPool) -> Result<String, String> {
        self.pool_size.set(i64::from(db.pool.size()));
        self.pool_idle.set(db.pool.num_idle() as i64);
        if let Some(bytes) = resident_memory() {
            self.memory.set(bytes);
        }
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state")
                .fetch_all(&db.pool)
                .await
                .map_err(|e| e.to_string())?;
        // Kinds and states that emptied since the last scrape read 0.
        self.jobs.clear();
        for (kind, state, count) in rows {
            self.jobs
                .get_or_create(&StateLabels { kind, state })
                .set(count);
        }
        let registry = self.registry.lock().map_err(|e| e.to_string())?;
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)
            .map_err(|e| e.to_string())?;
        Ok(text)
    }
}

/// VmRSS from /proc (Linux); None elsewhere.
fn resident_memory() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
