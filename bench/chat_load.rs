//! Chat load client (bench/chat.sh): opens many `/chat/events` streams on
//! one or more running app processes, posts messages at a steady rate
//! through the JSON API, and reports how long each message took from the
//! moment its POST was sent to its arrival on each stream of its room.
//!
//! `cargo run --release --example chat-load -- BASE[,BASE2...] [streams]
//! [rooms] [members] [rate per second] [seconds]`
//!
//! Setup, through the API: `members` accounts sign up (bearer tokens);
//! member `r < rooms` creates room `r`, every other member joins room
//! `m % rooms`. Stream `s` is member `s % members`'s, opened on base
//! `s % bases` (so with two processes half the streams are on each). Message
//! `n` goes to room `n % rooms`, posted by its creator through base
//! `n % bases`. It prints one `key value` per line.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::tokio;
use serde_json::{json, Value};

const PASSWORD: &str = "bench chat correct horse battery";

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> T {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
}

struct Shared {
    sent: Mutex<HashMap<u64, Instant>>,
    latencies: Mutex<Vec<f64>>,
    connected: AtomicUsize,
    failed: AtomicUsize,
}

async fn api(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Result<(u16, Value), String> {
    let mut req = http
        .request(method, &url)
        .header("Accept", "application/json")
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = r.status().as_u16();
    let v = r.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, v))
}

