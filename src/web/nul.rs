//! Addresses holding an encoded NUL (`%00`) are refused with 400 before any
//! route sees them. No stored name, slug, tag or search ever contains NUL,
//! and Postgres refuses it in a query (a 500 otherwise), so one check here
//! covers every path and query parameter of every feature.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::Method;
use rocket::request::{FromRequest, Outcome};
use rocket::{get, routes, Data, Request, Route};

use crate::error::{AppError, GuardError};

/// Where a refused request is sent; under `/api` it stays under `/api`, so
/// that the API's own catcher answers in the API's error format.
const REFUSED: &str = "/__refused-address";

/// True when the raw path or query holds `%00`.
fn has_encoded_nul(uri: &Origin<'_>) -> bool {
    let has = |s: &str| {
        s.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
    };
    has(uri.path().as_str()) || uri.query().is_some_and(|q| has(q.as_str()))
}

/// The fairing that sends such requests to [`refused`].
pub struct RefuseNul;

#[rocket::async_trait]
impl Fairing for RefuseNul {
    fn info(&self) -> Info {
        Info {
            name: "Refuse NUL in addresses",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        if !has_encoded_nul(req.uri()) {
            return;
        }
        let under_api = req.uri().path().as_str().starts_with("/api/");
        let target = if under_api {
            format!("/api{REFUSED}")
        } else {
            REFUSED.to_string()
        };
        if let Ok(uri) = Origin::parse_owned(target) {
            req.set_method(Method::Get);
            req.set_uri(uri);
        }
    }
}

/// Always fails with the 400, so the catcher for the address renders it.
struct Refused;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Refused {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let error = AppError::BadRequest(
            "The address contains a NUL character (%00), which nothing here can match.".into(),
        );
        Outcome::Error((GuardError::stash(req, error), ()))
    }
}

#[get("/__refused-address")]
fn refused(_refused: Refused) {}

/// The route refused requests land on; mount it at `/` and at `/api`.
pub fn routes() -> Vec<Route> {
    routes![refused]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_encoded_nul_is_refused() {
        let nul = |s: &str| has_encoded_nul(&Origin::parse(s).unwrap());
        assert!(nul("/blog/a%00b"));
        assert!(nul("/notes?tag=x%00"));
        assert!(nul("/api/articles?author=%00"));
        assert!(!nul("/blog/100%2500"));
        assert!(!nul("/notes?q=100"));
    }
}
