//! Conduit's accounts and profiles: `POST /api/users`, `POST
//! /api/users/login`, `GET`/`PUT /api/user`, `GET /api/profiles/{username}`
//! and its `/follow`. The accounts are the site's own: registering runs
//! the sign-up form's rules and mail, signing in the sign-in form's checks
//! and rate limits, and the token is the JSON API's session-bound JWT.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route, State};
use serde::Deserialize;
use serde_json::{json, Value};

use super::conduit::{profile_json, ConduitResult, PresentedToken, UserJson, Viewer};
use super::social;
use crate::accounts::credentials::{self, Confirmation, Outcome};
use crate::accounts::model::{parse_email, parse_username, ProfileForm, SignupForm};
use crate::accounts::register::{register, Refused};
use crate::accounts::repo::{self, User};
use crate::accounts::{email, password, Hasher};
use crate::api::json::{Fields, JsonBody};
use crate::api::token::{self, NoStore, TokenKeys};
use crate::api::ApiUser;
use crate::db::{is_unique_violation, Db};
use crate::error::{AppError, FieldErrors};
use crate::web::Ctx;

/// `{"user": {...}}` with every field optional: what is missing is
/// reported per field, as RealWorld clients expect.
#[derive(Debug, Deserialize)]
pub struct UserBody {
    pub user: UserFields,
}

/// The fields a `user` object may carry. `currentPassword` is ours: it
/// must accompany a change of email or password.
#[derive(Debug, Default, Deserialize)]
pub struct UserFields {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub bio: Option<String>,
    pub image: Option<String>,
    #[serde(rename = "currentPassword")]
    pub current_password: Option<String>,
}

impl Fields for UserBody {
    const FIELDS: &'static [&'static str] = &[
        "user",
        "username",
        "email",
        "password",
        "bio",
        "image",
        "currentPassword",
    ];
}

const USERNAME_TAKEN: &str = "That username is taken. Try another.";

fn required(errors: &mut FieldErrors, field: &'static str, value: &Option<String>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.clone(),
        _ => {
            errors.add(field, "can't be blank");
            String::new()
        }
    }
}

/// The `user` reply, which carries a token: never to be cached.
fn user_json(u: &User, token: String) -> NoStore<Json<Value>> {
    NoStore(Json(json!({ "user": UserJson {
        email: u.email.clone(),
        token,
        username: u.username.clone(),
        bio: u.bio.clone(),
        image: u.avatar_url.clone(),
    }})))
}

async fn load(db: &Db, id: i64) -> ConduitResult<User> {
    Ok(repo::find_by_id(db, id)
        .await?
        .ok_or(AppError::Unauthorized)?)
}

/// Register: 201 with the new user and a token.
#[post("/users", data = "<body>")]
async fn register_user(
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    keys: &State<TokenKeys>,
    body: JsonBody<UserBody>,
) -> ConduitResult<(Status, NoStore<Json<Value>>)> {
    let JsonBody(UserBody { user: b }) = body;
    let mut errors = FieldErrors::default();
    let form = SignupForm {
        username: required(&mut errors, "username", &b.username),
        email: required(&mut errors, "email", &b.email),
        password: required(&mut errors, "password", &b.password),
    };
    errors.into_result()?;
    let id = match register(&ctx, hasher, &form).await? {
        Ok(id) => id,
        Err(Refused::Invalid(errors) | Refused::Taken(errors)) => {
            return Err(AppError::Validation(errors).into())
        }
    };
    let issued = token::issue(ctx.db, keys, ctx.cfg, id, &ctx.ua.0, &ctx.ip.label()).await?;
    Ok((
        Status::Created,
        user_json(&load(ctx.db, id).await?, issued.token),
    ))
}

/// Sign in: the form's checks and rate limits; 422 `email or password: is
/// invalid` for a wrong password (as RealWorld servers answer), 403 for a
/// disabled account.
#[post("/users/login", data = "<body>")]
async fn login(
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    keys: &State<TokenKeys>,
    body: JsonBody<UserBody>,
) -> ConduitResult<NoStore<Json<Value>>> {
    let JsonBody(UserBody { user: b }) = body;
    let mut errors = FieldErrors::default();
    let email = required(&mut errors, "email", &b.email);
    let password = required(&mut errors, "password", &b.password);
    errors.into_result()?;
    let user = match credentials::check(&ctx, hasher, None, &email, password).await? {
        Outcome::Valid(user) => user,
        Outcome::Invalid => {
            let mut errors = FieldErrors::default();
            errors.add("email or password", "is invalid");
            return Err(AppError::Validation(errors).into());
        }
        Outcome::Disabled => return Err(AppError::Forbidden.into()),
    };
    let issued = token::issue(ctx.db, keys, ctx.cfg, user.id, &ctx.ua.0, &ctx.ip.label()).await?;
    Ok(user_json(&user, issued.token))
}

/// The caller's own account, with the token it used.
#[get("/user")]
async fn current(
    db: &Db,
    me: ApiUser,
    token: PresentedToken,
) -> ConduitResult<NoStore<Json<Value>>> {
    Ok(user_json(&load(db, me.0.id).await?, token.0))
}

/// What `PUT /api/user` was asked to change, validated.
struct Changes {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    profile: Option<crate::accounts::model::Profile>,
}

