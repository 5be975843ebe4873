//! Template data for account pages.

use askama::Template;

use super::model::SignupForm;
use crate::error::FieldErrors;
use crate::web::Layout;

/// `GET /signup`, and the form shown again with its errors.
#[derive(Template)]
#[template(path = "accounts/signup.html")]
pub struct SignupPage {
    pub layout: Layout,
    pub form: SignupForm,
    pub errors: FieldErrors,
}
