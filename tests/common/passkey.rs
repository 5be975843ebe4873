//! A software authenticator for the passkey tests: it does what a phone or
//! security key does in a WebAuthn ceremony (an ES256 key pair, the CBOR
//! attestation object with format "none", signed assertions with a
//! counter), written here on its own from the specification so that the
//! app's side (webauthn-rs) checks real ceremonies. User presence and
//! user verification are always reported.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use rocket::http::{ContentType, Header};
use rocket::local::asynchronous::Client;
use serde_cbor_2::Value;
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use super::{get, Resp};

/// The origin of the test site (`base_url`'s default), which the browser
/// writes into every clientDataJSON.
pub const ORIGIN: &str = "http://localhost:8000";
/// Its relying party id.
pub const RP_ID: &str = "localhost";

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .expect("base64url")
}

/// One discoverable credential, as an authenticator keeps it.
pub struct SoftKey {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    /// The user handle the site gave it (base64url, as the options carry it).
    pub user_handle: String,
    pub counter: u32,
    /// What it writes as the origin (a phishing site would write its own).
    pub origin: String,
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
        .to_string()
        .into_bytes()
}

fn auth_data(flags: u8, counter: u32, attested: Option<&[u8]>) -> Vec<u8> {
    let mut data = Sha256::digest(RP_ID.as_bytes()).to_vec();
    data.push(flags);
    data.extend_from_slice(&counter.to_be_bytes());
    if let Some(a) = attested {
        data.extend_from_slice(a);
    }
    data
}

fn cbor_map(entries: Vec<(Value, Value)>) -> Value {
    Value::Map(entries.into_iter().collect::<BTreeMap<_, _>>())
}

impl SoftKey {
    /// Answer `navigator.credentials.create` with `options` (the JSON the
    /// app sent): a new key pair, and the credential for the app.
    pub fn create(options: &Json) -> (SoftKey, Json) {
        let pk = &options["publicKey"];
        let challenge = pk["challenge"].as_str().expect("a challenge");
        assert_eq!(pk["rp"]["id"], RP_ID);
        assert_eq!(
            pk["authenticatorSelection"]["residentKey"], "required",
            "a passkey must be discoverable: {options}"
        );
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let mut credential_id = vec![0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut credential_id);
        let point = key.verifying_key().to_encoded_point(false);
        let cose = cbor_map(vec![
            (Value::Integer(1), Value::Integer(2)),
            (Value::Integer(3), Value::Integer(-7)),
            (Value::Integer(-1), Value::Integer(1)),
            (
                Value::Integer(-2),
                Value::Bytes(point.x().unwrap().to_vec()),
            ),
            (
                Value::Integer(-3),
                Value::Bytes(point.y().unwrap().to_vec()),
            ),
        ]);
        let mut attested = vec![0u8; 16]; // AAGUID: none
        attested.extend_from_slice(&(credential_id.len() as u16).to_be_bytes());
        attested.extend_from_slice(&credential_id);
        attested.extend_from_slice(&serde_cbor_2::to_vec(&cose).unwrap());
        // UP | UV | AT
        let data = auth_data(0x45, 0, Some(&attested));
        let attestation = cbor_map(vec![
            (Value::Text("fmt".into()), Value::Text("none".into())),
            (Value::Text("attStmt".into()), cbor_map(vec![])),
            (Value::Text("authData".into()), Value::Bytes(data)),
        ]);
        let soft = SoftKey {
            key,
            credential_id,
            user_handle: pk["user"]["id"].as_str().expect("a user id").to_string(),
            counter: 0,
            origin: ORIGIN.into(),
        };
        let answer = json!({
            "id": b64(&soft.credential_id),
            "rawId": b64(&soft.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&serde_cbor_2::to_vec(&attestation).unwrap()),
                "clientDataJSON": b64(&client_data("webauthn.create", challenge, ORIGIN)),
                "transports": ["internal"],
            },
            "extensions": {},
        });
        (soft, answer)
    }

    /// Answer `navigator.credentials.get` with `options`: an assertion
    /// signed by this key, carrying its user handle.
    pub fn get(&mut self, options: &Json) -> Json {
        let challenge = options["publicKey"]["challenge"]
            .as_str()
            .expect("a challenge");
        self.counter += 1;
        let data = auth_data(0x05, self.counter, None);
        let client = client_data("webauthn.get", challenge, &self.origin);
        let mut signed = data.clone();
        signed.extend_from_slice(&Sha256::digest(&client));
        let signature: DerSignature = self.key.sign(&signed);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&data),
                "clientDataJSON": b64(&client),
                "signature": b64(signature.as_bytes()),
                "userHandle": self.user_handle,
            },
            "extensions": {},
        })
    }
}

/// POST `body` as JSON to `uri` with the page's CSRF token in
/// `X-CSRF-Token`, as static/js/passkeys.js does. `page` is a page of the
/// site to take the token from.
pub async fn post_json(browser: &Client, page: &str, uri: &str, body: &Json) -> (Resp, Json) {
    let token = get(browser, page).await.csrf();
    assert!(!token.is_empty(), "no CSRF token on {page}");
    let r = browser
        .post(uri)
        .header(ContentType::JSON)
        .header(Header::new("Accept", "application/json"))
        .header(Header::new("X-CSRF-Token", token))
        .body(body.to_string())
        .dispatch()
        .await;
    let r = Resp::read(r).await;
    let json = serde_json::from_str(&r.body).unwrap_or(Json::Null);
    (r, json)
}

/// Add a passkey named `name` on the profile of the signed-in `browser`:
/// both requests of the ceremony. Returns the key and the last answer.
pub async fn add_passkey(browser: &Client, name: &str) -> (SoftKey, Resp) {
    let page = "/account/passkeys";
    let (r, options) = post_json(
        browser,
        page,
        "/account/passkeys/register",
        &json!({ "name": name }),
    )
    .await;
    assert_eq!(r.status.code, 200, "{}", r.body);
    let (key, answer) = SoftKey::create(&options);
    let (done, _) = post_json(browser, page, "/account/passkeys/register/finish", &answer).await;
    (key, done)
}

/// "Sign in with a passkey" on `/login` with `key`: both requests.
pub async fn sign_in_with(browser: &Client, key: &mut SoftKey) -> (Resp, Json) {
    let (r, options) = post_json(browser, "/login", "/login/passkey", &json!({})).await;
    assert_eq!(r.status.code, 200, "{}", r.body);
    let answer = key.get(&options);
    post_json(browser, "/login", "/login/passkey/finish", &answer).await
}
