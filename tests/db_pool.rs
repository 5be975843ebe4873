//! The pool's warm connections (`db::Pool`): one-shot queries hand their
//! connection on without sqlx's release ping, and that must never cost a
//! wrong answer, a deadlock or a dead connection handed out.
use crate::common;
use common::*;

use std::time::{Duration, Instant};

use groundwork::db::{self, Backend, DbConfig, DbPool};

async fn pool(url: &str, max: usize, timeout_secs: u64) -> DbPool {
    let config = DbConfig {
        max_connections: max,
        connect_timeout: timeout_secs,
        ..pool_config(url)
    };
    let db = db::connect(&config).await.expect("connect");
    db::migrate(&db).await.expect("migrate");
    db
}

async fn number(db: &DbPool, n: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>("SELECT $1")
        .bind(n)
        .fetch_one(&db.pool)
        .await
}

/// A table of numbers for the writing transactions below.
async fn numbers_table(db: &DbPool) {
    sqlx::query("CREATE TABLE pool_numbers (n BIGINT NOT NULL)")
        .execute(&db.pool)
        .await
        .unwrap();
}

/// Store `n` in a writing transaction; `n` again.
async fn write(db: &DbPool, n: i64) -> i64 {
    let mut tx = db::begin_write(db).await.expect("begin");
    sqlx::query("INSERT INTO pool_numbers (n) VALUES ($1)")
        .bind(n)
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    n
}

async fn written(db: &DbPool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM pool_numbers")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// Fifty queries at once on one connection, with writing transactions
/// among them: each gets its own answer, none waits for a connection that
/// sits warm (which would end in the acquire timeout).
#[rocket::async_test]
async fn one_connection_serves_many_concurrent_queries_and_transactions_in_turn() {
    let (url, _dir) = fresh_database().await;
    let db = pool(&url, 1, 5).await;
    numbers_table(&db).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..50_i64 {
        let db = db.clone();
        tasks.push(rocket::tokio::spawn(async move {
            if n % 10 == 0 {
                write(&db, n).await
            } else {
                number(&db, n).await.expect("query")
            }
        }));
    }
    for (n, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.expect("task"), n as i64);
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "no query waited for the acquire timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(written(&db).await, 5);
    assert_eq!(db.pool.size(), 1);
    db.pool.close().await;
}

/// A query cut off half way (its future dropped) leaves nothing behind for
/// the next one on the same connection, and a database error keeps the
/// connection usable.
#[rocket::async_test]
async fn a_query_cut_off_or_refused_leaves_the_connection_answering_right() {
    let (url, _dir) = fresh_database().await;
    let db = pool(&url, 1, 10).await;
    let slow = match db.backend {
        Backend::Postgres => "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT pg_sleep(0.5)) s",
        Backend::Sqlite => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) \
             SELECT COUNT(*) FROM c"
        }
    };
    let cut = rocket::tokio::time::timeout(
        Duration::from_millis(30),
        sqlx::query_scalar::<_, i64>(slow).fetch_one(&db.pool),
    )
    .await;
    assert!(cut.is_err(), "the slow query was cut off");
    for n in [7, 8, 9] {
        assert_eq!(number(&db, n).await.expect("after the cut"), n);
    }
    let refused = sqlx::query("SELECT * FROM no_such_table")
        .execute(&db.pool)
        .await;
    assert!(matches!(refused, Err(sqlx::Error::Database(_))));
    assert_eq!(number(&db, 10).await.expect("after the error"), 10);
    db.pool.close().await;
}

