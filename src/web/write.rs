//! Each response body that is already in memory leaves in one write.
//!
//! Rocket copies every body into chunks of `Body::DEFAULT_MAX_CHUNK` (4
//! KiB) and hyper writes each chunk with a `writev` of its own, so a 7.8
//! KiB page left in two writes: two TCP segments, two wake-ups of the
//! client, about a fifth of the profile page's CPU time under load.
//! Raising the chunk to the body's size (up to [`ONE_WRITE_MAX`]) sends a
//! page with its headers in one `writev`. Streamed bodies (files, live
//! events) keep Rocket's default: their size is not known up front.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Request, Response};

/// The largest body sent in one chunk: every page; large downloads keep
/// smaller chunks so that a slow client does not pin one big buffer.
pub const ONE_WRITE_MAX: usize = 256 * 1024;

/// The fairing (see the module's documentation).
pub struct OneWrite;

#[rocket::async_trait]
impl Fairing for OneWrite {
    fn info(&self) -> Info {
        Info {
            name: "One write per body",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, _req: &'r Request<'_>, res: &mut Response<'r>) {
        if let Some(size) = res.body().preset_size() {
            let chunk = size.clamp(rocket::response::Body::DEFAULT_MAX_CHUNK, ONE_WRITE_MAX);
            res.set_max_chunk_size(chunk);
        }
    }
}
