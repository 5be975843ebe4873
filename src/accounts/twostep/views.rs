//! Template data for the two-step pages.

use askama::Template;

use crate::web::Layout;

/// `GET /login/two-step`: the code form of a sign-in halfway through.
#[derive(Template)]
#[template(path = "twostep/second_step.html")]
pub struct SecondStepPage {
    pub layout: Layout,
    pub error: Option<String>,
}

/// `GET /account/two-step`: whether it is on, and what can be done.
#[derive(Template)]
#[template(path = "twostep/manage.html")]
pub struct ManagePage {
    pub layout: Layout,
    pub enabled: bool,
    /// Unused recovery codes left.
    pub remaining: i64,
    /// The account has a password (confirmations ask for it; otherwise
    /// for a current code).
    pub has_password: bool,
    /// Why turning it off or new codes were refused.
    pub error: Option<String>,
}

/// The QR code and secret of an authenticator being set up, and the form
/// for its first code.
#[derive(Template)]
#[template(path = "twostep/setup.html")]
pub struct SetupPage {
    pub layout: Layout,
    /// The QR code, an SVG drawn by us (safe to include as is).
    pub qr_svg: String,
    /// The secret in base32, grouped by four for typing.
    pub secret: String,
    pub error: Option<String>,
}

/// The recovery codes of a new set, shown this once.
#[derive(Template)]
#[template(path = "twostep/codes.html")]
pub struct CodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
    /// The heading: "Two-step sign-in is on" or "New recovery codes".
    pub title: String,
}
