//! A fake sign-in provider on 127.0.0.1 for tests: one small Rocket server
//! that plays GitHub (`/user`, `/user/emails`), Google (`/userinfo`) and an
//! OpenID Connect provider (discovery, JWKS, signed ID tokens) at once.
//! Its token endpoint checks the client secret, the redirect URI, single
//! use of the code and the PKCE verifier against the S256 challenge, the
//! way a real provider does. It can be told to fail in the ways real ones do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rocket::figment::Figment;
use rocket::form::Form;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::content::RawJson;
use rocket::response::Redirect;
use rocket::serde::json::{json, Json, Value};
use rocket::{get, post, routes, Shutdown, State};
use sha2::{Digest, Sha256};

use super::oauth_keys::{OTHER_KEY, SIGNING_KEY, SIGNING_KEY_E, SIGNING_KEY_N};
use super::{get, Resp, TestApp};
use rocket::local::asynchronous::Client;

/// The client credentials the fake knows, per provider.
pub const GITHUB_ID: &str = "gh-client";
pub const GITHUB_SECRET: &str = "gh-secret";
pub const GOOGLE_ID: &str = "google-client.apps.example";
pub const GOOGLE_SECRET: &str = "google-secret";
pub const OIDC_ID: &str = "groundwork";
pub const OIDC_SECRET: &str = "oidc-secret";
const KID: &str = "test-key-1";

/// A person with an account at the provider.
#[derive(Debug, Clone)]
pub struct FakeUser {
    /// GitHub's numeric id, Google's and OIDC's `sub`.
    pub id: String,
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

impl FakeUser {
    /// A user whose email the provider has verified.
    pub fn verified(id: &str, login: &str, email: &str) -> FakeUser {
        FakeUser {
            id: id.into(),
            login: login.into(),
            name: format!("{login} Example"),
            email: Some(email.into()),
            email_verified: true,
        }
    }
    /// The same, with an email the provider has not verified.
    pub fn unverified(id: &str, login: &str, email: &str) -> FakeUser {
        FakeUser {
            email_verified: false,
            ..FakeUser::verified(id, login, email)
        }
    }
}

/// How the token endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenMode {
    Normal,
    /// 500 with an HTML body, as a provider that is down.
    ServerError,
    /// 200 with a body that is not JSON.
    BadJson,
}

/// What is wrong with the ID tokens the fake issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenMode {
    Good,
    BadSignature,
    WrongAudience,
    WrongNonce,
    WrongIssuer,
    Expired,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    openid: bool,
    user: FakeUser,
}

#[derive(Default)]
struct Inner {
    base: String,
    users: HashMap<String, FakeUser>,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, FakeUser>,
    token_mode: Option<TokenMode>,
    id_token_mode: Option<IdTokenMode>,
    /// Every refusal the token endpoint gave, for assertions.
    refusals: Vec<String>,
    token_requests: usize,
}

type Shared = Arc<Mutex<Inner>>;

