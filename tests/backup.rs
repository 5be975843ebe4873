//! `groundwork backup PATH` (issue 21): a consistent copy of the SQLite
//! database taken while the site runs, which a site started on it serves
//! from; on Postgres it points to `pg_dump` instead.

use crate::common;

use common::notes::create_note;
use common::*;
use groundwork::db::Backend;
use rocket::http::Status;
use rocket::local::asynchronous::Client;

#[rocket::async_test]
async fn a_backup_taken_while_the_site_runs_restores_every_member_and_note() {
    let app = TestApp::spawn().await;
    let ada = app.member("ada").await;
    create_note(
        &ada,
        &[("title", "Backed up"), ("body", "kept <safe> & sound")],
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("it's a backup.db");
    let result = groundwork::cli::backup(&app.figment(), &path).await;
    if app.db.backend == Backend::Postgres {
        let message = result.expect_err("Postgres is backed up with pg_dump");
        assert!(message.contains("pg_dump"), "{message}");
        assert!(!path.exists());
        return;
    }
    assert_eq!(
        result.as_deref(),
        Ok(format!("backed up to {}", path.display()).as_str())
    );

    // The site keeps running and writing after the copy; the copy holds
    // what was there when it was taken.
    create_note(&ada, &[("title", "Later"), ("body", "after")]).await;

    // Restore: a site started on the copy signs Ada in and shows her note.
    let url = format!("sqlite://{}?mode=rw", path.display());
    let restored = Client::tracked(groundwork::build(base_figment(&url, &random_secret())))
        .await
        .expect("a site starts on the backup");
    let r = login(&restored, "ada@example.org", PASSWORD).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let notes = get(&restored, "/notes").await;
    assert_eq!(notes.status, Status::Ok);
    assert!(notes.body.contains("Backed up"), "{}", notes.body);
    assert!(
        !notes.body.contains("Later"),
        "a note written after the backup"
    );

    // A backup never overwrites a file.
    let again = groundwork::cli::backup(&app.figment(), &path).await;
    assert!(again.expect_err("refused").contains("already exists"));
}
