//! The database layer: the migrations give the same schema on SQLite and
//! Postgres, SQLite runs in WAL mode, and twenty concurrent writers all
//! succeed.
use crate::common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};

use groundwork::db::{self, Backend, DbPool};
use rocket::http::Status;

// ---------------------------------------------------------------- migrations

/// What the schema comparison looks at.
#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    /// Table name to its columns: (name, NOT NULL).
    tables: BTreeMap<String, BTreeSet<(String, bool)>>,
    /// (index name, table, unique).
    indexes: BTreeSet<(String, String, bool)>,
}

async fn schema_of(db: &DbPool) -> Schema {
    let mut schema = Schema::default();
    let (tables_sql, columns_sql, indexes_sql) = match db.backend {
        Backend::Sqlite => (
            // Ordinary tables only: a full-text index (FTS5's virtual table
            // and its shadow tables) is backend-specific by design.
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
            // A rowid primary key is never NULL, whatever `notnull` says.
            "SELECT name, CASE WHEN \"notnull\" = 1 OR pk > 0 THEN 1 ELSE 0 END \
             FROM pragma_table_info($1)",
            "SELECT name, tbl_name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' \
             AND name NOT LIKE 'sqlite_autoindex%' AND tbl_name <> '_sqlx_migrations'",
        ),
        Backend::Postgres => (
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations'",
            // Postgres's counterpart of FTS5 is a tsvector column with a
            // GIN index: left out, as the FTS5 tables are on SQLite.
            "SELECT CAST(column_name AS TEXT), CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 \
             AND data_type <> 'tsvector'",
            "SELECT CAST(indexname AS TEXT), CAST(tablename AS TEXT), indexdef FROM pg_indexes \
             WHERE schemaname = 'public' AND indexname NOT LIKE '%\\_pkey' \
             AND tablename <> '_sqlx_migrations' AND indexdef NOT LIKE '% USING gin %'",
        ),
    };
    let tables: Vec<String> = sqlx::query_scalar(tables_sql)
        .fetch_all(&db.pool)
        .await
        .expect(tables_sql);
    for table in tables {
        let columns: Vec<(String, i64)> = sqlx::query_as(columns_sql)
            .bind(&table)
            .fetch_all(&db.pool)
            .await
            .expect(columns_sql);
        schema.tables.insert(
            table,
            columns
                .into_iter()
                .map(|(name, not_null)| (name, not_null != 0))
                .collect(),
        );
    }
    let indexes: Vec<(String, String, String)> = sqlx::query_as(indexes_sql)
        .fetch_all(&db.pool)
        .await
        .expect(indexes_sql);
    for (name, table, sql) in indexes {
        let unique = sql.to_uppercase().starts_with("CREATE UNIQUE INDEX");
        schema.indexes.insert((name, table, unique));
    }
    schema
}

