//! Template data for the two-step pages.

use askama::Template;

use crate::web::Layout;

/// `GET /login/two-step`: the code form of a sign-in halfway through.
#[derive(Template)]
#[template(path = "twostep/second_step.html")]
pub struct SecondStepPage {
    pub layout: Layout,
    pub error: Option<String>,
    /// The account has passkeys: offer "Use a passkey".
    pub passkeys: bool,
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

/// One passkey as its owner sees it listed.
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    pub added: String,
    /// "never", or when it last signed in.
    pub last_used: String,
}

/// `GET /account/passkeys`: the member's passkeys, adding one, renaming
/// and removing them.
#[derive(Template)]
#[template(path = "twostep/passkeys.html")]
pub struct PasskeysPage {
    pub layout: Layout,
    pub passkeys: Vec<PasskeyView>,
    /// Removing asks for the password; without one, for a code when the
    /// authenticator is on, else for a fresh sign-in.
    pub has_password: bool,
    pub totp_on: bool,
    /// Whether this site can use passkeys at all (a domain in `base_url`).
    pub available: bool,
    /// Why removing or renaming was refused.
    pub error: Option<String>,
}
