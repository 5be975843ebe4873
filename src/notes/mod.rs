//! Notes: members' private Markdown notes with tags, pinned and archived
//! flags, full-text search, safe concurrent edits, zip export/import and a
//! JSON API. The first member app, and the shape later ones copy:
//! `routes.rs` (pages), `api.rs` (JSON), `model.rs` (input and
//! validation), `repo.rs` (SQL), `search.rs` (the list query, the one
//! place that differs by backend), `views.rs` (templates), `export.rs`
//! (the file format and the download), `import.rs` (the upload) and
//! `unzip.rs` (reading a zip within limits).

mod api;
pub mod cache;
pub mod export;
mod import;
pub mod model;
pub mod repo;
mod routes;
pub mod search;
mod unzip;
mod views;

use rocket::fairing::AdHoc;
use rocket::Route;
use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;
use crate::web::member_cache::keep;

/// The `notes` table of the configuration, read by this stage alone.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct NotesConfig {
    /// Most notes one member may keep; creating or importing more is refused.
    pub quota: i64,
    /// Most bytes the files of one import may unpack to, all together.
    pub import_max_bytes: u64,
    /// Imports one member may start per hour.
    pub imports_per_hour: i64,
}

impl Default for NotesConfig {
    fn default() -> Self {
        NotesConfig {
            quota: 5_000,
            import_max_bytes: 20 * 1024 * 1024,
            imports_per_hour: 5,
        }
    }
}

impl NotesConfig {
    /// `notes` from the figment (the defaults when it is absent).
    fn from_rocket(rocket: &rocket::Rocket<rocket::Build>) -> Result<Self, String> {
        let cfg = match rocket.figment().extract_inner::<NotesConfig>("notes") {
            Ok(cfg) => cfg,
            Err(e) if e.missing() => NotesConfig::default(),
            Err(e) => return Err(e.to_string()),
        };
        if cfg.quota < 1 || cfg.import_max_bytes < 1 || cfg.imports_per_hour < 1 {
            return Err(
                "notes.quota, notes.import_max_bytes and notes.imports_per_hour must be at least 1"
                    .into(),
            );
        }
        Ok(cfg)
    }
}

/// "1 note", "2,500 notes".
fn plural(n: usize, thing: &str) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped} {thing}{}", if n == 1 { "" } else { "s" })
}

/// What creating a note answers at the quota, beside the form's text.
fn quota_reached(cfg: &NotesConfig) -> FieldErrors {
    let mut errors = FieldErrors::default();
    errors.add(
        "quota",
        format!(
            "You already keep {}, the most a member may keep. Nothing was saved: \
             delete some notes first, then save this one again.",
            plural(cfg.quota.max(0) as usize, "note")
        ),
    );
    errors
}

/// The JSON API routes of notes (the OpenAPI test checks each is documented).
pub fn api_routes() -> Vec<Route> {
    api::routes()
}

/// The notes feature, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Notes", |rocket| async {
        let cfg = match NotesConfig::from_rocket(&rocket) {
            Ok(cfg) => cfg,
            Err(problem) => {
                log::error!("invalid notes configuration: {problem}");
                return Err(rocket);
            }
        };
        let rocket = keep(rocket, "Notes cache", cache::NotesCache::new, |c| &c.0)?;
        Ok(rocket
            .manage(cfg)
            .manage(import::ImportSlots::default())
            .mount("/", routes::routes())
            .mount("/", export::routes())
            .mount("/", import::routes())
            .mount("/", api_routes()))
    })
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn counts_read_plainly() {
        assert_eq!(plural(1, "note"), "1 note");
        assert_eq!(plural(5000, "note"), "5,000 notes");
        assert_eq!(plural(123_456, "import"), "123,456 imports");
    }
}