async fn stream(http: reqwest::Client, url: String, token: String, shared: Arc<Shared>) {
    let r = match http
        .get(&url)
        .bearer_auth(&token)
        .header("Accept", "text/event-stream")
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            eprintln!("stream: {}", r.status());
            shared.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Err(e) => {
            eprintln!("stream: {e}");
            shared.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let mut r = r;
    let mut buffer = String::new();
    let mut first = true;
    while let Ok(Some(chunk)) = r.chunk().await {
        let now = Instant::now();
        if first {
            first = false;
            shared.connected.fetch_add(1, Ordering::Relaxed);
        }
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            for line in block.lines() {
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                let Ok(v) = serde_json::from_str::<Value>(data.trim()) else {
                    continue;
                };
                let body = v["message"]["body"].as_str().unwrap_or("");
                let Some(n) = body.strip_prefix("b ").and_then(|n| n.parse::<u64>().ok()) else {
                    continue;
                };
                let sent = shared.sent.lock().unwrap().get(&n).copied();
                if let Some(at) = sent {
                    let ms = now.duration_since(at).as_secs_f64() * 1000.0;
                    shared.latencies.lock().unwrap().push(ms);
                }
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn run(args: Vec<String>) -> Result<(), String> {
    let bases: Vec<String> = args
        .get(1)
        .ok_or("usage: chat-load BASE[,BASE2] [streams] [rooms] [members] [rate] [seconds]")?
        .split(',')
        .map(str::to_string)
        .collect();
    let streams: usize = arg(&args, 2, 1000);
    let rooms: usize = arg(&args, 3, 50);
    let members: usize = arg(&args, 4, 100).max(rooms);
    let rate: u64 = arg(&args, 5, 50);
    let seconds: u64 = arg(&args, 6, 30);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())?;
    let tag = std::process::id();

    // Accounts, a few at a time (each sign-up hashes a password).
    let started = Instant::now();
    let mut tokens = vec![String::new(); members];
    for chunk in (0..members).collect::<Vec<_>>().chunks(4) {
        let mut tasks = Vec::new();
        for &m in chunk {
            let http = http.clone();
            let url = format!("{}/signup", bases[0]);
            tasks.push(tokio::spawn(async move {
                let body = json!({"username": format!("b{tag}m{m}"),
                    "email": format!("b{tag}m{m}@example.org"), "password": PASSWORD});
                (m, api(&http, reqwest::Method::POST, url, None, body).await)
            }));
        }
        for t in tasks {
            let (m, r) = t.await.map_err(|e| e.to_string())?;
            let (status, v) = r?;
            if status != 201 {
                return Err(format!("sign-up {m}: {status} {v}"));
            }
            tokens[m] = v["token"].as_str().unwrap_or_default().to_string();
        }
    }
    let mut room_ids = Vec::new();
    for (r, token) in tokens.iter().enumerate().take(rooms) {
        let (status, v) = api(
            &http,
            reqwest::Method::POST,
            format!("{}/chat/rooms", bases[0]),
            Some(token),
            json!({"name": format!("bench {tag} {r}"), "topic": ""}),
        )
        .await?;
        if status != 201 {
            return Err(format!("room {r}: {status} {v}"));
        }
        room_ids.push(v["id"].as_i64().unwrap_or(0));
    }
    for (m, token) in tokens.iter().enumerate().skip(rooms) {
        let room = room_ids[m % rooms];
        let (status, v) = api(
            &http,
            reqwest::Method::POST,
            format!("{}/chat/rooms/{room}/members", bases[0]),
            Some(token),
            json!({}),
        )
        .await?;
        if status != 201 && status != 204 {
            return Err(format!("join {m}: {status} {v}"));
        }
    }
    println!("setup_seconds {:.1}", started.elapsed().as_secs_f64());

    // The streams.
    let shared = Arc::new(Shared {
        sent: Mutex::new(HashMap::new()),
        latencies: Mutex::new(Vec::new()),
        connected: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
    });
    let mut per_room_streams = vec![0usize; rooms];
    for s in 0..streams {
        let m = s % members;
        per_room_streams[m % rooms] += 1;
        let url = format!("{}/chat/events", bases[s % bases.len()]);
        tokio::spawn(stream(http.clone(), url, tokens[m].clone(), shared.clone()));
        if s % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let wait = Instant::now();
    while shared.connected.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed) < streams
        && wait.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("streams_open {}", shared.connected.load(Ordering::Relaxed));
    println!("streams_refused {}", shared.failed.load(Ordering::Relaxed));

    // The posts, at a steady rate.
    let total = rate * seconds;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let post_ms = Arc::new(Mutex::new(Vec::new()));
    let post_failed = Arc::new(AtomicUsize::new(0));
    let mut expected = 0usize;
    let mut posts = Vec::new();
    for n in 0..total {
        tick.tick().await;
        let r = (n as usize) % rooms;
        expected += per_room_streams[r];
        let url = format!(
            "{}/chat/rooms/{}/messages",
            bases[(n as usize) % bases.len()],
            room_ids[r]
        );
        let (http, token, shared) = (http.clone(), tokens[r].clone(), shared.clone());
        let (post_ms, post_failed) = (post_ms.clone(), post_failed.clone());
        posts.push(tokio::spawn(async move {
            let at = Instant::now();
            shared.sent.lock().unwrap().insert(n, at);
            let body = json!({"body": format!("b {n}")});
            match api(&http, reqwest::Method::POST, url, Some(&token), body).await {
                Ok((201, _)) => post_ms
                    .lock()
                    .unwrap()
                    .push(at.elapsed().as_secs_f64() * 1000.0),
                Ok((status, v)) => {
                    if post_failed.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("post {n}: {status} {v}");
                    }
                }
                Err(e) => {
                    if post_failed.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("post {n}: {e}");
                    }
                }
            }
        }));
    }
    for p in posts {
        let _ = p.await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut lat = shared.latencies.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    let mut pm = post_ms.lock().unwrap().clone();
    pm.sort_by(f64::total_cmp);
    println!("messages_posted {}", pm.len());
    println!("posts_failed {}", post_failed.load(Ordering::Relaxed));
    println!("deliveries_expected {expected}");
    println!("deliveries_received {}", lat.len());
    println!("delivery_p50_ms {:.1}", percentile(&lat, 0.5));
    println!("delivery_p99_ms {:.1}", percentile(&lat, 0.99));
    println!(
        "delivery_max_ms {:.1}",
        lat.last().copied().unwrap_or(f64::NAN)
    );
    println!("post_p50_ms {:.1}", percentile(&pm, 0.5));
    println!("post_p99_ms {:.1}", percentile(&pm, 0.99));
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    if let Err(e) = rt.block_on(run(args)) {
        eprintln!("chat-load: {e}");
        std::process::exit(1);
    }
}
