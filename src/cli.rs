//! Commands besides serving: `migrate`, `create-admin` and `backup`.

use rocket::figment::providers::Serialized;
use rocket::figment::Figment;

use crate::accounts::model::{parse_email, parse_username};
use crate::accounts::{password, repo, Hasher};
use crate::db::{self, DbConfig, DbPool};

async fn open(figment: &Figment) -> Result<DbPool, String> {
    let defaults = DbConfig {
        url: crate::config::DEFAULT_DATABASE_URL.into(),
        min_connections: None,
        max_connections: 2,
        connect_timeout: 5,
        idle_timeout: None,
        extensions: None,
    };
    let config: DbConfig = Figment::from(Serialized::defaults(defaults))
        .merge(figment.focus("databases.main"))
        .extract()
        .map_err(|e| format!("invalid database configuration: {e}"))?;
    let pool = db::connect(&config)
        .await
        .map_err(|e| format!("cannot open {}: {e}", db::redact(&config.url)))?;
    db::migrate(&pool)
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    Ok(pool)
}

/// Apply pending migrations and report where.
pub async fn migrate(figment: &Figment) -> Result<String, String> {
    let pool = open(figment).await?;
    pool.close().await;
    Ok("migrations applied".into())
}

/// Write a consistent copy of the SQLite database to `path` while the site
/// runs: SQLite's `VACUUM INTO` reads one snapshot (WAL readers are never
/// blocked, writers wait only for the copy's read transaction) and writes a
/// compact, self-contained database file, which is restored by copying it
/// back in place of the site's file while the site is stopped. Postgres has
/// its own tool for this, `pg_dump` (docs/deployment.md).
pub async fn backup(figment: &Figment, path: &std::path::Path) -> Result<String, String> {
    if path.exists() {
        return Err(format!(
            "{} already exists: give a new file name (a backup never overwrites)",
            path.display()
        ));
    }
    let pool = open(figment).await?;
    let result = match pool.backend {
        db::Backend::Postgres => Err("this site runs on Postgres: back it up with pg_dump, e.g. `pg_dump --format=custom --file=groundwork.dump \"$DATABASE_URL\"` (docs/deployment.md)".to_string()),
        db::Backend::Sqlite => {
            let target = path.to_str().ok_or("the backup path must be valid UTF-8")?;
            // A string literal, with quotes doubled: VACUUM INTO takes no
            // bound parameter on every SQLite version.
            let sql = format!("VACUUM INTO '{}'", target.replace('\'', "''"));
            match sqlx::query(&sql).execute(&pool.pool).await {
                Ok(_) => Ok(format!("backed up to {}", path.display())),
                Err(e) => Err(format!("backup to {} failed: {e}", path.display())),
            }
        }
    };
    pool.close().await;
    result
}

/// Create an admin account for `email`, or make the existing account with
/// that email an admin. Returns what was done, for the operator.
pub async fn create_admin(
    figment: &Figment,
    email: &str,
    password: &str,
) -> Result<String, String> {
    let email = parse_email(email).map_err(|e| format!("{email:?}: {e}"))?;
    let pool = open(figment).await?;
    let result = async {
        if let Some(user) = repo::find_by_email(&pool, &email)
            .await
            .map_err(|e| e.to_string())?
        {
            repo::set_role(&pool, user.id, "admin")
                .await
                .map_err(|e| e.to_string())?;
            return Ok(format!("{} ({email}) is now an admin", user.username));
        }
        if let Some(problem) = password::policy_error(password, &[&email]) {
            return Err(format!("password refused: {problem}"));
        }
        let username = free_username(&pool, &email).await?;
        let hash = Hasher::new(1)
            .hash(password.to_string())
            .await
            .map_err(|e| e.to_string())?;
        let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
        repo::create(&mut conn, &username, &email, Some(&hash), "admin", true)
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("created admin {username} ({email})"))
    }
    .await;
    pool.close().await;
    result
}

/// A valid, unused username derived from the email's local part.
async fn free_username(pool: &DbPool, email: &str) -> Result<String, String> {
    let local = email.split('@').next().unwrap_or("");
    let mut base: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    if parse_username(&base).is_err() {
        base = "admin".into();
    }
    for n in 0..1000 {
        let candidate = if n == 0 {
            base.clone()
        } else {
            format!("{base}{n}")
        };
        if !repo::username_taken(pool, &candidate)
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(candidate);
        }
    }
    Err("could not find a free username".into())
}
