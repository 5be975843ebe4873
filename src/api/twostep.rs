//! The JSON API's two-step sign-in. `POST /login` with the right password
//! for an account with two-step sign-in answers 202 with a short-lived
//! challenge instead of a token; `POST /login/two-step` with the challenge
//! and a code (from the app, or a recovery code) answers with the token.
//! The challenge grants nothing else; wrong codes count as the form's do,
//! and too many void the challenge (the password is needed again).

use rocket::http::Status;
use rocket::request::Request;
use rocket::response::status::Custom;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{post, State};
use serde::{Deserialize, Serialize};

use super::guards::ApiRequest;
use super::json::{Fields, JsonBody};
use super::model::{ErrorBody, TokenReply};
use super::routes::refused;
use super::token::{self, NoStore, TokenKeys};
use crate::accounts::repo::{self as users, User};
use crate::accounts::twostep::pending::{self, Checked};
use crate::accounts::twostep::{repo, SealKey};
use crate::error::{AppError, AppResult};
use crate::web::Ctx;

/// `POST /login`'s answer for an account with two-step sign-in (202).
#[derive(Debug, Serialize)]
pub struct ChallengeReply {
    /// Send it back to `POST /login/two-step` with a code.
    pub challenge: String,
    /// Seconds it stays valid.
    pub expires_in: i64,
    /// What the second step accepts.
    pub methods: &'static [&'static str],
}

/// `POST /login/two-step`.
#[derive(Debug, Deserialize)]
pub struct TwoStepRequest {
    pub challenge: String,
    pub code: String,
}

impl Fields for TwoStepRequest {
    const FIELDS: &'static [&'static str] = &["challenge", "code"];
}

/// What `POST /login` answers: a token, a challenge, or a refusal.
pub enum LoginReply {
    Token(NoStore<Json<TokenReply>>),
    Challenge(NoStore<Custom<Json<ChallengeReply>>>),
    Refused(Custom<Json<ErrorBody>>),
}

impl<'r> Responder<'r, 'static> for LoginReply {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            LoginReply::Token(r) => r.respond_to(req),
            LoginReply::Challenge(r) => r.respond_to(req),
            LoginReply::Refused(r) => r.respond_to(req),
        }
    }
}

/// A token for `user`, who passed every step.
pub async fn token_for(
    ctx: &Ctx<'_>,
    keys: &TokenKeys,
    user: User,
) -> AppResult<NoStore<Json<TokenReply>>> {
    let issued = token::issue(ctx.db, keys, ctx.cfg, user.id, &ctx.ua.0, &ctx.ip.label()).await?;
    Ok(NoStore(Json(TokenReply {
        token: issued.token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        user: user.into(),
    })))
}

/// After the right password: the token, or for an account with two-step
/// sign-in a challenge for the second call.
pub async fn token_or_challenge(
    ctx: &Ctx<'_>,
    keys: &TokenKeys,
    user: User,
) -> AppResult<LoginReply> {
    if !repo::is_enabled(ctx.db, user.id).await? {
        return Ok(LoginReply::Token(token_for(ctx, keys, user).await?));
    }
    let challenge = pending::create(ctx.db, user.id, "api", false, "").await?;
    Ok(LoginReply::Challenge(NoStore(Custom(
        Status::Accepted,
        Json(ChallengeReply {
            challenge,
            expires_in: pending::LIFETIME,
            methods: &["totp", "recovery_code"],
        }),
    ))))
}

/// The second call: the challenge and a code for a token.
#[post("/login/two-step", data = "<body>", rank = 1)]
pub async fn second_step(
    _api: ApiRequest,
    ctx: Ctx<'_>,
    keys: &State<TokenKeys>,
    key: &State<SealKey>,
    body: JsonBody<TwoStepRequest>,
) -> AppResult<LoginReply> {
    let JsonBody(body) = body;
    let Some(p) = pending::find(ctx.db, &body.challenge, "api").await? else {
        return Ok(LoginReply::Refused(refused(
            Status::Unauthorized,
            "invalid_challenge",
            "This challenge is unknown or has expired. Sign in again with your password.",
        )));
    };
    match pending::check_code(ctx.db, ctx.cfg, key, &p, &body.code).await? {
        Checked::Valid => {
            pending::delete(ctx.db, p.id).await?;
            let user = users::find_by_id(ctx.db, p.user_id)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(LoginReply::Token(token_for(&ctx, keys, user).await?))
        }
        Checked::Wrong => Ok(LoginReply::Refused(refused(
            Status::Unauthorized,
            "invalid_code",
            "That code is not right.",
        ))),
        Checked::TooMany => Ok(LoginReply::Refused(refused(
            Status::TooManyRequests,
            "too_many_codes",
            "Too many wrong codes. Sign in again with your password.",
        ))),
    }
}
