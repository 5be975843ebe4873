//! Log lines as JSON, one object per line, for log collectors
//! (`log_format = "json"`); the default is Rocket's own readable lines.
//!
//! Each line: `{"time": RFC 3339 UTC, "level", "target", "message"}`. A
//! request's error lines carry its id in the message (`request <id>: ...`,
//! `web::request_id`). Passwords, tokens and secrets are never logged by any
//! code path (tests/binary.rs greps a run's log for the configured secrets).

use log::{LevelFilter, Log, Metadata, Record};

struct JsonLogger {
    max: LevelFilter,
}

impl Log for JsonLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.max
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Like Rocket's logger: the HTTP and TLS libraries only when debugging.
        let noisy = record
            .module_path()
            .is_some_and(|m| m.starts_with("hyper") || m.starts_with("rustls"));
        if noisy && self.max < LevelFilter::Trace {
            return;
        }
        let time = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let line = serde_json::json!({
            "time": time,
            "level": record.level().as_str().to_ascii_lowercase(),
            "target": record.target().trim_end_matches('_'),
            "message": record.args().to_string(),
        });
        println!("{line}");
    }

    fn flush(&self) {}
}

/// Log JSON lines from now on, at Rocket's `log_level` (`critical`,
/// `normal`, `debug`, `off`). Call before the launch: Rocket then keeps
/// this logger instead of installing its own.
pub fn init_json(log_level: &str) -> bool {
    let max = match log_level {
        "off" => LevelFilter::Off,
        "critical" => LevelFilter::Warn,
        "debug" => LevelFilter::Trace,
        _ => LevelFilter::Info,
    };
    if log::set_boxed_logger(Box::new(JsonLogger { max })).is_err() {
        return false;
    }
    log::set_max_level(max);
    true
}
