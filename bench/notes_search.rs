//! Notes search benchmark: fill 100,000 notes across 100 users, then time
//! `notes::search::list` (the count, the page and its tags: what one list
//! request runs) for a mix of searches, and print p50/p99.
//!
//! Run with `bench/notes-search.sh`, or directly:
//! `cargo run --release --example notes-search -- sqlite`
//! `cargo run --release --example notes-search -- postgres://postgres@127.0.0.1:5432/postgres`
//! (Postgres: a fresh `bench_notes_*` database is created and dropped.)

#[path = "common.rs"]
mod common;

use std::time::Instant;

use common::{report, BenchDb};
use groundwork::db::DbPool;
use groundwork::notes::search::{self, ListQuery};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const USERS: i64 = 100;
const NOTES: i64 = 100_000;
const VOCABULARY: usize = 5_000;
const SEARCHES: usize = 2_000;

/// Pronounceable made-up words, so the full-text parsers see ordinary words.
fn vocabulary(rng: &mut StdRng) -> Vec<String> {
    const SYLLABLES: [&str; 24] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ba", "de", "fo", "gu", "ha", "ji", "ko",
        "la", "mo", "nu", "pe", "ri", "so", "ta", "we", "zo",
    ];
    let mut words = std::collections::BTreeSet::new();
    while words.len() < VOCABULARY {
        let n = rng.gen_range(2..=4);
        let w: String = (0..n)
            .map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())])
            .collect();
        words.insert(w);
    }
    words.into_iter().collect()
}

/// A word index drawn from a Zipf-like distribution (a few words are in
/// most notes, most words in few), as in real text.
fn zipf(rng: &mut StdRng) -> usize {
    let u: f64 = rng.gen_range(0.0..1.0);
    (((VOCABULARY as f64).powf(u)) as usize).saturating_sub(1)
}

fn text(rng: &mut StdRng, words: &[String], n: usize) -> String {
    (0..n)
        .map(|_| words[zipf(rng)].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn fill(pool: &DbPool, rng: &mut StdRng, words: &[String]) {
    let started = Instant::now();
    let mut users = Vec::new();
    for i in 0..USERS {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, email, created_at, updated_at) \
             VALUES ($1, $2, 0, 0) RETURNING id",
        )
        .bind(format!("bench{i}"))
        .bind(format!("bench{i}@example.org"))
        .fetch_one(&pool.pool)
        .await
        .expect("user");
        users.push(id);
    }
    let batch = 500;
    let mut done = 0;
    while done < NOTES {
        let mut tx = pool.pool.begin().await.expect("tx");
        let rows = batch.min(NOTES - done);
        let mut sql = String::from(
            "INSERT INTO notes (user_id, title, body, pinned, created_at, updated_at) VALUES ",
        );
        for r in 0..rows {
            let b = r * 5;
            if r > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 5
            ));
        }
        let mut q = sqlx::query(&sql);
        for r in 0..rows {
            let n = done + r;
            let words_in_title = rng.gen_range(2..7);
            let words_in_body = rng.gen_range(20..120);
            q = q
                .bind(users[(n % USERS) as usize])
                .bind(text(rng, words, words_in_title))
                .bind(text(rng, words, words_in_body))
                .bind(i64::from(rng.gen_range(0..50) == 0))
                .bind(1_700_000_000 + n);
        }
        q.execute(&mut *tx).await.expect("notes");
        tx.commit().await.expect("commit");
        done += rows;
    }
    sqlx::query(
        "INSERT INTO note_tags (note_id, user_id, tag) \
         SELECT id, user_id, 'tag' || CAST(id % 20 AS TEXT) FROM notes",
    )
    .execute(&pool.pool)
    .await
    .expect("tags");
    let analyze = "ANALYZE";
    sqlx::query(analyze)
        .execute(&pool.pool)
        .await
        .expect(analyze);
    println!(
        "filled {NOTES} notes for {USERS} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

async fn run(pool: &DbPool, rng: &mut StdRng, words: &[String]) {
    let kinds = [
        "one common word",
        "one rare word",
        "two words",
        "word + tag",
        "literal 50%",
        "no search (list)",
    ];
    let mut all = Vec::new();
    for kind in kinds {
        let mut times = Vec::with_capacity(SEARCHES / kinds.len());
        for _ in 0..SEARCHES / kinds.len() {
            let user = rng.gen_range(1..=USERS);
            let (q, tag) = match kind {
                "one common word" => (words[rng.gen_range(0..20)].clone(), None),
                "one rare word" => (words[rng.gen_range(1000..VOCABULARY)].clone(), None),
                "two words" => (format!("{} {}", words[zipf(rng)], words[zipf(rng)]), None),
                "word + tag" => (
                    words[zipf(rng)].clone(),
                    Some(format!("tag{}", rng.gen_range(0..20))),
                ),
                "literal 50%" => ("50%".to_string(), None),
                _ => (String::new(), None),
            };
            let query = ListQuery {
                q,
                tag,
                archived: false,
                limit: 20,
                offset: 0,
                owner_tags: false,
            };
            let t = Instant::now();
            let _listed = search::list(pool, user, &query).await.expect("search");
            times.push(t.elapsed());
        }
        report(kind, &mut times);
        all.extend(times);
    }
    report("ALL", &mut all);
}

#[rocket::main]
async fn main() {
    let target = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let mut rng = StdRng::seed_from_u64(7);
    let words = vocabulary(&mut rng);
    let bench = BenchDb::open(&target, "bench_notes", 4).await;
    let pool = &bench.pool;
    println!("backend: {:?}", pool.backend);
    fill(pool, &mut rng, &words).await;
    // One warm-up pass, then the measured one.
    println!("warm-up:");
    run(pool, &mut rng, &words).await;
    println!("measured:");
    run(pool, &mut rng, &words).await;
    bench.close().await;
}
