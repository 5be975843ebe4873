//! The flow: `GET /auth/<provider>` sends the person to the provider,
//! `GET /auth/<provider>/callback` brings them back signed in (or with the
//! identity connected to their account), `GET /auth/<provider>/reauth`
//! has a signed-in person sign in there again to confirm it is them, and
//! `POST /auth/<provider>/disconnect` removes a connection.

use oauth2::PkceCodeChallenge;
use rocket::form::FromForm;
use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::{get, post, routes, Route, State};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::link::{connect, connect_refusal, reauthenticate, sign_in};
use super::providers::{Kind, Providers};
use super::providers::{Provider, ProviderIdentity};
use super::{repo, ProviderHttp};
use crate::accounts::{credentials, repo as users};
use crate::config::AppConfig;
use crate::db::{now, Db};
use crate::error::{AppError, AppResult};
use crate::session::{random_token, CsrfForm, CurrentUser, NoFields};
use crate::web::{local_path, Ctx, Layout, Reply};

/// The cookie that remembers a started flow until the provider sends the
/// person back. Private (encrypted and authenticated), so its contents can
/// be neither read nor forged.
const FLOW_COOKIE: &str = "gw_oauth";
const FLOW_PATH: &str = "/auth";

/// What the flow cookie holds.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    provider: String,
    state: String,
    verifier: String,
    nonce: Option<String>,
    next: String,
    intent: Intent,
    issued_at: i64,
}

/// What a flow is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Intent {
    /// Sign in (or sign up) with the provider.
    SignIn,
    /// Connect the provider to this signed-in user's account.
    Connect(i64),
    /// This signed-in user confirms it is them before a sensitive change.
    Reauth(i64),
}

fn redirect_uri(cfg: &AppConfig, slug: &str) -> String {
    format!(
        "{}/auth/{slug}/callback",
        cfg.base_url.trim_end_matches('/')
    )
}

fn bad_flow() -> AppError {
    AppError::BadRequest(
        "This sign-in could not be completed: it expired, was already used, or did not start here. \
         Please start again from the sign-in page."
            .into(),
    )
}

#[get("/auth/<slug>?<next>")]
async fn start(
    slug: &str,
    next: Option<String>,
    providers: &State<Providers>,
    http: &State<ProviderHttp>,
    ctx: Ctx<'_>,
    user: Option<CurrentUser>,
) -> AppResult<Reply> {
    let provider = providers.get(slug).ok_or(AppError::NotFound)?;
    let intent = match user {
        Some(me) => {
            // Refused here, before the trip to the provider; the callback
            // asks again, as things may change on the way.
            if let Some(why) = connect_refusal(ctx.db, provider, &me).await? {
                return Ok(Reply::failure("/profile", why));
            }
            Intent::Connect(me.id)
        }
        None => Intent::SignIn,
    };
    let next = next.as_deref().and_then(local_path).unwrap_or_default();
    let url = begin(
        provider,
        &http.0,
        &ctx,
        providers.flow_timeout,
        intent,
        next,
    )
    .await?;
    Ok(Reply::to(url))
}

/// "Confirm with GitHub": sign in at the provider again, as the account
/// connected here, and come back to the profile.
#[get("/auth/<slug>/reauth")]
async fn reauth(
    slug: &str,
    providers: &State<Providers>,
    http: &State<ProviderHttp>,
    ctx: Ctx<'_>,
    me: CurrentUser,
) -> AppResult<Reply> {
    let provider = providers.get(slug).ok_or(AppError::NotFound)?;
    let intent = Intent::Reauth(me.id);
    let next = "/profile".to_string();
    let url = begin(
        provider,
        &http.0,
        &ctx,
        providers.flow_timeout,
        intent,
        next,
    )
    .await?;
    Ok(Reply::to(url))
}

