//! The member's passkeys, `/account/passkeys`: the list (name, added, last
//! used), adding one (two JSON requests from the script around the
//! browser's `navigator.credentials.create`), renaming and removing.
//! Removing is confirmed as turning two-step sign-in off is
//! ([`super::super::manage::confirm`]); every change is mailed.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use webauthn_rs::prelude::{
    CreationChallengeResponse, PasskeyRegistration, RegisterPublicKeyCredential,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::ceremony::{self, Kind};
use super::{store, CsrfHeader, Finished, RelyingParty};
use crate::accounts::repo::{self as users, User};
use crate::accounts::twostep::manage::{confirm, ConfirmForm};
use crate::accounts::twostep::views::{PasskeyView, PasskeysPage};
use crate::accounts::twostep::{mails, repo, SealKey};
use crate::accounts::Hasher;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::session::{CsrfForm, CurrentUser};
use crate::web::text::format_time;
use crate::web::{Ctx, Layout, Reply};

/// The passkeys page.
pub const PAGE: &str = "/account/passkeys";

async fn page(
    db: &Db,
    rp: &RelyingParty,
    layout: Layout,
    user: &User,
    error: Option<String>,
) -> AppResult<PasskeysPage> {
    let passkeys = store::list(db, user.id)
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id,
            name: p.name,
            added: format_time(p.created_at),
            last_used: if p.last_used_at == 0 {
                "never".into()
            } else {
                format_time(p.last_used_at)
            },
        })
        .collect();
    Ok(PasskeysPage {
        layout,
        passkeys,
        has_password: user.password_hash.is_some(),
        totp_on: repo::is_enabled(db, user.id).await?,
        available: rp.0.is_some(),
        error,
    })
}

