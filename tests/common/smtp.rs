//! A real SMTP server on 127.0.0.1 for tests: it speaks enough of RFC 5321
//! for lettre, keeps what it receives, and can be told to answer with
//! temporary (4xx) or permanent (5xx) errors, or to be slow.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use rocket::tokio::net::{TcpListener, TcpStream};
use rocket::tokio::task::JoinHandle;

/// How the sink answers `RCPT TO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// 451: try again later.
    Temporary,
    /// 550: mailbox unavailable.
    Permanent,
}

/// One message as received (tests/common/mail.rs reads it).
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA, with dot-stuffing undone.
    pub data: String,
}

struct State {
    mode: Mode,
    received: Vec<Received>,
    /// How long the server takes to confirm each message it received.
    delay: Duration,
}

/// The running sink.
pub struct SmtpSink {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

/// A free port on 127.0.0.1 with nothing listening on it (yet).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl SmtpSink {
    /// Start on a free port.
    pub async fn start() -> SmtpSink {
        Self::start_on(0).await
    }

    /// Start on `port` (0: any free port).
    pub async fn start_on(port: u16) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("sink binds");
        let addr = listener.local_addr().expect("sink addr");
        let state = Arc::new(Mutex::new(State {
            mode: Mode::Accept,
            received: Vec::new(),
            delay: Duration::ZERO,
        }));
        let shared = state.clone();
        let task = rocket::tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let st = shared.clone();
                rocket::tokio::spawn(async move {
                    let _ = session(stream, st).await;
                });
            }
        });
        SmtpSink { addr, state, task }
    }

    /// `smtp://127.0.0.1:PORT`, for `mail.smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Change how the sink answers.
    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Take `delay` to confirm each message (it counts as received at once,
    /// as a slow server that has the message but has not said so yet).
    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Wait until at least `n` messages arrived (or `timeout` passed).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        super::mail::wait_for_mail(self, n, timeout, |_| true).await
    }

    /// Stop listening (connections already open are dropped too).
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let mode = state.lock().unwrap().mode;
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail_from = cmd[10..].trim().to_string();
            rcpt_to.clear();
            b"250 2.1.0 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            match mode {
                Mode::Accept => {
                    rcpt_to.push(cmd[8..].trim().to_string());
                    b"250 2.1.5 OK\r\n"
                }
                Mode::Temporary => b"451 4.3.0 Temporary failure, try again later\r\n",
                Mode::Permanent => b"550 5.1.1 Mailbox unavailable\r\n",
            }
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            let delay = {
                let mut st = state.lock().unwrap();
                st.received.push(Received {
                    mail_from: mail_from.clone(),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                });
                st.delay
            };
            if !delay.is_zero() {
                rocket::tokio::time::sleep(delay).await;
            }
            b"250 2.0.0 Queued\r\n"
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 2.0.0 OK\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 Command not recognised\r\n"
        };
        write.write_all(reply).await?;
    }
}
