//! Signing in with a passkey: on its own ("Sign in with a passkey" on
//! `/login`: a discoverable credential names its account through its user
//! handle), or as the second step of a pending sign-in ("Use a passkey"
//! on `/login/two-step`, with the account's own passkeys). Each is two
//! JSON requests from the script around `navigator.credentials.get`.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyAuthentication, PublicKeyCredential,
    RequestChallengeResponse,
};

use super::ceremony::{self, Kind};
use super::{store, CsrfHeader, Finished, RelyingParty};
use crate::accounts::credentials::{self, suspension};
use crate::accounts::repo::{self as users, User};
use crate::accounts::twostep::pending;
use crate::accounts::twostep::routes::{this_browsers, START_AGAIN};
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use crate::web::ratelimit::{self, Limit};
use crate::web::{local_path, Ctx};

/// What a passkey that does not sign in is told (unknown here, another
/// site's, removed, or its answer did not check out): one message, so the
/// answer says nothing about which accounts exist.
const NOT_ACCEPTED: &str =
    "That passkey was not accepted. It may have been removed from your account, or belong to another site.";

/// The sign-in limit per client address (the password form's): a passkey
/// that does not sign in counts as a failed sign-in.
fn address_limit(ctx: &Ctx<'_>) -> (String, Limit) {
    let [_, address] = credentials::limits(ctx.cfg, "", None, &ctx.ip);
    address
}

/// Start "Sign in with a passkey": options for `navigator.credentials.get`
/// without a list of credentials, so the browser offers the passkeys it
/// holds for this site. Refused (429) while the address is over its limit
/// of failed sign-ins; the starts themselves are limited generously (ten
/// times that), since each stores a ceremony for a few minutes.
#[post("/login/passkey")]
async fn signin_start(
    ctx: Ctx<'_>,
    rp: &State<RelyingParty>,
    _csrf: CsrfHeader,
) -> AppResult<Json<RequestChallengeResponse>> {
    let webauthn = rp.get()?;
    let (bucket, limit) = address_limit(&ctx);
    ratelimit::check(ctx.db, &bucket, limit).await?;
    let starts = Limit {
        max: limit.max * 10,
        window: limit.window,
    };
    ratelimit::attempt(
        ctx.db,
        &format!("passkey:start:{}", ctx.ip.bucket_key()),
        starts,
    )
    .await?;
    let (mut options, state) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| AppError::Internal(format!("starting a passkey sign-in: {e}")))?;
    // webauthn-rs marks this for conditional UI (autofill); here a button
    // asks, so the browser shows its usual dialog.
    options.mediation = None;
    ceremony::begin(ctx.db, ctx.cfg, ctx.cookies, Kind::SignIn, None, "", &state).await?;
    Ok(Json(options))
}

/// Whether `user` may sign in now: the rules every sign-in applies after
/// it knows who is coming (disabled, suspended). Some(why) when not.
async fn refusal(ctx: &Ctx<'_>, user: &User) -> AppResult<Option<String>> {
    if user.disabled != 0 {
        return Ok(Some(
            "This account has been disabled. Contact the site's administrators if you think this is a mistake.".into(),
        ));
    }
    suspension(ctx.db, user.id).await
}

/// Start the session, audit it, and send the browser on.
async fn signed_in(
    ctx: &Ctx<'_>,
    user: &User,
    remember: bool,
    next: String,
    how: &str,
) -> AppResult<Finished> {
    ctx.start_session(user.id, remember).await?;
    let actor = Actor {
        id: user.id,
        name: user.username.clone(),
        ip: ctx.ip.label(),
    };
    audit::record(ctx.db, &actor, "user.passkey_sign_in", None, how).await?;
    Ok(Finished::Done {
        redirect: if next.is_empty() { "/".into() } else { next },
        message: format!("Signed in as {}.", user.username),
    })
}