/// The schema the Postgres migration files describe, read from the SQL
/// itself (for runs without a Postgres server).
fn parse_postgres_migrations() -> Schema {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("migrations/postgres")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no Postgres migrations");
    let mut schema = Schema::default();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("migration file");
        let sql: String = text
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ");
        for statement in sql.split(';') {
            let words: Vec<&str> = statement.split_whitespace().collect();
            let upper: Vec<String> = words.iter().map(|w| w.to_uppercase()).collect();
            let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
            match upper.as_slice() {
                [] => {}
                ["CREATE", "TABLE", ..] => {
                    let name = words[2].trim_end_matches('(').to_lowercase();
                    let open = statement.find('(').expect("column list");
                    let close = statement.rfind(')').expect("column list");
                    let mut columns = BTreeSet::new();
                    for item in split_top_level(&statement[open + 1..close]) {
                        let item_upper = item.to_uppercase();
                        let first = item_upper.split_whitespace().next().unwrap_or("");
                        if [
                            "PRIMARY",
                            "UNIQUE",
                            "FOREIGN",
                            "CONSTRAINT",
                            "CHECK",
                            "EXCLUDE",
                        ]
                        .contains(&first)
                        {
                            continue;
                        }
                        // Full-text columns are backend-specific (see schema_of).
                        if item_upper.contains("TSVECTOR") {
                            continue;
                        }
                        let column = item.split_whitespace().next().unwrap_or("").to_lowercase();
                        let not_null =
                            item_upper.contains("NOT NULL") || item_upper.contains("PRIMARY KEY");
                        columns.insert((column, not_null));
                    }
                    schema.tables.insert(name, columns);
                }
                // Full-text (GIN) indexes are backend-specific (see schema_of).
                ["CREATE", "INDEX", ..] if upper.contains(&"GIN") => {}
                ["CREATE", "UNIQUE", "INDEX", ..] | ["CREATE", "INDEX", ..] => {
                    let unique = upper[1] == "UNIQUE";
                    let at = if unique { 3 } else { 2 };
                    let on = upper.iter().position(|w| *w == "ON").expect("ON table");
                    let table = words[on + 1].split('(').next().unwrap_or("").to_lowercase();
                    schema
                        .indexes
                        .insert((words[at].to_lowercase(), table, unique));
                }
                ["ALTER", "TABLE", _, "ADD", "COLUMN", ..] => {
                    let table = words[2].to_lowercase();
                    let column = words[5].to_lowercase();
                    let not_null = statement.to_uppercase().contains("NOT NULL");
                    schema
                        .tables
                        .get_mut(&table)
                        .expect("altered table exists")
                        .insert((column, not_null));
                }
                ["ALTER", "TABLE", _, "DROP", "COLUMN", ..] => {
                    let table = words[2].to_lowercase();
                    let column = words[5].to_lowercase();
                    schema
                        .tables
                        .get_mut(&table)
                        .expect("altered table exists")
                        .retain(|(name, _)| *name != column);
                }
                ["DROP", "INDEX", ..] => {
                    let name = words[2].to_lowercase();
                    schema.indexes.retain(|(index, _, _)| *index != name);
                }
                [first, ..] if ["CREATE", "ALTER", "DROP"].contains(first) => {
                    panic!(
                        "{}: this test cannot read {:?}; teach parse_postgres_migrations about it",
                        file.display(),
                        statement.trim()
                    )
                }
                _ => {}
            }
        }
    }
    schema
}

/// Split a column list on commas that are not inside parentheses.
fn split_top_level(list: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut depth = 0;
    for c in list.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().expect("an item").push(c);
    }
    items.retain(|i| !i.trim().is_empty());
    items
}

/// A new, empty Postgres database next to the one `admin_url` names.
async fn fresh_postgres(admin_url: &str) -> (String, String) {
    use rand::Rng;
    let name = format!("test_{:016x}", rand::thread_rng().gen::<u64>());
    (create_postgres_database(admin_url, &name).await, name)
}

