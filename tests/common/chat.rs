//! Chat helpers: rooms and messages through the forms, and reading a live
//! event stream (`/chat/events`, `/notifications/events`) a chunk at a time.

use std::time::Duration;

use rocket::http::{Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::tokio::io::AsyncReadExt;

use super::{get, submit, TestApp};

/// Create a room through the form; its id.
pub async fn create_room(client: &Client, name: &str, private: bool) -> i64 {
    let mut fields = vec![("name", name), ("topic", "")];
    if private {
        fields.push(("private", "true"));
    }
    let r = submit(client, "/chat/new", "/chat/rooms", &fields).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    r.location()
        .expect("redirect to the room")
        .trim_start_matches("/chat/rooms/")
        .parse()
        .expect("a room id")
}

/// Post a message through the room's form; its id.
pub async fn post_message(client: &Client, room: i64, body: &str) -> i64 {
    let page = format!("/chat/rooms/{room}");
    let r = submit(
        client,
        &page,
        &format!("/chat/rooms/{room}/messages"),
        &[("body", body)],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let location = r.location().expect("redirect back to the room");
    location
        .split("#m")
        .nth(1)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no message anchor in {location}"))
}

/// Join an open room through its button.
pub async fn join(client: &Client, room: i64) {
    let r = submit(
        client,
        &format!("/chat/rooms/{room}"),
        &format!("/chat/rooms/{room}/join"),
        &[],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

/// Add `username` to a room as its admin, through the members page.
pub async fn invite(admin: &Client, room: i64, username: &str) {
    let page = format!("/chat/rooms/{room}/members");
    let r = submit(admin, &page, &page, &[("username", username)]).await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
}

/// The id of `username`.
pub async fn user_id(app: &TestApp, username: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM users WHERE username = '{username}'"
    ))
    .await
}

/// Many sign-ups from the one test address, and no posting limit in the way.
pub async fn spawn() -> TestApp {
    TestApp::spawn_with(|f| {
        f.merge(("signups_per_address_per_hour", 100))
            .merge(("chat.messages_per_minute", 10_000))
    })
    .await
}

/// A live event stream, read as it arrives.
pub struct Stream<'c> {
    response: LocalResponse<'c>,
    buffer: String,
}

/// One SSE event: its id, name and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<i64>,
    pub event: String,
    pub data: String,
}

impl SseEvent {
    /// The data as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).expect("JSON data")
    }
}

/// Open `/chat/events` in `client`, optionally resuming after `last`.
pub async fn open_stream(client: &Client, last: Option<i64>) -> Stream<'_> {
    let mut req = client.get("/chat/events");
    if let Some(id) = last {
        req = req.header(Header::new("Last-Event-ID", id.to_string()));
    }
    stream_of(req.dispatch().await)
}

/// Open the event stream at `uri` in `client`.
pub async fn open_sse<'c>(client: &'c Client, uri: &str) -> Stream<'c> {
    stream_of(client.get(uri.to_string()).dispatch().await)
}

fn stream_of(response: LocalResponse<'_>) -> Stream<'_> {
    assert_eq!(response.status(), Status::Ok);
    Stream {
        response,
        buffer: String::new(),
    }
}

impl<'c> Stream<'c> {
    /// A response header.
    pub fn header(&self, name: &str) -> Option<String> {
        self.response.headers().get_one(name).map(str::to_string)
    }

    /// The next event with data (comments and heartbeats skipped), or None
    /// when nothing arrives within `wait` or the stream ended.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = rocket::tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
            }
            let mut chunk = [0u8; 4096];
            let read = rocket::tokio::time::timeout_at(deadline, self.response.read(&mut chunk));
            match read.await {
                Ok(Ok(n)) if n > 0 => self.buffer.push_str(&String::from_utf8_lossy(&chunk[..n])),
                _ => return None,
            }
        }
    }

    /// Every event that arrives until `wait` passes with nothing new.
    pub async fn drain(&mut self, wait: Duration) -> Vec<SseEvent> {
        let mut all = Vec::new();
        while let Some(e) = self.next(wait).await {
            all.push(e);
        }
        all
    }

    /// True when the stream ends (end of body) within `wait`; anything it
    /// sends meanwhile is skipped.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = rocket::tokio::time::Instant::now() + wait;
        let mut chunk = [0u8; 4096];
        loop {
            match rocket::tokio::time::timeout_at(deadline, self.response.read(&mut chunk)).await {
                Ok(Ok(0)) => return true,
                Ok(Ok(_)) => continue,
                Ok(Err(_)) | Err(_) => return false,
            }
        }
    }

    /// Whether anything at all (a heartbeat too) arrives within `wait`.
    pub async fn raw(&mut self, wait: Duration) -> Option<String> {
        let mut chunk = [0u8; 4096];
        match rocket::tokio::time::timeout(wait, self.response.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&chunk[..n]).into_owned()),
            _ => None,
        }
    }
}

fn parse(block: &str) -> Option<SseEvent> {
    let mut id = None;
    let mut event = String::from("message");
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id:") {
            id = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    if data.is_empty() {
        return None;
    }
    Some(SseEvent {
        id,
        event,
        data: data.join("\n"),
    })
}

/// A page's body, fetched.
pub async fn page(client: &Client, uri: &str) -> (Status, String) {
    let r = get(client, uri).await;
    (r.status, r.body)
}

/// Open (or find) a direct conversation with `usernames` (comma-separated)
/// through the form; its room id.
pub async fn open_direct(client: &Client, usernames: &str) -> i64 {
    let r = submit(
        client,
        "/chat/direct",
        "/chat/direct",
        &[("usernames", usernames)],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    r.location()
        .expect("redirect to the conversation")
        .trim_start_matches("/chat/rooms/")
        .parse()
        .expect("a room id")
}

/// Post a reply to message `to` through the room's form; the response.
pub async fn post_reply(client: &Client, room: i64, body: &str, to: i64) -> super::Resp {
    submit(
        client,
        &format!("/chat/rooms/{room}?reply={to}"),
        &format!("/chat/rooms/{room}/messages"),
        &[("body", body), ("reply_to", &to.to_string())],
    )
    .await
}