/// The browser's answer to "Sign in with a passkey". The credential and
/// the user handle it carries must both belong to one account here; the
/// signature, challenge, origin and user verification are checked by
/// webauthn-rs against the ceremony this browser started. `next` is where
/// to go after (a local path).
#[post("/login/passkey/finish?<next>", data = "<body>")]
async fn signin_finish(
    ctx: Ctx<'_>,
    rp: &State<RelyingParty>,
    _csrf: CsrfHeader,
    next: Option<String>,
    body: Json<PublicKeyCredential>,
) -> AppResult<Finished> {
    let webauthn = rp.get()?;
    let taken =
        ceremony::take::<DiscoverableAuthentication>(ctx.db, ctx.cookies, Kind::SignIn).await?;
    let Some(taken) = taken else {
        return Ok(Finished::refused(ceremony::START_AGAIN));
    };
    // Counted first, as a failed password is, and taken back once it
    // signed in.
    let (bucket, limit) = address_limit(&ctx);
    let counted = ratelimit::attempt(ctx.db, &bucket, limit).await?;
    let not_accepted = || Finished::Refused(Status::Unauthorized, NOT_ACCEPTED.into());
    let Ok((handle, credential)) = webauthn.identify_discoverable_authentication(&body) else {
        return Ok(not_accepted());
    };
    let Some(found) = store::find_by_credential(ctx.db, credential).await? else {
        return Ok(not_accepted());
    };
    // A credential answers for the account it was registered to, and only
    // if it carries that account's handle.
    if store::user_of_handle(ctx.db, &handle).await? != Some(found.user_id) {
        return Ok(not_accepted());
    }
    let mut passkey = found.passkey;
    let result = match webauthn.finish_discoverable_authentication_v2(&body, taken.state, &passkey)
    {
        Ok(r) => r,
        Err(e) => {
            log::info!(
                "a passkey sign-in of user {} was refused: {e}",
                found.user_id
            );
            return Ok(not_accepted());
        }
    };
    ratelimit::forgive(ctx.db, counted).await?;
    let changed = passkey.update_credential(&result) == Some(true);
    store::used(ctx.db, found.id, changed.then_some(&passkey)).await?;
    let user = users::find_by_id(ctx.db, found.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(why) = refusal(&ctx, &user).await? {
        return Ok(Finished::Refused(Status::Forbidden, why));
    }
    let next = next.as_deref().and_then(local_path).unwrap_or_default();
    signed_in(&ctx, &user, false, next, "passkey").await
}

/// Start "Use a passkey" on the second step: options naming the pending
/// account's passkeys.
#[post("/login/two-step/passkey")]
async fn second_start(
    ctx: Ctx<'_>,
    rp: &State<RelyingParty>,
    _csrf: CsrfHeader,
) -> AppResult<Result<Json<RequestChallengeResponse>, Finished>> {
    let webauthn = rp.get()?;
    let Some(p) = this_browsers(&ctx).await? else {
        return Ok(Err(Finished::refused(START_AGAIN)));
    };
    let keys = store::keys_of(ctx.db, p.user_id).await?;
    if keys.is_empty() {
        return Ok(Err(Finished::refused(
            "Your account has no passkey. Type a code from your app, or a recovery code.",
        )));
    }
    let (options, state) = webauthn
        .start_passkey_authentication(&keys)
        .map_err(|e| AppError::Internal(format!("starting a passkey second step: {e}")))?;
    ceremony::begin(
        ctx.db,
        ctx.cfg,
        ctx.cookies,
        Kind::Second,
        Some(p.user_id),
        "",
        &state,
    )
    .await?;
    Ok(Ok(Json(options)))
}

/// The browser's answer on the second step: one of the pending account's
/// passkeys, for this browser's pending sign-in, finishes it as a code
/// would.
#[post("/login/two-step/passkey/finish", data = "<body>")]
async fn second_finish(
    ctx: Ctx<'_>,
    rp: &State<RelyingParty>,
    _csrf: CsrfHeader,
    body: Json<PublicKeyCredential>,
) -> AppResult<Finished> {
    let webauthn = rp.get()?;
    let taken = ceremony::take::<PasskeyAuthentication>(ctx.db, ctx.cookies, Kind::Second).await?;
    let Some(p) = this_browsers(&ctx).await? else {
        return Ok(Finished::refused(START_AGAIN));
    };
    let Some(taken) = taken.filter(|t| t.user_id == Some(p.user_id)) else {
        return Ok(Finished::refused(ceremony::START_AGAIN));
    };
    let not_accepted = || Finished::Refused(Status::Unauthorized, NOT_ACCEPTED.into());
    let result = match webauthn.finish_passkey_authentication(&body, &taken.state) {
        Ok(r) => r,
        Err(e) => {
            log::info!(
                "a passkey second step of user {} was refused: {e}",
                p.user_id
            );
            return Ok(not_accepted());
        }
    };
    let Some(found) = store::find_by_credential(ctx.db, result.cred_id())
        .await?
        .filter(|f| f.user_id == p.user_id)
    else {
        return Ok(not_accepted());
    };
    let mut passkey = found.passkey;
    let changed = passkey.update_credential(&result) == Some(true);
    store::used(ctx.db, found.id, changed.then_some(&passkey)).await?;
    pending::delete(ctx.db, p.id).await?;
    pending::remove_cookie(ctx.cookies);
    let user = users::find_by_id(ctx.db, p.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(why) = refusal(&ctx, &user).await? {
        return Ok(Finished::Refused(Status::Forbidden, why));
    }
    signed_in(
        &ctx,
        &user,
        p.remember != 0,
        p.next_path,
        "passkey, second step",
    )
    .await
}

/// The routes of the passkey sign-ins.
pub fn routes() -> Vec<Route> {
    routes![signin_start, signin_finish, second_start, second_finish]
}
