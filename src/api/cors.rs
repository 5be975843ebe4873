//! CORS for the configured origins only. With none configured this stage
//! is not attached at all, and no `Access-Control-Allow-Origin` is sent.
//! Credentials are never allowed: the API takes bearer tokens, not cookies.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::{options, routes, Build, Rocket};

/// Adds `Access-Control-Allow-Origin` for an allowed `Origin`.
struct Cors;

/// CORS for exactly these origins (`scheme://host[:port]`): the response
/// fairing, the preflight route and the list they read.
pub fn attach(rocket: Rocket<Build>, origins: &[String]) -> Rocket<Build> {
    let origins = origins
        .iter()
        .map(|o| o.trim_end_matches('/').to_string())
        .collect();
    rocket
        .manage(CorsOrigins(origins))
        .attach(Cors)
        .mount("/", routes![preflight])
}

fn allowed_origin<'a>(req: &'a Request<'_>) -> Option<&'a str> {
    let origin = req.headers().get_one("Origin")?;
    let cors = req.rocket().state::<CorsOrigins>()?;
    cors.0.iter().any(|o| o == origin).then_some(origin)
}

/// The allowed origins, for the preflight route.
struct CorsOrigins(Vec<String>);

#[rocket::async_trait]
impl Fairing for Cors {
    fn info(&self) -> Info {
        Info {
            name: "CORS (configured origins)",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.adjoin_header(Header::new("Vary", "Origin"));
        if let Some(origin) = allowed_origin(req) {
            res.set_header(Header::new(
                "Access-Control-Allow-Origin",
                origin.to_string(),
            ));
            res.set_header(Header::new("Access-Control-Expose-Headers", "Retry-After"));
        }
    }
}

/// The answer to a preflight: what an allowed origin may send.
struct Preflight(bool);

impl<'r> Responder<'r, 'static> for Preflight {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut res = Response::build();
        res.status(Status::NoContent);
        if self.0 {
            res.header(Header::new(
                "Access-Control-Allow-Methods",
                "GET, POST, PUT, DELETE",
            ))
            .header(Header::new(
                "Access-Control-Allow-Headers",
                "Authorization, Content-Type, X-Requested-With",
            ))
            .header(Header::new("Access-Control-Max-Age", "600"));
        }
        res.ok()
    }
}

#[options("/<_..>")]
fn preflight(req_origin: PreflightOrigin) -> Preflight {
    Preflight(req_origin.0)
}

/// Whether the preflight comes from an allowed origin.
struct PreflightOrigin(bool);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for PreflightOrigin {
    type Error = std::convert::Infallible;
    async fn from_request(
        req: &'r Request<'_>,
    ) -> rocket::request::Outcome<Self, std::convert::Infallible> {
        rocket::request::Outcome::Success(PreflightOrigin(allowed_origin(req).is_some()))
    }
}
