//! Which local account a provider identity belongs to: a known identity,
//! an existing account linked by an email both sides verified, a new
//! account, or the signed-in account when connecting from the profile (or
//! confirming it is them before a sensitive change).

use askama::Template;
use rocket::http::Status;

use super::providers::{Provider, ProviderIdentity};
use super::repo::{self, Identity, Key};
use crate::accounts::credentials;
use crate::accounts::model::parse_username;
use crate::accounts::repo as users;
use crate::db::{begin_write, is_unique_violation, Db};
use crate::error::{AppError, AppResult};
use crate::session::{self, random_token, CurrentUser};
use crate::web::ratelimit::{self, Limit};
use crate::web::{Ctx, Layout, Reply};

/// "An account with this email already exists": sign in with the password
/// and connect from the profile.
#[derive(Template)]
#[template(path = "auth/oauth_link_needed.html")]
pub struct LinkNeededPage {
    pub layout: Layout,
    pub provider: String,
    pub email: String,
}

/// Why the signed-in person may not connect `provider` now, if they may
/// not. Their address must be confirmed: otherwise someone could sign up
/// with another person's address, connect their own account here, and
/// sign in with it once the owner has claimed the address. An account
/// without a password must also have signed in recently, as for any
/// sensitive change (a stolen session could otherwise add a way in).
pub async fn connect_refusal(
    db: &Db,
    provider: &Provider,
    me: &CurrentUser,
) -> AppResult<Option<String>> {
    let user = users::find_by_id(db, me.id)
        .await?
        .ok_or(AppError::NotFound)?;
    if user.email_verified == 0 {
        return Ok(Some(format!(
            "Confirm your email address before connecting {}: open the link we sent to {}. \
             Nothing was connected.",
            provider.name, user.email
        )));
    }
    if credentials::needs_fresh_sign_in(db, &user, me.session_id).await? {
        let action = format!("connect {}", provider.name);
        return Ok(Some(credentials::fresh_sign_in_needed(&action)));
    }
    Ok(None)
}