async fn me_as_user(db: &Db, me: &CurrentUser) -> AppResult<User> {
    users::find_by_id(db, me.id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Mail the member that `change` happened to their passkeys.
async fn tell(ctx: &Ctx<'_>, me: &CurrentUser, change: &str) -> AppResult<()> {
    let user = (me.id, me.username.as_str(), me.email.as_str());
    mails::tell(ctx.db, &ctx.cfg.base_url, ctx.wakeup, user, change).await
}

#[get("/account/passkeys")]
async fn list(
    db: &Db,
    rp: &State<RelyingParty>,
    layout: Layout,
    me: CurrentUser,
) -> AppResult<Reply> {
    let user = me_as_user(db, &me).await?;
    Reply::page(&page(db, rp, layout, &user, None).await?)
}

/// What the script sends to start adding a passkey.
#[derive(Debug, serde::Deserialize)]
struct NewPasskey {
    #[serde(default)]
    name: String,
}

/// Start adding a passkey named `name`: the options for
/// `navigator.credentials.create`. A discoverable credential (resident
/// key) is required, so that it can sign in without an email address;
/// user verification is required (webauthn-rs's passkey default).
#[post("/account/passkeys/register", data = "<body>")]
async fn register_start(
    ctx: Ctx<'_>,
    rp: &State<RelyingParty>,
    me: CurrentUser,
    _csrf: CsrfHeader,
    body: Json<NewPasskey>,
) -> AppResult<Json<CreationChallengeResponse>> {
    let webauthn = rp.get()?;
    let name = store::parse_name(&body.name).map_err(AppError::Validation)?;
    let handle = store::handle(ctx.db, me.id).await?;
    let existing = store::keys_of(ctx.db, me.id).await?;
    let exclude = existing.iter().map(|k| k.cred_id().clone()).collect();
    let (mut options, state) = webauthn
        .start_passkey_registration(handle, &me.email, &me.username, Some(exclude))
        .map_err(|e| AppError::Internal(format!("starting a passkey registration: {e}")))?;
    // webauthn-rs leaves discoverability to the authenticator (it cannot
    // check it); the sign-in without an email address needs it.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    ceremony::begin(
        ctx.db,
        ctx.cfg,
        ctx.cookies,
        Kind::Register,
        Some(me.id),
        &name,
        &state,
    )
    .await?;
    Ok(Json(options))
}

/// The browser's new credential: checked against the ceremony (taken,
/// so it cannot be answered twice), stored under the chosen name, mailed.
#[post("/account/passkeys/register/finish", data = "<body>")]
async fn register_finish(
    ctx: Ctx<'_>,
    rp: &State<RelyingParty>,
    me: CurrentUser,
    _csrf: CsrfHeader,
    body: Json<RegisterPublicKeyCredential>,
) -> AppResult<Finished> {
    let webauthn = rp.get()?;
    let taken = ceremony::take::<PasskeyRegistration>(ctx.db, ctx.cookies, Kind::Register).await?;
    let Some(taken) = taken.filter(|t| t.user_id == Some(me.id)) else {
        return Ok(Finished::refused(ceremony::START_AGAIN));
    };
    let passkey = match webauthn.finish_passkey_registration(&body, &taken.state) {
        Ok(p) => p,
        Err(e) => {
            log::info!("a passkey registration of user {} was refused: {e}", me.id);
            return Ok(Finished::refused(
                "Your browser's answer could not be checked, so no passkey was added. Please try again.",
            ));
        }
    };
    if store::add(ctx.db, me.id, &taken.name, &passkey)
        .await?
        .is_none()
    {
        return Ok(Finished::Refused(
            Status::Conflict,
            "That passkey is already registered.".into(),
        ));
    }
    let change = format!(
        "A passkey named \"{}\" was added to your account.",
        taken.name
    );
    tell(&ctx, &me, &change).await?;
    Ok(Finished::Done {
        redirect: PAGE.into(),
        message: format!("Passkey \"{}\" added.", taken.name),
    })
}

/// A passkey's new name as sent.
#[derive(Debug, FromForm)]
struct RenameForm {
    #[field(default = String::new())]
    name: String,
}

#[post("/account/passkeys/<id>/rename", data = "<form>")]
async fn rename(
    ctx: Ctx<'_>,
    me: CurrentUser,
    id: i64,
    form: CsrfForm<RenameForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let Some(old) = store::name_of(ctx.db, me.id, id).await? else {
        return Err(AppError::NotFound);
    };
    let name = match store::parse_name(&form.name) {
        Ok(name) => name,
        Err(errors) => {
            let message = errors.get("name").unwrap_or("That name cannot be used.");
            return Ok(Reply::failure(PAGE, message));
        }
    };
    if !store::rename(ctx.db, me.id, id, &name).await? {
        return Err(AppError::NotFound);
    }
    let change = format!("Your passkey \"{old}\" was renamed to \"{name}\".");
    tell(&ctx, &me, &change).await?;
    Ok(Reply::success(
        PAGE,
        format!("Passkey renamed to \"{name}\"."),
    ))
}

/// Remove a passkey, once the member confirmed who they are.
// The arguments are Rocket's guards: what the confirmation and the page
// shown again need.
#[allow(clippy::too_many_arguments)]
#[post("/account/passkeys/<id>/remove", data = "<form>")]
async fn remove(
    ctx: Ctx<'_>,
    rp: &State<RelyingParty>,
    hasher: &State<Hasher>,
    key: &State<SealKey>,
    layout: Layout,
    me: CurrentUser,
    id: i64,
    form: CsrfForm<ConfirmForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let Some(name) = store::name_of(ctx.db, me.id, id).await? else {
        return Err(AppError::NotFound);
    };
    let user = me_as_user(ctx.db, &me).await?;
    if let Some(problem) = confirm(&ctx, hasher, key, &user, me.session_id, form).await? {
        let page = page(ctx.db, rp, layout, &user, Some(problem)).await?;
        return Reply::page_with(Status::UnprocessableEntity, &page);
    }
    if !store::remove(ctx.db, me.id, id).await? {
        return Err(AppError::NotFound);
    }
    let change = format!("The passkey \"{name}\" was removed from your account.");
    tell(&ctx, &me, &change).await?;
    Ok(Reply::success(PAGE, format!("Passkey \"{name}\" removed.")))
}

/// The routes of the passkeys page and of adding one.
pub fn routes() -> Vec<Route> {
    routes![list, register_start, register_finish, rename, remove]
}
