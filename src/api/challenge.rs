//! `WWW-Authenticate: Bearer` on the API's 401 answers (RFC 6750 section
//! 3): `error="invalid_token"` when a token was sent but is bad, expired or
//! revoked, the bare challenge when none was. RealWorld's endpoints under
//! `/api` keep their own `WWW-Authenticate: Token`.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::{Request, Response};

use super::guards::sent_token;
use crate::web::wants_json;

/// The realm every challenge names.
const REALM: &str = "groundwork";

/// The response fairing that adds the challenge.
pub struct BearerChallenge;

#[rocket::async_trait]
impl Fairing for BearerChallenge {
    fn info(&self) -> Info {
        Info {
            name: "Bearer challenge",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let path = req.uri().path();
        let realworld = path == "/api" || path.starts_with("/api/");
        if res.status() != Status::Unauthorized
            || realworld
            || !wants_json(req)
            || res.headers().contains("WWW-Authenticate")
        {
            return;
        }
        let challenge = if sent_token(req) {
            format!("Bearer realm=\"{REALM}\", error=\"invalid_token\"")
        } else {
            format!("Bearer realm=\"{REALM}\"")
        };
        res.set_header(Header::new("WWW-Authenticate", challenge));
    }
}