/// With every connection held, a query gives up after the acquire timeout
/// (503 to a visitor), and goes through once one is free.
#[rocket::async_test]
async fn a_query_waits_at_most_the_acquire_timeout_for_a_held_connection() {
    let (url, _dir) = fresh_database().await;
    let db = pool(&url, 1, 1).await;
    assert_eq!(number(&db, 1).await.unwrap(), 1);
    let held = db.pool.acquire().await.expect("hold the one connection");
    let started = Instant::now();
    let waited = number(&db, 2).await;
    assert!(
        matches!(waited, Err(sqlx::Error::PoolTimedOut)),
        "{waited:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(held);
    assert_eq!(number(&db, 3).await.unwrap(), 3);
    db.pool.close().await;
}

/// Postgres: a warm connection whose server process was ended while it sat
/// idle is pinged before use and replaced, so the next query succeeds on a
/// new connection.
#[rocket::async_test]
async fn a_warm_connection_ended_by_the_server_is_replaced_before_use() {
    let (url, _dir) = fresh_database().await;
    let db = pool(&url, 2, 5).await;
    if db.backend != Backend::Postgres {
        return;
    }
    let pid_sql = "SELECT CAST(pg_backend_pid() AS BIGINT)";
    let first: i64 = sqlx::query_scalar(pid_sql)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let other = pool(&url, 1, 5).await;
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend(CAST($1 AS INTEGER))")
        .bind(first)
        .fetch_one(&other.pool)
        .await
        .unwrap();
    assert!(ended);
    rocket::tokio::time::sleep(db::PING_AFTER_IDLE + Duration::from_millis(200)).await;
    let second: i64 = sqlx::query_scalar(pid_sql)
        .fetch_one(&db.pool)
        .await
        .expect("the next query succeeds");
    assert_ne!(second, first, "a new connection");
    other.pool.close().await;
    db.pool.close().await;
}

/// Two connections and a crowd: one-shot queries, connections held
/// explicitly, writing transactions and queries cut off half way, all at
/// once. Everyone gets a connection and the right answer; no one waits out
/// the acquire timeout.
#[rocket::async_test]
async fn a_crowd_of_queries_holders_transactions_and_cut_off_queries_all_get_through() {
    let (url, _dir) = fresh_database().await;
    let db = pool(&url, 2, 10).await;
    numbers_table(&db).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..200_i64 {
        let db = db.clone();
        tasks.push(rocket::tokio::spawn(async move {
            match n % 4 {
                0 => {
                    let mut conn = db.pool.acquire().await.expect("hold");
                    rocket::tokio::time::sleep(Duration::from_millis(2)).await;
                    sqlx::query_scalar::<_, i64>("SELECT $1")
                        .bind(n)
                        .fetch_one(&mut *conn)
                        .await
                        .expect("held query")
                }
                1 => write(&db, n).await,
                2 => {
                    let _ =
                        rocket::tokio::time::timeout(Duration::from_micros(200), number(&db, -1))
                            .await;
                    number(&db, n).await.expect("after a cut-off")
                }
                _ => number(&db, n).await.expect("one-shot"),
            }
        }));
    }
    for (n, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.expect("task"), n as i64);
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(written(&db).await, 50);
    assert!(db.pool.size() <= 2);
    db.pool.close().await;
}

/// Postgres: when no new connection can be opened, a caller queued for one
/// hears sqlx's own error at once (not the acquire timeout), and a
/// connection in use still serves the next caller once it is given back.
#[rocket::async_test]
async fn a_caller_hears_at_once_when_no_connection_can_be_opened() {
    let (url, _dir) = fresh_database().await;
    let db = pool(&url, 3, 5).await;
    if db.backend != Backend::Postgres {
        return;
    }
    let name: String = sqlx::query_scalar("SELECT CAST(current_database() AS TEXT)")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    // Hold every open connection: the next caller needs a new one.
    let mut held = Vec::new();
    while db.pool.num_idle() > 0 {
        held.push(db.pool.acquire().await.expect("an open connection"));
    }
    assert!(db.pool.size() < 3, "room for a new connection");
    // From the server's maintenance database: a database cannot close
    // itself to connections.
    let admin_url = std::env::var("TEST_DATABASE_URL").expect("a Postgres run");
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .unwrap();
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .unwrap();
    let started = Instant::now();
    let refused = number(&db, 1).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    match &refused {
        Err(e) => assert!(db::is_unreachable(e), "{e:?}"),
        Ok(_) => panic!("no connection could be opened"),
    }
    drop(held);
    rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(number(&db, 2).await.expect("a held one, given back"), 2);
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    db.pool.close().await;
}
