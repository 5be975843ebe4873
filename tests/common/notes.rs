//! Notes helpers: create a note through the form; build a notes zip in the
//! test and post it to `/notes/import` as the page's multipart form does.

use std::io::Write;

use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::Client;

use super::{get, submit, Resp};

/// Create a note through the form; its id.
pub async fn create_note(client: &Client, fields: &[(&str, &str)]) -> i64 {
    let r = submit(client, "/notes/new", "/notes", fields).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let location = r.location().expect("redirect to the note");
    location
        .trim_start_matches("/notes/")
        .parse()
        .expect("a note id")
}

/// A zip of `count` Markdown notes, deflated: note `i` is titled
/// `{prefix} {i}` and its body is `body(i)`.
pub fn notes_zip(count: usize, prefix: &str, body: impl Fn(usize) -> String) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..count {
        zip.start_file(format!("{i:05}.md"), options)
            .expect("zip entry");
        let text = format!("---\ntitle: \"{prefix} {i}\"\n---\n{}", body(i));
        zip.write_all(text.as_bytes()).expect("zip write");
    }
    zip.finish().expect("zip").into_inner()
}

/// POST `zip` to `/notes/import` as a multipart form, with the import
/// page's CSRF token.
pub async fn import_zip(client: &Client, zip: &[u8]) -> Resp {
    let token = get(client, "/notes/import").await.csrf();
    let boundary = "notes-test-boundary-7d1f";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.zip\"\r\n\
             Content-Type: application/zip\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(zip);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = ContentType::new("multipart", "form-data").with_params(("boundary", boundary));
    let r = client
        .post("/notes/import")
        .header(ct)
        .body(body)
        .dispatch()
        .await;
    Resp::read(r).await
}