fn validate_changes(user: &User, b: &UserFields) -> Result<Changes, FieldErrors> {
    let mut errors = FieldErrors::default();
    let username = match b.username.as_deref().map(parse_username) {
        Some(Ok(u)) if u != user.username => Some(u),
        Some(Err(e)) => {
            errors.add("username", e);
            None
        }
        _ => None,
    };
    let email = match b.email.as_deref().map(parse_email) {
        Some(Ok(e)) if e != user.email => Some(e),
        Some(Err(e)) => {
            errors.add("email", e);
            None
        }
        _ => None,
    };
    let password = b.password.clone().filter(|p| !p.is_empty());
    if let Some(e) = password
        .as_deref()
        .and_then(|p| password::policy_error(p, &[&user.username, &user.email]))
    {
        errors.add("password", e);
    }
    let profile = if b.bio.is_some() || b.image.is_some() {
        let form = ProfileForm {
            display_name: user.display_name.clone(),
            bio: b.bio.clone().unwrap_or_else(|| user.bio.clone()),
            avatar_url: b.image.clone().unwrap_or_else(|| user.avatar_url.clone()),
        };
        match form.validate() {
            Ok(p) => Some(p),
            Err(e) => {
                for (field, message) in e.0 {
                    errors.add(
                        if field == "avatar_url" {
                            "image"
                        } else {
                            field
                        },
                        message,
                    );
                }
                None
            }
        }
    } else {
        None
    };
    if (email.is_some() || password.is_some())
        && user.password_hash.is_some()
        && b.current_password.as_deref().unwrap_or("").is_empty()
    {
        errors.add(
            "currentPassword",
            "Give your current password to change your email address or password.",
        );
    }
    if errors.is_empty() {
        Ok(Changes {
            username,
            email,
            password,
            profile,
        })
    } else {
        Err(errors)
    }
}

/// Update the caller's account. Username, bio and image change at once.
/// Email and password need `currentPassword` (checked under the sign-in
/// rate limit); a new password ends the account's other sessions, and a
/// new email address takes effect when the link mailed to it is opened,
/// as on the profile page.
#[put("/user", data = "<body>")]
async fn update(
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    me: ApiUser,
    token: PresentedToken,
    body: JsonBody<UserBody>,
) -> ConduitResult<NoStore<Json<Value>>> {
    let JsonBody(UserBody { user: b }) = body;
    let db = ctx.db;
    let user = load(db, me.0.id).await?;
    let changes = validate_changes(&user, &b).map_err(AppError::Validation)?;
    if changes.email.is_some() || changes.password.is_some() {
        let given = b.current_password.clone().unwrap_or_default();
        let confirmed = credentials::confirm(db, ctx.cfg, hasher, &user, me.0.session_id, given);
        if confirmed.await? != Confirmation::Confirmed {
            let mut errors = FieldErrors::default();
            errors.add("currentPassword", "That is not your current password.");
            return Err(AppError::Validation(errors).into());
        }
    }
    // Names and addresses another account holds are refused before
    // anything is written, so a refused update changes nothing.
    let mut taken = FieldErrors::default();
    if let Some(name) = &changes.username {
        if name.to_lowercase() != user.username.to_lowercase()
            && repo::username_taken(db, name).await?
        {
            taken.add("username", USERNAME_TAKEN);
        }
    }
    if let Some(new_email) = &changes.email {
        email::count_change_request(db, user.id).await?;
        if repo::email_taken(db, new_email).await? {
            taken.add("email", "Another account already uses that email address.");
        }
    }
    taken.into_result()?;
    if let Some(name) = &changes.username {
        match repo::set_username(db, user.id, name).await {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => {
                let mut errors = FieldErrors::default();
                errors.add("username", USERNAME_TAKEN);
                return Err(AppError::Validation(errors).into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(p) = &changes.profile {
        repo::update_profile(db, user.id, &p.display_name, &p.bio, &p.avatar_url).await?;
    }
    if let Some(new_password) = changes.password {
        let changed =
            credentials::change_password(db, hasher, &user, new_password, me.0.session_id);
        if let Err(problem) = changed.await? {
            // validate_changes applied the same policy: only a rule that
            // changed in between lands here.
            let mut errors = FieldErrors::default();
            errors.add("password", problem);
            return Err(AppError::Validation(errors).into());
        }
    }
    if let Some(new_email) = &changes.email {
        // Checked above; only an address taken in the last instant lands here.
        if let Err(message) = email::start_change(db, ctx.cfg, ctx.wakeup, &user, new_email).await?
        {
            let mut errors = FieldErrors::default();
            errors.add("email", message);
            return Err(AppError::Validation(errors).into());
        }
    }
    Ok(user_json(&load(db, user.id).await?, token.0))
}

/// A profile; `following` is the caller's (false for a visitor).
#[get("/profiles/<username>")]
async fn profile(db: &Db, viewer: Viewer, username: &str) -> ConduitResult<Json<Value>> {
    let author = social::find(db, viewer.id(), username).await?;
    Ok(Json(json!({ "profile": profile_json(&author) })))
}

#[post("/profiles/<username>/follow")]
async fn follow(db: &Db, me: ApiUser, username: &str) -> ConduitResult<Json<Value>> {
    let author = social::set_following(db, me.0.id, &me.0.username, username, true).await?;
    Ok(Json(json!({ "profile": profile_json(&author) })))
}

#[delete("/profiles/<username>/follow")]
async fn unfollow(db: &Db, me: ApiUser, username: &str) -> ConduitResult<Json<Value>> {
    let author = social::set_following(db, me.0.id, &me.0.username, username, false).await?;
    Ok(Json(json!({ "profile": profile_json(&author) })))
}

/// The account and profile routes, mounted at `/api`.
pub fn routes() -> Vec<Route> {
    routes![
        register_user,
        login,
        current,
        update,
        profile,
        follow,
        unfollow
    ]
}
