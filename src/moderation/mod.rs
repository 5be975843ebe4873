//! Moderation between members (docs/social.md): blocks and mutes
//! (`relations.rs`, the rules other features ask) and their buttons and
//! JSON API (`routes.rs`); reports, the admins' queue and suspensions
//! (`reports.rs`, `report_routes.rs`). Apps ask [`relations`], register
//! their reportable content in [`reports::ReportTargets`], and never
//! import each other.

pub mod relations;
mod report_routes;
pub mod reports;
mod routes;

use rocket::fairing::AdHoc;
use rocket::Route;

/// The JSON API routes (the OpenAPI test checks each is documented).
pub fn api_routes() -> Vec<Route> {
    let mut all = routes::api_routes();
    all.extend(report_routes::api_routes());
    all
}

/// Blocks and mutes, as a Rocket stage.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Moderation", |rocket| async {
        rocket
            .manage(reports::ReportTargets::default())
            .mount("/", routes::routes())
            .mount("/", report_routes::routes())
            .mount("/", api_routes())
    })
}