/// The running fake provider.
pub struct FakeProvider {
    /// `http://127.0.0.1:<port>`: also the OIDC issuer.
    pub base: String,
    inner: Shared,
    shutdown: Shutdown,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

fn random() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

impl FakeProvider {
    /// Start the server on a free port and wait until it accepts connections.
    pub async fn start() -> FakeProvider {
        let inner: Shared = Arc::default();
        let (tx, rx) = rocket::tokio::sync::oneshot::channel();
        let tx = Mutex::new(Some(tx));
        let figment = Figment::from(rocket::Config::debug_default())
            .merge(("address", "127.0.0.1"))
            .merge(("port", 0))
            .merge(("log_level", "off"))
            .merge(("shutdown.ctrlc", false))
            .merge(("shutdown.grace", 0))
            .merge(("shutdown.mercy", 0));
        let server = rocket::custom(figment)
            .manage(inner.clone())
            .mount(
                "/",
                routes![
                    authorize,
                    token,
                    github_user,
                    github_emails,
                    userinfo,
                    discovery,
                    jwks
                ],
            )
            .attach(rocket::fairing::AdHoc::on_liftoff(
                "report port",
                move |r| {
                    let port = r.config().port;
                    let shutdown = r.shutdown();
                    let tx = tx.lock().unwrap().take();
                    Box::pin(async move {
                        if let Some(tx) = tx {
                            let _ = tx.send((port, shutdown));
                        }
                    })
                },
            ));
        rocket::tokio::spawn(server.launch());
        let (port, shutdown) = rx.await.expect("the fake provider starts");
        let base = format!("http://127.0.0.1:{port}");
        // Liftoff runs once the socket listens; make sure it accepts.
        for _ in 0..50 {
            if rocket::tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            rocket::tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        inner.lock().unwrap().base = base.clone();
        FakeProvider {
            base,
            inner,
            shutdown,
        }
    }

    /// The app's settings for all three providers, pointed at this server.
    pub fn configure(&self, f: Figment) -> Figment {
        let b = &self.base;
        f.merge(("oauth.github.client_id", GITHUB_ID))
            .merge(("oauth.github.client_secret", GITHUB_SECRET))
            .merge(("oauth.github.auth_url", format!("{b}/authorize")))
            .merge(("oauth.github.token_url", format!("{b}/token")))
            .merge(("oauth.github.api_url", b.clone()))
            .merge(("oauth.google.client_id", GOOGLE_ID))
            .merge(("oauth.google.client_secret", GOOGLE_SECRET))
            .merge(("oauth.google.auth_url", format!("{b}/authorize")))
            .merge(("oauth.google.token_url", format!("{b}/token")))
            .merge(("oauth.google.userinfo_url", format!("{b}/userinfo")))
            .merge(("oauth.oidc.name", "Example SSO"))
            .merge(("oauth.oidc.issuer", b.clone()))
            .merge(("oauth.oidc.client_id", OIDC_ID))
            .merge(("oauth.oidc.client_secret", OIDC_SECRET))
    }

    /// Register a person at the provider.
    pub fn add_user(&self, user: FakeUser) {
        self.inner
            .lock()
            .unwrap()
            .users
            .insert(user.id.clone(), user);
    }

    /// Change how the token endpoint answers.
    pub fn set_token_mode(&self, mode: TokenMode) {
        self.inner.lock().unwrap().token_mode = Some(mode);
    }

    /// Change what the ID tokens look like.
    pub fn set_id_token_mode(&self, mode: IdTokenMode) {
        self.inner.lock().unwrap().id_token_mode = Some(mode);
    }

    /// Why the token endpoint refused requests so far.
    pub fn refusals(&self) -> Vec<String> {
        self.inner.lock().unwrap().refusals.clone()
    }

    /// How many requests reached the token endpoint.
    pub fn token_requests(&self) -> usize {
        self.inner.lock().unwrap().token_requests
    }
}

#[get("/authorize?<q..>")]
fn authorize(q: HashMap<String, String>, inner: &State<Shared>) -> Result<Redirect, Status> {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let redirect_uri = get("redirect_uri");
    let state = get("state");
    let known = [GITHUB_ID, GOOGLE_ID, OIDC_ID].contains(&get("client_id").as_str());
    if get("response_type") != "code"
        || !known
        || redirect_uri.is_empty()
        || state.is_empty()
        || get("code_challenge_method") != "S256"
        || get("code_challenge").is_empty()
    {
        return Err(Status::BadRequest);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let enc = |s: &str| rocket::http::RawStr::new(s).percent_encode().to_string();
    if q.contains_key("deny") {
        return Ok(Redirect::to(format!(
            "{redirect_uri}{sep}error=access_denied&error_description=The+user+denied&state={}",
            enc(&state)
        )));
    }
    let mut inner = inner.lock().unwrap();
    let user = inner
        .users
        .get(&get("login_as"))
        .cloned()
        .ok_or(Status::Forbidden)?;
    let code = random();
    inner.codes.insert(
        code.clone(),
        Grant {
            client_id: get("client_id"),
            redirect_uri: redirect_uri.clone(),
            challenge: get("code_challenge"),
            nonce: q.get("nonce").cloned(),
            openid: get("scope").split(' ').any(|s| s == "openid"),
            user,
        },
    );
    Ok(Redirect::to(format!(
        "{redirect_uri}{sep}code={}&state={}",
        enc(&code),
        enc(&state)
    )))
}

/// HTTP Basic client credentials, if sent.
struct Basic(Option<(String, String)>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Basic {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let creds = req
            .headers()
            .get_one("Authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
            });
        Outcome::Success(Basic(creds))
    }
}

/// Bearer access token.
struct Bearer(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Bearer {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match req
            .headers()
            .get_one("Authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
        {
            Some(t) => Outcome::Success(Bearer(t.to_string())),
            None => Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

fn refuse(inner: &mut Inner, status: Status, error: &str) -> (Status, RawJson<String>) {
    inner.refusals.push(error.to_string());
    (status, RawJson(json!({ "error": error }).to_string()))
}

#[post("/token", data = "<form>")]
fn token(
    form: Form<HashMap<String, String>>,
    basic: Basic,
    inner: &State<Shared>,
) -> (Status, RawJson<String>) {
    let mut inner = inner.lock().unwrap();
    inner.token_requests += 1;
    match inner.token_mode.unwrap_or(TokenMode::Normal) {
        TokenMode::ServerError => {
            return (
                Status::InternalServerError,
                RawJson("<html>Internal error</html>".into()),
            )
        }
        TokenMode::BadJson => return (Status::Ok, RawJson("{\"access_token\": ".into())),
        TokenMode::Normal => {}
    }
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (client_id, secret) = match basic.0 {
        Some(c) => c,
        None => (get("client_id"), get("client_secret")),
    };
    let expected = match client_id.as_str() {
        GITHUB_ID => GITHUB_SECRET,
        GOOGLE_ID => GOOGLE_SECRET,
        OIDC_ID => OIDC_SECRET,
        _ => return refuse(&mut inner, Status::Unauthorized, "invalid_client"),
    };
    if secret != expected {
        return refuse(&mut inner, Status::Unauthorized, "invalid_client");
    }
    if get("grant_type") != "authorization_code" {
        return refuse(&mut inner, Status::BadRequest, "unsupported_grant_type");
    }
    // A code works once.
    let Some(grant) = inner.codes.remove(&get("code")) else {
        return refuse(&mut inner, Status::BadRequest, "invalid_grant");
    };
    if grant.client_id != client_id || grant.redirect_uri != get("redirect_uri") {
        return refuse(&mut inner, Status::BadRequest, "invalid_grant");
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
    if get("code_verifier").is_empty() || computed != grant.challenge {
        return refuse(&mut inner, Status::BadRequest, "invalid_grant:pkce");
    }
    let access = random();
    inner.tokens.insert(access.clone(), grant.user.clone());
    let mut body = json!({ "access_token": access, "token_type": "bearer", "expires_in": 3600 });
    if grant.openid {
        let mode = inner.id_token_mode.unwrap_or(IdTokenMode::Good);
        body["id_token"] = Value::String(id_token(&inner.base, &grant, mode));
    }
    (Status::Ok, RawJson(body.to_string()))
}

fn id_token(issuer: &str, grant: &Grant, mode: IdTokenMode) -> String {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let now = time_now();
    let u = &grant.user;
    let mut claims = json!({
        "iss": if mode == IdTokenMode::WrongIssuer { "https://evil.example" } else { issuer },
        "sub": u.id,
        "aud": if mode == IdTokenMode::WrongAudience { "someone-else" } else { grant.client_id.as_str() },
        "iat": now - 10,
        "exp": if mode == IdTokenMode::Expired { now - 3600 } else { now + 300 },
        "preferred_username": u.login,
        "name": u.name,
        "email_verified": u.email_verified,
    });
    if let Some(e) = &u.email {
        claims["email"] = Value::String(e.clone());
    }
    match (&grant.nonce, mode) {
        (Some(_), IdTokenMode::WrongNonce) => claims["nonce"] = "not-the-nonce".into(),
        (Some(n), _) => claims["nonce"] = Value::String(n.clone()),
        _ => {}
    }
    let pem = if mode == IdTokenMode::BadSignature {
        OTHER_KEY
    } else {
        SIGNING_KEY
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.into());
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("test key");
    encode(&header, &claims, &key).expect("sign ID token")
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn user_for(inner: &State<Shared>, token: &Bearer) -> Result<FakeUser, Status> {
    inner
        .lock()
        .unwrap()
        .tokens
        .get(&token.0)
        .cloned()
        .ok_or(Status::Unauthorized)
}

#[get("/user")]
fn github_user(token: Bearer, inner: &State<Shared>) -> Result<Json<Value>, Status> {
    let u = user_for(inner, &token)?;
    let id: i64 = u.id.parse().map_err(|_| Status::InternalServerError)?;
    Ok(Json(
        json!({ "id": id, "login": u.login, "name": u.name, "email": Value::Null }),
    ))
}

#[get("/user/emails")]
fn github_emails(token: Bearer, inner: &State<Shared>) -> Result<Json<Value>, Status> {
    let u = user_for(inner, &token)?;
    let mut emails = vec![
        // A verified secondary address must never be taken for the primary.
        json!({ "email": format!("{}-old@example.net", u.login), "primary": false, "verified": true }),
    ];
    if let Some(e) = &u.email {
        emails.push(json!({ "email": e, "primary": true, "verified": u.email_verified }));
    }
    Ok(Json(Value::Array(emails)))
}

#[get("/userinfo")]
fn userinfo(token: Bearer, inner: &State<Shared>) -> Result<Json<Value>, Status> {
    let u = user_for(inner, &token)?;
    Ok(Json(json!({
        "sub": u.id,
        "email": u.email,
        "email_verified": u.email_verified,
        "name": u.name,
        "given_name": u.login,
    })))
}

#[get("/.well-known/openid-configuration")]
fn discovery(inner: &State<Shared>) -> Json<Value> {
    let b = inner.lock().unwrap().base.clone();
    Json(json!({
        "issuer": b,
        "authorization_endpoint": format!("{b}/authorize"),
        "token_endpoint": format!("{b}/token"),
        "userinfo_endpoint": format!("{b}/userinfo"),
        "jwks_uri": format!("{b}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

#[get("/jwks")]
fn jwks() -> Json<Value> {
    Json(json!({ "keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
        "n": SIGNING_KEY_N, "e": SIGNING_KEY_E,
    }]}))
}

// ------------------------------------------------- the person in the browser

/// The app's default base_url: every redirect URI starts with it.
pub const ORIGIN: &str = "http://localhost:8000";

/// A fake provider and an app with all three providers pointed at it.
pub async fn setup() -> (FakeProvider, TestApp) {
    let fake = FakeProvider::start().await;
    let app = TestApp::spawn_with(|f| fake.configure(f)).await;
    (fake, app)
}

/// `GET /auth/...`: the provider's authorization URL it redirects to.
pub async fn begin(client: &Client, path: &str) -> String {
    let r = get(client, path).await;
    assert_eq!(r.status, Status::SeeOther, "{path}: {}", r.body);
    r.location().expect("a redirect").to_string()
}

/// A query parameter of a URL.
pub fn query(url: &str, key: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Play the person at the provider (`login_as=<id>` or `deny=1`); returns
/// the path on our site the provider sends the browser back to.
pub async fn at_provider(authorize_url: &str, extra: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = http
        .get(format!("{authorize_url}&{extra}"))
        .send()
        .await
        .expect("the fake provider answers");
    assert_eq!(r.status().as_u16(), 303, "the provider refused the request");
    let location = r.headers()["location"].to_str().expect("ascii").to_string();
    location
        .strip_prefix(ORIGIN)
        .expect("back to our exact redirect URI")
        .to_string()
}

/// The whole flow in `client`'s browser; returns the callback's response.
pub async fn sign_in_with(client: &Client, provider: &str, user_id: &str) -> Resp {
    let url = begin(client, &format!("/auth/{provider}")).await;
    let callback = at_provider(&url, &format!("login_as={user_id}")).await;
    get(client, &callback).await
}

/// Who `client` is signed in as, if anyone.
pub async fn whoami(client: &Client) -> Option<String> {
    let r = get(client, "/profile").await;
    if r.status != Status::Ok {
        return None;
    }
    let at = r.body.find("Signed in as <strong>")? + "Signed in as <strong>".len();
    let end = r.body[at..].find('<')?;
    Some(r.body[at..at + end].to_string())
}
