//! What the API accepts and answers. Request bodies name their fields for
//! [`super::json::JsonBody`]; fields such as `role` or `user_id` are not
//! part of any request type, so a body that sends them changes nothing.

use serde::{Deserialize, Serialize};

use super::json::Fields;
use crate::accounts::repo::User;
use crate::admin::repo::UserRow;

/// `POST /login`.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

impl Fields for LoginRequest {
    const FIELDS: &'static [&'static str] = &["email", "password"];
}

/// `POST /signup`.
#[derive(Debug, Deserialize)]
pub struct SignupRequest {
    pub username: String,
    pub email: String,
    pub password: String,
}

impl Fields for SignupRequest {
    const FIELDS: &'static [&'static str] = &["username", "email", "password"];
}

/// `PUT /update-profile`: a field left out (or null) keeps its value.
#[derive(Debug, Deserialize)]
pub struct ProfileRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub bio: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
}

impl Fields for ProfileRequest {
    const FIELDS: &'static [&'static str] = &["display_name", "bio", "avatar_url"];
}

/// `DELETE /user/<id>`: deleting one's own account needs the password, as
/// the profile's form does. Admins deleting another account send nothing.
#[derive(Debug, Deserialize)]
pub struct DeleteRequest {
    #[serde(default)]
    pub password: Option<String>,
}

impl Fields for DeleteRequest {
    const FIELDS: &'static [&'static str] = &["password"];
}

/// An account as the API shows it to its owner and to admins.
#[derive(Debug, Serialize)]
pub struct UserJson {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub role: String,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: String,
    pub email_verified: bool,
    pub disabled: bool,
    pub created_at: i64,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        UserJson {
            id: u.id,
            username: u.username,
            email: u.email,
            role: u.role,
            display_name: u.display_name,
            bio: u.bio,
            avatar_url: u.avatar_url,
            email_verified: u.email_verified != 0,
            disabled: u.disabled != 0,
            created_at: u.created_at,
        }
    }
}

/// One entry of `GET /users`.
#[derive(Debug, Serialize)]
pub struct UserSummary {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub role: String,
    pub display_name: String,
    pub email_verified: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
}

impl From<UserRow> for UserSummary {
    fn from(u: UserRow) -> Self {
        UserSummary {
            id: u.id,
            username: u.username,
            email: u.email,
            role: u.role,
            display_name: u.display_name,
            email_verified: u.email_verified != 0,
            disabled: u.disabled != 0,
            created_at: u.created_at,
            last_seen_at: u.last_seen_at,
        }
    }
}

/// `GET /users`.
#[derive(Debug, Serialize)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// `POST /login` and `POST /signup`: a token and whose it is.
#[derive(Debug, Serialize)]
pub struct TokenReply {
    pub token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub user: UserJson,
}

/// An error answered directly by a handler (the shape `AppError` uses).
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: &'static str,
    pub message: String,
}