#[rocket::async_test]
async fn migrations_give_the_same_schema_on_sqlite_and_postgres() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("schema.db").display()
    );
    let sqlite = db::connect(&pool_config(&url)).await.expect("sqlite");
    db::migrate(&sqlite).await.expect("sqlite migrations");
    // Applying them again is a no-op, not an error.
    db::migrate(&sqlite).await.expect("sqlite migrations again");
    let sqlite_schema = schema_of(&sqlite).await;
    sqlite.close().await;

    assert!(sqlite_schema.tables.contains_key("users"));
    assert!(sqlite_schema.tables.contains_key("sessions"));
    assert!(sqlite_schema.tables["users"].contains(&("role".to_string(), true)));
    assert!(!sqlite_schema.indexes.is_empty());

    let postgres_schema = match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let (url, name) = fresh_postgres(&admin_url).await;
            let pg = db::connect(&pool_config(&url)).await.expect("postgres");
            assert_eq!(pg.backend, Backend::Postgres);
            db::migrate(&pg).await.expect("postgres migrations");
            db::migrate(&pg).await.expect("postgres migrations again");
            let schema = schema_of(&pg).await;
            pg.close().await;
            if let Ok(mut conn) =
                <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await
            {
                let _ = sqlx::query(&format!("DROP DATABASE {name}"))
                    .execute(&mut conn)
                    .await;
            }
            // The files and the database they produce agree as well.
            assert_eq!(parse_postgres_migrations(), schema);
            schema
        }
        _ => parse_postgres_migrations(),
    };

    let sqlite_tables: BTreeSet<_> = sqlite_schema.tables.keys().collect();
    let postgres_tables: BTreeSet<_> = postgres_schema.tables.keys().collect();
    assert_eq!(sqlite_tables, postgres_tables, "different tables");
    for (table, columns) in &sqlite_schema.tables {
        assert_eq!(
            Some(columns),
            postgres_schema.tables.get(table),
            "different columns in {table}"
        );
    }
    assert_eq!(
        sqlite_schema.indexes, postgres_schema.indexes,
        "different indexes"
    );
}

// ---------------------------------------------------------------- concurrency

#[rocket::async_test]
async fn twenty_concurrent_writers_all_succeed() {
    // Every sign-up here comes from the same (unknown) address.
    // Twenty app processes must fit within Postgres's default 100
    // connections, next to the other tests running in parallel.
    let app = TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 1000))
            .merge(("databases.main.max_connections", 3))
    })
    .await;
    // Twenty browsers, each on its own app process, all with a form ready...
    let mut ready = Vec::new();
    for i in 0..20 {
        let browser = app.another_browser().await;
        let token = get(&browser, "/signup").await.csrf();
        assert!(!token.is_empty());
        ready.push((i, browser, token));
    }
    // ...then all sent at once, each followed by a few profile saves.
    let tasks: Vec<_> = ready
        .into_iter()
        .map(|(i, browser, token)| {
            rocket::tokio::spawn(async move {
                let username = format!("writer{i}");
                let email = format!("writer{i}@example.org");
                let mut outcomes = Vec::new();
                let r = post_raw(
                    &browser,
                    "/signup",
                    &[
                        ("csrf_token", &token),
                        ("username", &username),
                        ("email", &email),
                        ("password", PASSWORD),
                    ],
                    &[],
                )
                .await;
                outcomes.push(("sign-up".to_string(), r.status, r.body));
                for n in 0..5 {
                    let token = get(&browser, "/profile").await.csrf();
                    let bio = format!("update {n}");
                    let r = post_raw(
                        &browser,
                        "/update-profile",
                        &[("_method", "put"), ("csrf_token", &token), ("bio", &bio)],
                        &[],
                    )
                    .await;
                    outcomes.push((format!("update {n}"), r.status, r.body));
                }
                (i, outcomes)
            })
        })
        .collect();
    for task in tasks {
        let (i, outcomes) = task.await.expect("task");
        for (what, status, body) in outcomes {
            let title = body.lines().find(|l| l.contains("<title>")).unwrap_or("");
            assert_eq!(status, Status::SeeOther, "writer{i} {what}: {title}");
            assert!(!body.to_lowercase().contains("locked"));
        }
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 20);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 20);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE bio = 'update 4'")
            .await,
        20
    );
}

#[rocket::async_test]
async fn sqlite_databases_are_opened_in_wal_mode() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("wal.db").display());
    let config = groundwork::db::DbConfig {
        url: url.clone(),
        min_connections: None,
        max_connections: 1,
        connect_timeout: 5,
        idle_timeout: None,
        extensions: None,
    };
    let pool = groundwork::db::connect(&config).await.unwrap();
    groundwork::db::migrate(&pool).await.unwrap();
    pool.close().await;
    // WAL is a property of the file: a plain connection that sets nothing
    // itself sees what the app's pool set.
    let mut plain = sqlx::AnyConnection::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut plain)
        .await
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
}
