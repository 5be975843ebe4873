//! The member's own two-step settings, `/account/two-step`: turning it on
//! (QR code, then a first valid code), recovery codes (shown once, offered
//! as a download, regenerated), turning it off. Turning it off and new
//! codes need the password (for an account without one: a current code),
//! and every change is mailed to the member.

use rand::RngCore;
use rocket::form::FromForm;
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::{get, post, routes, Route, State};

use super::views::{CodesPage, ManagePage, SetupPage};
use super::{mails, pending, recovery, repo, totp, SealKey};
use crate::accounts::credentials::{self, Confirmation};
use crate::accounts::repo::{self as users, User};
use crate::accounts::Hasher;
use crate::config::AppConfig;
use crate::db::{now, Db};
use crate::error::{AppError, AppResult};
use crate::session::{CsrfForm, CurrentUser, NoFields};
use crate::web::ratelimit::{self, Limit};
use crate::web::{Ctx, Layout, Reply};

/// The settings page.
pub const PAGE: &str = "/account/two-step";

async fn me_as_user(db: &Db, me: &CurrentUser) -> AppResult<User> {
    users::find_by_id(db, me.id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn manage_page(
    db: &Db,
    layout: Layout,
    user: &User,
    error: Option<String>,
) -> AppResult<ManagePage> {
    Ok(ManagePage {
        layout,
        enabled: repo::is_enabled(db, user.id).await?,
        remaining: recovery::remaining(db, user.id).await?,
        has_password: user.password_hash.is_some(),
        error,
    })
}

#[get("/account/two-step")]
async fn manage(db: &Db, layout: Layout, me: CurrentUser) -> AppResult<Reply> {
    let user = me_as_user(db, &me).await?;
    Reply::page(&manage_page(db, layout, &user, None).await?)
}

/// The site's name in authenticator apps: the host of `base_url`.
fn issuer(cfg: &AppConfig) -> String {
    let origin = cfg.origin();
    origin
        .split_once("://")
        .map_or(origin, |(_, host)| host)
        .to_string()
}

fn setup_page(
    cfg: &AppConfig,
    layout: Layout,
    me: &CurrentUser,
    secret: &[u8],
    error: Option<String>,
) -> AppResult<Reply> {
    let b32 = totp::base32(secret);
    let uri = totp::otpauth_uri(&issuer(cfg), &me.email, &b32);
    let svg = totp::qr_svg(&uri).ok_or_else(|| AppError::Internal("drawing the QR code".into()))?;
    // The renderer starts with an XML declaration, which has no place in HTML.
    let svg = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
    let page = SetupPage {
        layout,
        qr_svg: svg.replacen("<svg", "<svg role=\"img\" aria-labelledby=\"qr-label\"", 1),
        secret: totp::grouped(&b32),
        error: error.clone(),
    };
    let status = if error.is_some() {
        Status::UnprocessableEntity
    } else {
        Status::Ok
    };
    Reply::page_with(status, &page)
}

/// "Turn on two-step sign-in": a new secret, not yet in force, and the
/// page with its QR code.
#[post("/account/two-step/setup", data = "<_form>")]
async fn setup(
    db: &Db,
    cfg: &State<AppConfig>,
    key: &State<SealKey>,
    layout: Layout,
    me: CurrentUser,
    _form: CsrfForm<NoFields>,
) -> AppResult<Reply> {
    let mut secret = [0u8; totp::SECRET_LEN];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    if !repo::begin_setup(db, me.id, &key.seal(me.id, &secret)?).await? {
        return Ok(Reply::failure(PAGE, "Two-step sign-in is already on."));
    }
    setup_page(cfg, layout, &me, &secret, None)
}

/// The code form as sent.
#[derive(Debug, FromForm)]
struct CodeForm {
    #[field(default = String::new())]
    code: String,
}

/// The first code from the app: right, and two-step sign-in is on and the
/// recovery codes are shown; wrong, and nothing changes.
#[post("/account/two-step/enable", data = "<form>")]
async fn enable(
    ctx: Ctx<'_>,
    key: &State<SealKey>,
    layout: Layout,
    me: CurrentUser,
    form: CsrfForm<CodeForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let db = ctx.db;
    let Some(row) = repo::find(db, me.id).await?.filter(|r| r.enabled == 0) else {
        return Ok(Reply::failure(
            PAGE,
            "There is no authenticator being set up (or two-step sign-in is already on).",
        ));
    };
    let secret = key
        .open(me.id, &row.secret_sealed)
        .ok_or_else(|| AppError::Internal("an authenticator secret does not open".into()))?;
    let accepted = match totp::matching_step(&secret, &form.code, now(), 0) {
        Some(step) => repo::accept_step(db, me.id, step, true).await?,
        None => false,
    };
    if !accepted {
        let error =
            "That code is not right. Type the 6-digit code your app shows now for this site.";
        return setup_page(ctx.cfg, layout, &me, &secret, Some(error.into()));
    }
    let codes = recovery::regenerate(db, me.id).await?;
    let change = "Two-step sign-in was turned on for your account.";
    mails::tell(
        db,
        &ctx.cfg.base_url,
        ctx.wakeup,
        (me.id, &me.username, &me.email),
        change,
    )
    .await?;
    Reply::page(&CodesPage {
        layout,
        codes,
        title: "Two-step sign-in is on".into(),
    })
}

/// Confirming a change: the password, or a current code.
#[derive(Debug, FromForm)]
pub(super) struct ConfirmForm {
    #[field(default = String::new())]
    pub(super) password: String,
    #[field(default = String::new())]
    pub(super) code: String,
}

/// Check the signed-in person again: with the password when the account
/// has one ([`credentials::confirm`]), else with a current code or a
/// recovery code (counted against a limit of its own), else (no password,
/// no authenticator: an account made through a provider, with passkeys)
/// with a fresh sign-in on this session, by a passkey or a provider.
/// None: confirmed. Also used by removing a passkey.
pub(super) async fn confirm(
    ctx: &Ctx<'_>,
    hasher: &Hasher,
    key: &SealKey,
    user: &User,
    session_id: i64,
    form: ConfirmForm,
) -> AppResult<Option<String>> {
    if user.password_hash.is_some() || !repo::is_enabled(ctx.db, user.id).await? {
        let confirmed =
            credentials::confirm(ctx.db, ctx.cfg, hasher, user, session_id, form.password);
        return Ok(match confirmed.await? {
            Confirmation::Confirmed => None,
            Confirmation::WrongPassword => Some("That is not your password.".into()),
            Confirmation::NotRecent => Some(credentials::fresh_sign_in_needed("change it")),
        });
    }
    let limit = Limit {
        max: ctx.cfg.login_max_failures_per_account,
        window: ctx.cfg.login_failure_window,
    };
    let counted =
        ratelimit::attempt(ctx.db, &format!("twostep:confirm:{}", user.id), limit).await?;
    if !pending::verify(ctx.db, key, user.id, &form.code).await? {
        return Ok(Some("That code is not right.".into()));
    }
    ratelimit::forgive(ctx.db, counted).await?;
    Ok(None)
}

/// Turn two-step sign-in off (confirmed first).
#[post("/account/two-step/disable", data = "<form>")]
async fn disable(
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    key: &State<SealKey>,
    layout: Layout,
    me: CurrentUser,
    form: CsrfForm<ConfirmForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let user = me_as_user(ctx.db, &me).await?;
    if let Some(problem) = confirm(&ctx, hasher, key, &user, me.session_id, form).await? {
        let page = manage_page(ctx.db, layout, &user, Some(problem)).await?;
        return Reply::page_with(Status::UnprocessableEntity, &page);
    }
    if !repo::remove(ctx.db, user.id).await? {
        return Ok(Reply::failure(PAGE, "Two-step sign-in was not on."));
    }
    let change = "Two-step sign-in was turned off for your account.";
    mails::tell(
        ctx.db,
        &ctx.cfg.base_url,
        ctx.wakeup,
        (user.id, &user.username, &user.email),
        change,
    )
    .await?;
    Ok(Reply::success(PAGE, "Two-step sign-in is off."))
}

/// A new set of recovery codes (confirmed first); the old ones stop working.
#[post("/account/two-step/recovery-codes", data = "<form>")]
async fn new_codes(
    ctx: Ctx<'_>,
    hasher: &State<Hasher>,
    key: &State<SealKey>,
    layout: Layout,
    me: CurrentUser,
    form: CsrfForm<ConfirmForm>,
) -> AppResult<Reply> {
    let CsrfForm(form) = form;
    let user = me_as_user(ctx.db, &me).await?;
    if !repo::is_enabled(ctx.db, user.id).await? {
        return Ok(Reply::failure(PAGE, "Two-step sign-in is not on."));
    }
    if let Some(problem) = confirm(&ctx, hasher, key, &user, me.session_id, form).await? {
        let page = manage_page(ctx.db, layout, &user, Some(problem)).await?;
        return Reply::page_with(Status::UnprocessableEntity, &page);
    }
    let codes = recovery::regenerate(ctx.db, user.id).await?;
    let change = "New recovery codes were made for your account; the old ones no longer work.";
    mails::tell(
        ctx.db,
        &ctx.cfg.base_url,
        ctx.wakeup,
        (user.id, &user.username, &user.email),
        change,
    )
    .await?;
    Reply::page(&CodesPage {
        layout,
        codes,
        title: "New recovery codes".into(),
    })
}

/// The codes just shown, sent back for the download.
#[derive(Debug, FromForm)]
struct DownloadForm {
    #[field(default = String::new())]
    codes: String,
}

/// A text file to save.
struct TextFile(String);

impl<'r> Responder<'r, 'static> for TextFile {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .header(ContentType::Plain)
            .header(Header::new(
                "Content-Disposition",
                "attachment; filename=\"recovery-codes.txt\"",
            ))
            .sized_body(self.0.len(), std::io::Cursor::new(self.0))
            .ok()
    }
}

/// The recovery codes just shown, as a text file. Only the hashes are
/// kept, so the page sends the codes back; they are checked against the
/// member's unused codes, so nothing else can be echoed.
#[post("/account/two-step/recovery-codes.txt", data = "<form>")]
async fn download(
    db: &Db,
    cfg: &State<AppConfig>,
    me: CurrentUser,
    form: CsrfForm<DownloadForm>,
) -> AppResult<TextFile> {
    let CsrfForm(form) = form;
    let codes: Vec<String> = form.codes.split_whitespace().map(str::to_string).collect();
    if !recovery::all_current(db, me.id, &codes).await? {
        return Err(AppError::BadRequest(
            "These are not your current recovery codes. Make a new set on your two-step sign-in page.".into(),
        ));
    }
    let mut text = format!(
        "Recovery codes for {} at {}\nEach code works once, in place of a code from your authenticator app.\n\n",
        me.email,
        issuer(cfg)
    );
    for code in codes {
        text.push_str(&code);
        text.push('\n');
    }
    Ok(TextFile(text))
}

/// The routes of the settings pages.
pub fn routes() -> Vec<Route> {
    routes![manage, setup, enable, disable, new_codes, download]
}
