//! Tasks benchmark: one project with 5,000 tasks in four columns and 20
//! members, on a pool of ONE connection; time what the board page and the
//! filtered list run (the membership check, the columns, each column's
//! first `board_column_limit` cards with their count; the list's count and
//! page under several filters), and a move, then print p50/p99.
//! Template rendering is not included.
//!
//! Run with `bench/tasks.sh`, or directly:
//! `cargo run --release --example tasks-board -- sqlite`
//! `cargo run --release --example tasks-board -- postgres://postgres@127.0.0.1:5432/postgres`
//! (Postgres: a fresh `bench_tasks_*` database is created and dropped.)

use std::time::{Duration, Instant};

use groundwork::db::{self, DbConfig, DbPool};
use groundwork::tasks::items::{self, Filter};
use groundwork::tasks::{columns, moves, repo};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::Connection;

const MEMBERS: usize = 20;
const TASKS: i64 = 5_000;
const RUNS: usize = 500;
const BOARD_LIMIT: i64 = 100;

fn config(url: &str) -> DbConfig {
    DbConfig {
        url: url.to_string(),
        min_connections: None,
        max_connections: 1,
        connect_timeout: 10,
        idle_timeout: None,
        extensions: None,
    }
}

/// The project, its members and tasks; returns (project, member ids, column ids).
async fn fill(pool: &DbPool, rng: &mut StdRng) -> (i64, Vec<i64>, Vec<i64>) {
    let started = Instant::now();
    let mut users = Vec::new();
    for i in 0..MEMBERS {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, email, created_at, updated_at) \
             VALUES ($1, $2, 0, 0) RETURNING id",
        )
        .bind(format!("member{i}"))
        .bind(format!("member{i}@example.org"))
        .fetch_one(&pool.pool)
        .await
        .expect("user");
        users.push(id);
    }
    let project = repo::create(pool, users[0], "Benchmark")
        .await
        .expect("project");
    for u in &users[1..] {
        repo::add_member(pool, project, *u, groundwork::tasks::model::Role::Editor)
            .await
            .expect("member");
    }
    columns::add(pool, project, "Review", false)
        .await
        .expect("column");
    let cols: Vec<i64> = columns::list(pool, project)
        .await
        .expect("columns")
        .iter()
        .map(|c| c.id)
        .collect();
    let batch = 250;
    let mut done = 0;
    while done < TASKS {
        let rows = batch.min(TASKS - done);
        let mut sql = String::from(
            "INSERT INTO tasks (project_id, column_id, position, title, description, assignee_id, \
             due_date, priority, version, created_by, created_at, updated_at) VALUES ",
        );
        for r in 0..rows {
            let b = r * 9;
            if r > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, 1, ${}, 0, 0)",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9
            ));
        }
        let mut q = sqlx::query(&sql);
        for r in 0..rows {
            let n = done + r;
            let assignee = (rng.gen_range(0..5) > 0).then(|| users[rng.gen_range(0..MEMBERS)]);
            let due = (rng.gen_range(0..3) > 0).then(|| {
                format!(
                    "2026-{:02}-{:02}",
                    rng.gen_range(1..=12),
                    rng.gen_range(1..=28)
                )
            });
            q = q
                .bind(project)
                .bind(cols[(n % cols.len() as i64) as usize])
                .bind((n + 1) * items::GAP)
                .bind(format!("Task {n} about item {}", rng.gen_range(0..1000)))
                .bind(format!(
                    "Description of task {n}: follow up on item {}.",
                    rng.gen_range(0..1000)
                ))
                .bind(assignee)
                .bind(due)
                .bind(rng.gen_range(0..5_i64))
                .bind(users[0]);
        }
        q.execute(&pool.pool).await.expect("tasks");
        done += rows;
    }
    sqlx::query("ANALYZE")
        .execute(&pool.pool)
        .await
        .expect("analyze");
    println!(
        "filled {TASKS} tasks, {MEMBERS} members, {} columns in {:.1} s",
        cols.len(),
        started.elapsed().as_secs_f64()
    );
    (project, users, cols)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(kind: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "  {kind:<26} p50 {:6.2} ms   p99 {:6.2} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
}

async fn run(pool: &DbPool, rng: &mut StdRng, project: i64, users: &[i64], cols: &[i64]) {
    let mut board = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let me = users[rng.gen_range(0..users.len())];
        let t = Instant::now();
        repo::project(pool, project, me).await.expect("project");
        for c in columns::list(pool, project).await.expect("columns") {
            items::in_column(pool, c.id, BOARD_LIMIT)
                .await
                .expect("cards");
        }
        board.push(t.elapsed());
    }
    report("board (4 x 100 cards)", board);
    let filters = [
        "assignee",
        "column + assignee",
        "text",
        "no filter, page 50",
    ];
    for kind in filters {
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let me = users[rng.gen_range(0..users.len())];
            let (filter, offset) = match kind {
                "assignee" => (
                    Filter {
                        assignee_id: Some(me),
                        ..Filter::default()
                    },
                    0,
                ),
                "column + assignee" => (
                    Filter {
                        column_id: Some(cols[rng.gen_range(0..cols.len())]),
                        assignee_id: Some(me),
                        ..Filter::default()
                    },
                    0,
                ),
                "text" => (
                    Filter {
                        q: format!("item {}", rng.gen_range(0..1000)),
                        ..Filter::default()
                    },
                    0,
                ),
                _ => (Filter::default(), 49 * 50),
            };
            let t = Instant::now();
            repo::project(pool, project, me).await.expect("project");
            items::list(pool, project, &filter, 50, offset)
                .await
                .expect("list");
            times.push(t.elapsed());
        }
        report(&format!("list: {kind}"), times);
    }
    let mut times = Vec::with_capacity(RUNS);
    let all = columns::list(pool, project).await.expect("columns");
    for _ in 0..RUNS {
        let id = rng.gen_range(1..=TASKS);
        let Some(task) = items::get(pool, project, id).await.expect("task") else {
            continue;
        };
        let from = all.iter().find(|c| c.id == task.column_id).expect("from");
        let to = &all[rng.gen_range(0..all.len())];
        let t = Instant::now();
        moves::move_to(pool, &task, from, to, None, users[0])
            .await
            .expect("move");
        times.push(t.elapsed());
    }
    report("move (one write)", times);
}

#[rocket::main]
async fn main() {
    let target = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let mut rng = StdRng::seed_from_u64(15);
    let _dir;
    let mut drop_db = None;
    let url = if target == "sqlite" {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        _dir = dir;
        url
    } else {
        let name = format!("bench_tasks_{}", std::process::id());
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&target)
            .await
            .expect("connect");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        let base = &target[..target.rfind('/').expect("a database path")];
        drop_db = Some((target.clone(), name.clone()));
        format!("{base}/{name}")
    };
    let pool = db::connect(&config(&url)).await.expect("connect");
    db::migrate(&pool).await.expect("migrate");
    println!("backend: {:?} (one connection)", pool.backend);
    let (project, users, cols) = fill(&pool, &mut rng).await;
    println!("warm-up:");
    run(&pool, &mut rng, project, &users, &cols).await;
    println!("measured:");
    run(&pool, &mut rng, project, &users, &cols).await;
    pool.close().await;
    if let Some((admin, name)) = drop_db {
        if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
            let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}
