//! Tasks benchmark: one project with 5,000 tasks in four columns and 20
//! members (each task with a label or two, a third with a checklist), on a
//! pool of ONE connection; time what the board page, the filtered and
//! sorted list and "My tasks" run (the membership check, the columns, each
//! column's first `board_column_limit` cards, the counts, the cards'
//! labels and checklist progress; the list's count and page under several
//! filters and orders, to the deepest page), and a move, then print
//! p50/p99. Template rendering is not included.
//!
//! Run with `bench/tasks.sh`, or directly:
//! `cargo run --release --example tasks-board -- sqlite`
//! `cargo run --release --example tasks-board -- postgres://postgres@127.0.0.1:5432/postgres`
//! (Postgres: a fresh `bench_tasks_*` database is created and dropped.)

#[path = "common.rs"]
mod common;

use std::time::Instant;

use common::{report, BenchDb};
use groundwork::db::DbPool;
use groundwork::tasks::query::{self, Assignee, ListQuery, Sort, MAX_DEPTH};
use groundwork::tasks::{cards, columns, items, labels, moves, repo};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MEMBERS: usize = 20;
const TASKS: i64 = 5_000;
const RUNS: usize = 500;
const BOARD_LIMIT: i64 = 100;

/// The project, its members, tasks and labels; returns (project, member
/// ids, column ids, label ids).
async fn fill(pool: &DbPool, rng: &mut StdRng) -> (i64, Vec<i64>, Vec<i64>, Vec<i64>) {
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
    // Ten labels; each task gets one or two, a third of them a checklist of five.
    let mut label_ids = Vec::new();
    for (i, colour) in ["red", "blue", "green", "grey", "teal"]
        .iter()
        .cycle()
        .take(10)
        .enumerate()
    {
        let input = labels::validate(&format!("label {i}"), colour).expect("label");
        let label = labels::create(pool, project, &input)
            .await
            .expect("create")
            .expect("label");
        label_ids.push(label.id);
    }
    let task_ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM tasks WHERE project_id = $1 ORDER BY id")
            .bind(project)
            .fetch_all(&pool.pool)
            .await
            .expect("ids");
    for chunk in task_ids.chunks(200) {
        let mut links = Vec::new();
        let mut items_sql = Vec::new();
        for id in chunk {
            let a = label_ids[rng.gen_range(0..label_ids.len())];
            let b = label_ids[rng.gen_range(0..label_ids.len())];
            links.push(format!("({id}, {a})"));
            if b != a && rng.gen_range(0..2) == 0 {
                links.push(format!("({id}, {b})"));
            }
            if rng.gen_range(0..3) == 0 {
                for k in 1..=5 {
                    let done = rng.gen_range(0..2);
                    items_sql.push(format!("({id}, {}, 'step {k}', {done}, 0)", k * items::GAP));
                }
            }
        }
        sqlx::query(&format!(
            "INSERT INTO task_label_links (task_id, label_id) VALUES {}",
            links.join(",")
        ))
        .execute(&pool.pool)
        .await
        .expect("links");
        if !items_sql.is_empty() {
            sqlx::query(&format!(
                "INSERT INTO task_checklist (task_id, position, text, done, created_at) VALUES {}",
                items_sql.join(",")
            ))
            .execute(&pool.pool)
            .await
            .expect("checklists");
        }
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
    (project, users, cols, label_ids)
}

/// What the board page runs against the database.
async fn board(pool: &DbPool, project: i64, me: i64) {
    repo::project(pool, project, me).await.expect("project");
    let mut ids = Vec::new();
    for c in columns::list(pool, project).await.expect("columns") {
        let (tasks, _count) = items::in_column(pool, c.id, BOARD_LIMIT)
            .await
            .expect("cards");
        ids.extend(tasks.iter().map(|t| t.id));
    }
    cards::load(pool, &ids).await.expect("extras");
}

/// What the list page runs against the database.
async fn list(pool: &DbPool, project: i64, me: i64, q: &ListQuery, offset: i64) {
    repo::project(pool, project, me).await.expect("project");
    let (tasks, _) = query::list(pool, project, q, 50, offset)
        .await
        .expect("list");
    let ids: Vec<i64> = tasks.iter().map(|t| t.id).collect();
    cards::load(pool, &ids).await.expect("extras");
}

const KINDS: [&str; 9] = [
    "assignee",
    "column + assignee",
    "label",
    "overdue, by due date",
    "due range, by priority desc",
    "text",
    "text, by title",
    "no filter, page 50",
    "by updated desc, deepest page",
];

async fn run(
    pool: &DbPool,
    rng: &mut StdRng,
    project: i64,
    users: &[i64],
    cols: &[i64],
    label_ids: &[i64],
) {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let me = users[rng.gen_range(0..users.len())];
        let t = Instant::now();
        board(pool, project, me).await;
        times.push(t.elapsed());
    }
    report("board (4 x 100 cards)", &mut times);
    for kind in KINDS {
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let me = users[rng.gen_range(0..users.len())];
            let mut q = ListQuery {
                today: "2026-07-01".into(),
                ..ListQuery::default()
            };
            let mut offset = 0;
            match kind {
                "assignee" => q.assignee = Some(Assignee::Member(me)),
                "column + assignee" => {
                    q.column_id = Some(cols[rng.gen_range(0..cols.len())]);
                    q.assignee = Some(Assignee::Member(me));
                }
                "label" => q.label_id = Some(label_ids[rng.gen_range(0..label_ids.len())]),
                "overdue, by due date" => {
                    q.overdue = true;
                    q.sort = Sort::Due;
                }
                "due range, by priority desc" => {
                    let m = rng.gen_range(1..=11);
                    q.due_after = Some(format!("2026-{m:02}-01"));
                    q.due_before = Some(format!("2026-{:02}-01", m + 1));
                    q.sort = Sort::Priority;
                    q.desc = true;
                }
                "text" => q.q = format!("item {}", rng.gen_range(0..1000)),
                "text, by title" => {
                    q.q = format!("item {}", rng.gen_range(0..1000));
                    q.sort = Sort::Title;
                }
                "no filter, page 50" => offset = 49 * 50,
                _ => {
                    q.sort = Sort::Updated;
                    q.desc = true;
                    offset = MAX_DEPTH;
                }
            }
            let t = Instant::now();
            list(pool, project, me, &q, offset).await;
            times.push(t.elapsed());
        }
        report(&format!("list: {kind}"), &mut times);
    }
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let me = users[rng.gen_range(0..users.len())];
        let t = Instant::now();
        items::assigned_to(pool, me, 500).await.expect("mine");
        times.push(t.elapsed());
    }
    report("my tasks", &mut times);
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
    report("move (one write)", &mut times);
}

#[rocket::main]
async fn main() {
    let target = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let mut rng = StdRng::seed_from_u64(15);
    let bench = BenchDb::open(&target, "bench_tasks", 1).await;
    let pool = &bench.pool;
    println!("backend: {:?} (one connection)", pool.backend);
    let (project, users, cols, label_ids) = fill(pool, &mut rng).await;
    println!("warm-up:");
    run(pool, &mut rng, project, &users, &cols, &label_ids).await;
    println!("measured:");
    run(pool, &mut rng, project, &users, &cols, &label_ids).await;
    bench.close().await;
}