/// Remember a new flow in the flow cookie and return the provider's
/// authorization URL to send the browser to.
async fn begin(
    provider: &Provider,
    http: &reqwest::Client,
    ctx: &Ctx<'_>,
    timeout: i64,
    intent: Intent,
    next: String,
) -> AppResult<String> {
    let ep = provider.endpoints(http).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = random_token();
    let nonce = (provider.kind == Kind::Oidc).then(random_token);
    let url = provider.authorize_url(
        &ep,
        &redirect_uri(ctx.cfg, provider.slug),
        &state,
        challenge,
        nonce.as_deref(),
    )?;
    let pending = Pending {
        provider: provider.slug.to_string(),
        state,
        verifier: verifier.secret().clone(),
        nonce,
        next,
        intent,
        issued_at: now(),
    };
    let value = serde_json::to_string(&pending)
        .map_err(|e| AppError::Internal(format!("flow cookie: {e}")))?;
    // Lax, not Strict: the provider's redirect back is a cross-site
    // top-level navigation, which Strict would send without the cookie.
    let cookie = Cookie::build((FLOW_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(ctx.cfg.cookies_secure())
        .path(FLOW_PATH)
        .max_age(rocket::time::Duration::seconds(timeout));
    ctx.cookies.add_private(cookie);
    Ok(url)
}

/// The flow cookie, removed as it is read so that a callback works once.
fn take_pending(cookies: &CookieJar<'_>) -> Option<Pending> {
    let cookie = cookies.get_private(FLOW_COOKIE)?;
    cookies.remove_private(Cookie::build(FLOW_COOKIE).path(FLOW_PATH));
    serde_json::from_str(cookie.value()).ok()
}

#[get("/auth/<slug>/callback?<answer..>")]
async fn callback(
    slug: &str,
    answer: Answer,
    providers: &State<Providers>,
    http: &State<ProviderHttp>,
    ctx: Ctx<'_>,
    layout: Layout,
    me: Option<CurrentUser>,
) -> AppResult<Reply> {
    let provider = providers.get(slug).ok_or(AppError::NotFound)?;
    let pending = check_flow(ctx.cookies, slug, &answer, providers.flow_timeout)?;
    let code = provider_code(provider, answer)?;
    let identity = fetch_identity(provider, &http.0, ctx.cfg, &code, &pending).await?;
    match pending.intent {
        Intent::SignIn => {
            let next = local_path(&pending.next).unwrap_or_else(|| "/".into());
            sign_in(&ctx, layout, provider, &identity, next).await
        }
        Intent::Connect(user_id) => {
            let me = still_signed_in(me, user_id)?;
            connect(ctx.db, provider, &me, &identity).await
        }
        Intent::Reauth(user_id) => {
            let me = still_signed_in(me, user_id)?;
            reauthenticate(ctx.db, provider, &me, &identity).await
        }
    }
}

/// The signed-in user, if it is still the one who started the flow.
fn still_signed_in(me: Option<CurrentUser>, user_id: i64) -> AppResult<CurrentUser> {
    me.filter(|m| m.id == user_id).ok_or_else(|| {
        AppError::BadRequest(
            "You were signed out before this finished. Sign in and try again from your profile."
                .into(),
        )
    })
}

/// What the provider sent back in the callback's query.
#[derive(FromForm)]
struct Answer {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The flow this browser started: its cookie (used up as it is read), for
/// this provider, with the state the provider echoed, not expired.
fn check_flow(
    cookies: &CookieJar<'_>,
    slug: &str,
    answer: &Answer,
    timeout: i64,
) -> AppResult<Pending> {
    let Some(pending) = take_pending(cookies) else {
        log::info!("oauth {slug}: callback without a pending flow");
        return Err(bad_flow());
    };
    let state_ok = answer
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
    if pending.provider != slug || !state_ok {
        log::warn!(
            "oauth {slug}: state missing, wrong, or issued for {}",
            pending.provider
        );
        return Err(bad_flow());
    }
    if now() - pending.issued_at > timeout {
        return Err(bad_flow());
    }
    Ok(pending)
}

/// The authorization code, or what the provider said instead of one.
fn provider_code(provider: &Provider, answer: Answer) -> AppResult<String> {
    if let Some(error) = answer.error {
        log::info!(
            "oauth {}: the provider answered error={error:?}",
            provider.slug
        );
        let message = if error == "access_denied" {
            format!("Signing in with {} was cancelled: the permission was not given. You can try again, or sign in with your password.", provider.name)
        } else {
            format!(
                "{} could not sign you in ({}). Please try again.",
                provider.name,
                short(&error)
            )
        };
        return Err(AppError::BadRequest(message));
    }
    answer.code.filter(|c| !c.is_empty()).ok_or_else(bad_flow)
}

/// Trade the code for tokens (with the PKCE verifier) and read who the
/// provider says this is.
async fn fetch_identity(
    provider: &Provider,
    http: &reqwest::Client,
    cfg: &AppConfig,
    code: &str,
    pending: &Pending,
) -> AppResult<ProviderIdentity> {
    let ep = provider.endpoints(http).await?;
    let redirect = redirect_uri(cfg, provider.slug);
    let tokens = provider
        .exchange(&ep, http, &redirect, code, &pending.verifier)
        .await?;
    let identity = provider
        .identity(&ep, http, &tokens, pending.nonce.as_deref())
        .await?;
    if identity.subject.is_empty() {
        return Err(provider.failed("empty subject"));
    }
    Ok(identity)
}

/// A provider's error code, safe to show (it is attacker-controlled text).
fn short(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(40)
        .collect()
}

#[post("/auth/<slug>/disconnect", data = "<_form>")]
async fn disconnect(
    db: &Db,
    me: CurrentUser,
    providers: &State<Providers>,
    slug: &str,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let name = providers.name_of(slug);
    let user = users::find_by_id(db, me.id)
        .await?
        .ok_or(AppError::NotFound)?;
    if credentials::needs_fresh_sign_in(db, &user, me.session_id).await? {
        let action = format!("disconnect {name}");
        return Ok(Reply::failure(
            "/profile",
            credentials::fresh_sign_in_needed(&action),
        ));
    }
    match repo::unlink(db, me.id, slug).await? {
        repo::Unlink::Removed => Ok(Reply::success(
            "/profile",
            format!("Your {name} account is no longer connected."),
        )),
        repo::Unlink::NotLinked => Err(AppError::NotFound),
        repo::Unlink::LastWayIn => Ok(Reply::failure(
            "/profile",
            format!(
                "{name} is your only way to sign in, so it cannot be disconnected. \
                 Set a password or connect another account first."
            ),
        )),
    }
}

/// The routes of this feature.
pub fn routes() -> Vec<Route> {
    routes![start, reauth, callback, disconnect]
}