/// Connect a provider account to the signed-in user.
pub async fn connect(
    db: &Db,
    provider: &Provider,
    me: &CurrentUser,
    identity: &ProviderIdentity,
) -> AppResult<Reply> {
    if let Some(why) = connect_refusal(db, provider, me).await? {
        return Ok(Reply::failure("/profile", why));
    }
    let user_id = me.id;
    if let Some(existing) = find_known(db, provider, identity).await? {
        return Ok(if existing.user_id == user_id {
            Reply::success(
                "/profile",
                format!("Your {} account was already connected.", provider.name),
            )
        } else {
            Reply::failure(
                "/profile",
                format!(
                    "That {} account is already connected to another account here.",
                    provider.name
                ),
            )
        });
    }
    if has_provider(db, user_id, &key(provider, identity)).await? {
        return Ok(Reply::failure(
            "/profile",
            format!(
                "Another {0} account is connected already. Disconnect it first.",
                provider.name
            ),
        ));
    }
    let email = identity.email.clone().unwrap_or_default();
    let mut conn = db.pool.acquire().await?;
    let linked = repo::link(&mut conn, user_id, &key(provider, identity), &email).await;
    drop(conn);
    if linked.is_ok() {
        crate::session::user_changed(db, user_id).await?;
    }
    match linked {
        Ok(_) => Ok(Reply::success(
            "/profile",
            format!(
                "Your {} account is connected: you can now sign in with it.",
                provider.name
            ),
        )),
        Err(e) if is_unique_violation(&e) => Ok(Reply::failure(
            "/profile",
            format!(
                "That {} account is already connected to another account here.",
                provider.name
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

/// "Confirm with GitHub": the person signed in at the provider again. If
/// that identity is connected to their account, this session has proved
/// who it is (see `credentials::recently_proved`).
pub async fn reauthenticate(
    db: &Db,
    provider: &Provider,
    me: &CurrentUser,
    identity: &ProviderIdentity,
) -> AppResult<Reply> {
    let known = find_known(db, provider, identity).await?;
    if known.is_none_or(|k| k.user_id != me.id) {
        return Ok(Reply::failure(
            "/profile",
            format!(
                "The {0} account you signed in with is not the one connected to your account \
                 here, so it cannot confirm it is you. Nothing was changed. Sign in at {0} \
                 with the connected account and try again.",
                provider.name
            ),
        ));
    }
    session::record_proof(db, me.session_id).await?;
    Ok(Reply::success(
        "/profile",
        format!(
            "Thank you: you confirmed it is you with {}. For the next {} minutes you can set \
             a password, change your email address, connect or disconnect sign-in accounts \
             and delete your account.",
            provider.name,
            credentials::PROOF_WINDOW / 60
        ),
    ))
}

/// What names this person at this provider in the `identities` table.
fn key<'a>(provider: &'a Provider, identity: &'a ProviderIdentity) -> Key<'a> {
    Key {
        provider: provider.slug,
        issuer: &identity.issuer,
        subject: &identity.subject,
    }
}

/// The linked identity the provider vouched for, if any. A row stored
/// before issuers were recorded counts only for the issuer the operator
/// named as its origin (`oauth.oidc.legacy_issuer`), and is then claimed
/// for it; otherwise a subject from another issuer could reach it.
pub async fn find_known(
    db: &Db,
    provider: &Provider,
    identity: &ProviderIdentity,
) -> AppResult<Option<Identity>> {
    let key = key(provider, identity);
    if let Some(found) = repo::find(db, &key).await? {
        return Ok(Some(found));
    }
    if !key.issuer.is_empty() && key.issuer == provider.legacy_issuer {
        return repo::adopt_legacy(db, &key).await;
    }
    Ok(None)
}

/// Whether the user already has an identity at this provider (and issuer).
async fn has_provider(db: &Db, user_id: i64, key: &Key<'_>) -> AppResult<bool> {
    Ok(repo::list_for_user(db, user_id)
        .await?
        .iter()
        .any(|i| i.provider == key.provider && i.issuer == key.issuer))
}

/// Sign in with a provider identity: a known identity, an existing account
/// whose verified email the provider also verified, or a new account.
pub async fn sign_in(
    ctx: &Ctx<'_>,
    layout: Layout,
    provider: &Provider,
    identity: &ProviderIdentity,
    next: String,
) -> AppResult<Reply> {
    let db = ctx.db;
    if let Some(known) = find_known(db, provider, identity).await? {
        if let Some(email) = &identity.email {
            if *email != known.email {
                repo::update_email(db, known.id, email).await?;
            }
        }
        return start_session(ctx, known.user_id, next, None).await;
    }
    let Some(email) = identity.email.clone() else {
        return Err(AppError::BadRequest(format!(
            "{0} did not tell us an email address, so we cannot create an account for you. \
             Add an email address to your {0} account, or sign up with a password.",
            provider.name
        )));
    };
    if let Some(user) = users::find_by_email(db, &email).await? {
        // Linking by email is safe only when both sides have proved the
        // address belongs to this person (SECURITY.md 15, 18).
        let may_link = identity.email_verified
            && user.email_verified != 0
            && !has_provider(db, user.id, &key(provider, identity)).await?;
        if !may_link {
            log::info!(
                "oauth {}: email matches user {} but linking is not allowed (provider verified: {}, local verified: {})",
                provider.slug, user.id, identity.email_verified, user.email_verified != 0
            );
            let page = LinkNeededPage {
                layout,
                provider: provider.name.clone(),
                email,
            };
            return Reply::page_with(Status::Conflict, &page);
        }
        let mut conn = db.pool.acquire().await?;
        match repo::link(&mut conn, user.id, &key(provider, identity), &email).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(try_again()),
            Err(e) => return Err(e.into()),
        }
        return start_session(ctx, user.id, next, None).await;
    }
    create_account(ctx, provider, identity, &email, next).await
}

fn try_again() -> AppError {
    AppError::Conflict(
        "Another sign-in changed this account at the same moment. Please try again.".into(),
    )
}

/// A first sign-in: a new account with no password.
async fn create_account(
    ctx: &Ctx<'_>,
    provider: &Provider,
    identity: &ProviderIdentity,
    email: &str,
    next: String,
) -> AppResult<Reply> {
    let (db, cfg) = (ctx.db, ctx.cfg);
    let limit = Limit {
        max: cfg.signups_per_address_per_hour,
        window: 3600,
    };
    let bucket = format!("signup:{}", ctx.ip.bucket_key());
    ratelimit::check(db, &bucket, limit).await?;
    let username = unique_username(db, &identity.name_hint).await?;
    let mut tx = begin_write(db).await?;
    let created = users::create(
        &mut tx,
        &username,
        email,
        None,
        "user",
        identity.email_verified,
    )
    .await;
    let user_id = match created {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => return Err(try_again()),
        Err(e) => return Err(e.into()),
    };
    match repo::link(&mut tx, user_id, &key(provider, identity), email).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(try_again()),
        Err(e) => return Err(e.into()),
    }
    if !identity.email_verified {
        crate::accounts::email::queue_verification(&mut tx, cfg, user_id, &username, email).await?;
    }
    tx.commit().await?;
    if !identity.email_verified {
        ctx.wakeup.notify();
    }
    ratelimit::hit(db, &bucket, limit).await?;
    let welcome = format!(
        "Welcome to Groundwork, {username}! You signed in with {}.{}",
        provider.name,
        if identity.email_verified {
            ""
        } else {
            " We sent you a link to confirm your email address."
        }
    );
    start_session(ctx, user_id, next, Some(welcome)).await
}

/// Start a session exactly as password sign-in does.
async fn start_session(
    ctx: &Ctx<'_>,
    user_id: i64,
    next: String,
    message: Option<String>,
) -> AppResult<Reply> {
    let user = users::find_by_id(ctx.db, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if user.disabled != 0 {
        return Err(AppError::BadRequest(
            "This account has been disabled. Contact the site's administrators if you think this is a mistake.".into(),
        ));
    }
    if let Some(message) = crate::accounts::credentials::suspension(ctx.db, user.id).await? {
        return Err(AppError::BadRequest(message));
    }
    // An account with two-step sign-in asks for its code here too.
    crate::accounts::twostep::sign_in_or_ask(ctx, &user, false, next, message).await
}

/// A valid username from a provider's login or name, made unique.
async fn unique_username(db: &Db, hint: &str) -> AppResult<String> {
    let base = username_base(hint);
    if !users::username_taken(db, &base).await? {
        return Ok(base);
    }
    for n in 2..10 {
        let candidate = format!("{base}{n}");
        if !users::username_taken(db, &candidate).await? {
            return Ok(candidate);
        }
    }
    let token = random_token();
    let suffix: String = token
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect();
    Ok(format!("{base}-{suffix}"))
}

/// Keep what a username allows, turn spaces and dots into hyphens, and
/// leave room for a suffix: "Ada Lovelace" → "Ada-Lovelace".
pub fn username_base(hint: &str) -> String {
    let mut out = String::new();
    for c in hint.trim().chars() {
        let c = match c {
            c if c.is_ascii_alphanumeric() || c == '_' => c,
            '-' | '.' | ' ' => '-',
            _ => continue,
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    let mut out: String = out.trim_end_matches('-').chars().take(24).collect();
    out = out.trim_end_matches('-').to_string();
    if out.len() < 3 {
        out = if out.is_empty() {
            "user".into()
        } else {
            format!("{out}_user")
        };
    }
    match parse_username(&out) {
        Ok(name) => name,
        Err(_) => "user".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::username_base;

    #[test]
    fn usernames_are_derived_from_provider_names() {
        assert_eq!(username_base("octocat"), "octocat");
        assert_eq!(username_base("Ada Lovelace"), "Ada-Lovelace");
        assert_eq!(username_base("  jean.dupont "), "jean-dupont");
        assert_eq!(username_base("Zoë"), "Zo_user");
        assert_eq!(username_base("李"), "user");
        assert_eq!(username_base(""), "user");
        assert_eq!(username_base(&"x".repeat(80)).len(), 24);
        assert_eq!(username_base("--a--b--"), "a-b");
    }
}
