//! Product images: uploaded by admins (JPEG, PNG or WebP, told apart by
//! their first bytes, never by the file's name or the browser's claim),
//! kept in the database so every app process serves them, and served with
//! a strong `ETag` and `Cache-Control` (304 when the browser has it).

use rocket::data::{self, Data, FromData};
use rocket::form::{Form, FromForm};
use rocket::fs::TempFile;
use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::tokio::io::AsyncReadExt;
use rocket::{get, post, routes, Route};
use sha2::{Digest, Sha256};

use super::Shop;
use crate::db::{now, Db};
use crate::error::{AppError, AppResult, GuardError};
use crate::session::{check_csrf, AdminUser};
use crate::web::Reply;

/// The image type its first bytes show, or None.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[derive(FromForm)]
struct ImageForm<'r> {
    csrf_token: Option<String>,
    image: TempFile<'r>,
}

/// The upload (multipart, so the CSRF token is checked here), within
/// `shop.image_max_bytes` and Rocket's `file` limit.
struct Upload(Vec<u8>);

#[rocket::async_trait]
impl<'r> FromData<'r> for Upload {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let fail = |e: AppError| data::Outcome::Error((GuardError::stash(req, e), ()));
        if !req.content_type().is_some_and(|ct| ct.is_form_data()) {
            return fail(AppError::UnsupportedMediaType);
        }
        let max = req
            .rocket()
            .state::<Shop>()
            .map_or(1024 * 1024, |s| s.image_max_bytes);
        let form = match Form::<ImageForm<'r>>::from_data(req, data).await {
            data::Outcome::Success(f) => f.into_inner(),
            _ => {
                return fail(AppError::BadRequest(format!(
                    "Choose an image file of at most {} KiB.",
                    max / 1024
                )))
            }
        };
        if let Err(e) = check_csrf(req, form.csrf_token.as_deref()).await {
            return fail(e);
        }
        if form.image.len() > max {
            return fail(AppError::PayloadTooLarge);
        }
        let mut bytes = Vec::new();
        let read = match form.image.open().await {
            Ok(f) => f.take(max + 1).read_to_end(&mut bytes).await.map(|_| ()),
            Err(e) => Err(e),
        };
        match read {
            Ok(()) if bytes.len() as u64 > max => fail(AppError::PayloadTooLarge),
            Ok(()) => data::Outcome::Success(Upload(bytes)),
            Err(e) => fail(AppError::Internal(format!("reading the upload: {e}"))),
        }
    }
}

#[post("/admin/shop/products/<id>/images", data = "<upload>")]
async fn upload(db: &Db, _admin: AdminUser, id: i64, upload: Upload) -> AppResult<Reply> {
    let back = format!("/admin/shop/products/{id}");
    let Some(kind) = sniff(&upload.0) else {
        return Ok(Reply::failure(
            back,
            "That file is not a JPEG, PNG or WebP image. Nothing was stored.",
        ));
    };
    let etag = format!("{:x}", Sha256::digest(&upload.0));
    let stored = sqlx::query(
        "INSERT INTO shop_images (product_id, content_type, etag, bytes, created_at) \
         SELECT id, $1, $2, $3, $4 FROM shop_products WHERE id = $5",
    )
    .bind(kind)
    .bind(&etag[..32])
    .bind(&upload.0)
    .bind(now())
    .bind(id)
    .execute(&db.pool)
    .await?;
    if stored.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(Reply::success(back, "Image added."))
}

/// The `If-None-Match` header, if sent.
struct IfNoneMatch(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IfNoneMatch {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(IfNoneMatch(
            req.headers().get_one("If-None-Match").map(str::to_string),
        ))
    }
}

/// An image, or "not modified".
enum Image {
    Bytes(String, String, Vec<u8>),
    NotModified(String),
}

impl<'r> Responder<'r, 'static> for Image {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let cache = Header::new("Cache-Control", "public, max-age=86400");
        match self {
            Image::NotModified(etag) => Response::build()
                .status(Status::NotModified)
                .header(Header::new("ETag", etag))
                .header(cache)
                .ok(),
            Image::Bytes(kind, etag, bytes) => Response::build()
                .header(ContentType::parse_flexible(&kind).unwrap_or(ContentType::Binary))
                .header(Header::new("ETag", etag))
                .header(Header::new("X-Content-Type-Options", "nosniff"))
                .header(cache)
                .sized_body(bytes.len(), std::io::Cursor::new(bytes))
                .ok(),
        }
    }
}

#[get("/shop/images/<id>")]
async fn serve(db: &Db, id: i64, inm: IfNoneMatch) -> AppResult<Image> {
    let tag: Option<String> = sqlx::query_scalar("SELECT etag FROM shop_images WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    let etag = format!("\"{}\"", tag.ok_or(AppError::NotFound)?);
    if inm.0.is_some_and(|h| {
        h.split(',')
            .any(|t| t.trim().trim_start_matches("W/") == etag)
    }) {
        return Ok(Image::NotModified(etag));
    }
    let (kind, bytes): (String, Vec<u8>) =
        sqlx::query_as("SELECT content_type, bytes FROM shop_images WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?
            .ok_or(AppError::NotFound)?;
    Ok(Image::Bytes(kind, etag, bytes))
}

/// Upload and serving.
pub fn routes() -> Vec<Route> {
    routes![upload, serve]
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn images_are_known_by_their_first_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
    }
}
