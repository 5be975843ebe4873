//! What the query benchmarks share (`#[path = "common.rs"] mod common;` in
//! each example): a fresh migrated database (SQLite in a temp dir, or a new
//! Postgres database that is dropped at the end), and p50/p99 reporting.

use std::time::Duration;

use groundwork::db::{self, DbConfig, DbPool};
use sqlx::Connection;

/// A fresh, migrated database for one benchmark run.
pub struct BenchDb {
    pub pool: DbPool,
    _dir: Option<tempfile::TempDir>,
    /// (admin URL, database name) of a Postgres database to drop.
    drop_db: Option<(String, String)>,
}

impl BenchDb {
    /// `target` is "sqlite" or a Postgres URL whose user may create
    /// databases (a `<prefix>_<pid>` database is made there); the pool
    /// holds at most `connections`.
    pub async fn open(target: &str, prefix: &str, connections: usize) -> BenchDb {
        let (url, dir, drop_db) = if target == "sqlite" {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            );
            (url, Some(dir), None)
        } else {
            let name = format!("{prefix}_{}", std::process::id());
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(target).await.expect("connect");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create database");
            let base = &target[..target.rfind('/').expect("a database path")];
            let url = format!("{base}/{name}");
            (url, None, Some((target.to_string(), name)))
        };
        let config = DbConfig {
            url,
            min_connections: None,
            max_connections: connections,
            connect_timeout: 10,
            idle_timeout: None,
            extensions: None,
        };
        let pool = db::connect(&config).await.expect("connect");
        db::migrate(&pool).await.expect("migrate");
        BenchDb {
            pool,
            _dir: dir,
            drop_db,
        }
    }

    /// Close the pool and drop a Postgres database.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some((admin, name)) = self.drop_db {
            if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

/// The `p` quantile (0..=1) of sorted durations, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Sort `times` and print one line: `kind`, p50 and p99 (and how many).
pub fn report(kind: &str, times: &mut [Duration]) {
    times.sort();
    println!(
        "  {kind:<30} p50 {:6.2} ms   p99 {:6.2} ms   ({} runs)",
        percentile(times, 0.5),
        percentile(times, 0.99),
        times.len()
    );
}
