//! Password hashing: argon2id at the OWASP parameters, computed on the
//! hasher's own threads (as many as hashes may run at once) so that a burst
//! of sign-ins cannot starve the async workers that serve every other page.
//!
//! Why its own threads, each with argon2's memory kept from hash to hash:
//! an argon2id hash takes 19 MiB, and glibc keeps freed blocks of that size
//! in the allocating thread's arena, fragmented. With argon2 allocating per
//! hash on `spawn_blocking`'s changing threads, 100 sign-ups took a
//! process from 24 MB to 580 MB for good (bench/chat.sh's set-up saw it);
//! on fixed threads still to 200 MB; with the memory kept per thread, to
//! 67 MB (a debug build starting at 43 MB; /proc/PID/status, VmRSS).

use std::cell::RefCell;
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, LazyLock, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rocket::tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// Shortest password accepted, in characters.
pub const MIN_LEN: usize = 8;
/// Longest password accepted, in characters. Never silently truncated.
pub const MAX_LEN: usize = 128;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
});

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Why a new password is refused, in words for the person choosing it.
pub fn policy_error(password: &str, personal: &[&str]) -> Option<String> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Some(format!("Use at least {MIN_LEN} characters."));
    }
    if len > MAX_LEN {
        return Some(format!("Use at most {MAX_LEN} characters."));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Some("This password is one of the most commonly used, so it is easy to guess. Choose another.".into());
    }
    if personal
        .iter()
        .any(|p| !p.is_empty() && lower == p.to_lowercase())
    {
        return Some("Your password must not be your username or email address.".into());
    }
    None
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The hash was made with weaker settings than today's: store a new one.
    pub needs_rehash: bool,
}

/// A hash or a check to run on a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords with a bound on how many run at once.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// To the hashing threads, which end when the last clone is dropped.
    jobs: mpsc::Sender<Job>,
    /// Hashes waiting for a permit and being computed (`/metrics`).
    waiting: prometheus_client::metrics::gauge::Gauge,
    running: prometheus_client::metrics::gauge::Gauge,
}

/// One more on a gauge while it lives (also when a dropped request
/// abandons the wait).
struct Counted<'a>(&'a prometheus_client::metrics::gauge::Gauge);

impl<'a> Counted<'a> {
    fn new(gauge: &'a prometheus_client::metrics::gauge::Gauge) -> Self {
        gauge.inc();
        Counted(gauge)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    hash_phc(b"not a real password, only spends the time", &salt).unwrap_or_default()
});

impl Hasher {
    /// A hasher allowing `concurrency` hashes at once (0: one per core but one).
    pub fn new(concurrency: usize) -> Hasher {
        let n = if concurrency == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get().saturating_sub(1))
                .unwrap_or(1)
                .max(1)
        } else {
            concurrency
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..n {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for a job.
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panic drops the job's answer (an error for its
                        // request), never the thread.
                        Ok(job) => drop(std::panic::catch_unwind(AssertUnwindSafe(job))),
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                log::error!("cannot start a password hashing thread: {e}");
            }
        }
        Hasher {
            permits: Arc::new(Semaphore::new(n)),
            jobs: tx,
            waiting: Default::default(),
            running: Default::default(),
        }
    }

    /// The same hasher, counting its queue in `metrics`.
    pub fn measured(mut self, metrics: &crate::metrics::Metrics) -> Hasher {
        self.waiting = metrics.gauge(
            "password_hashes_waiting",
            "Password hashes waiting for a free hashing thread",
        );
        self.running = metrics.gauge("password_hashes_running", "Password hashes being computed");
        self
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        let waiting = Counted::new(&self.waiting);
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        drop(waiting);
        let _running = Counted::new(&self.running);
        let (tx, rx) = rocket::tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs
            .send(job)
            .map_err(|_| AppError::Internal("hashing threads have stopped".into()))?;
        rx.await
            .map_err(|_| AppError::Internal("a hashing thread stopped mid-hash".into()))
    }

    /// A PHC string for `password` with a fresh salt.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            hash_phc(password.as_bytes(), &salt)
        })
        .await?
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
    }

    /// Check `password` against `stored`. With no stored hash (unknown email,
    /// or an account without a password) a dummy hash is checked instead, so
    /// both cases take the same time and give the same answer.
    pub async fn verify(&self, password: String, stored: Option<String>) -> AppResult<Verified> {
        self.run(move || {
            let real = stored.is_some();
            let phc = stored.unwrap_or_else(|| DUMMY_HASH.clone());
            let Ok(parsed) = PasswordHash::new(&phc) else {
                return Verified {
                    ok: false,
                    needs_rehash: false,
                };
            };
            let ok = verify_phc(password.as_bytes(), &parsed) && real;
            Verified {
                ok,
                needs_rehash: ok && is_outdated(&parsed),
            }
        })
        .await
    }
}

thread_local! {
    /// This thread's argon2 memory, kept from one hash to the next (see the
    /// module's comment): 19 MiB on a hashing thread, for good.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 of `password` and the raw `salt` into `out`, in this thread's
/// kept memory. Memory for parameters above today's (an old or foreign
/// hash) is taken for this hash only.
fn argon2_into(a: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    let need = a.params().block_count();
    if need > Params::default().block_count() {
        return a.hash_password_into(password, salt, out);
    }
    BLOCKS.with_borrow_mut(|blocks| {
        if blocks.len() < need {
            blocks.resize(need, Block::default());
        }
        a.hash_password_into_with_memory(password, salt, out, &mut blocks[..need])
    })
}

/// The PHC string of `password` with `salt` at today's parameters: what
/// `argon2().hash_password` makes, computed in the kept memory.
fn hash_phc(password: &[u8], salt: &SaltString) -> password_hash::Result<String> {
    let a = argon2();
    let salt = salt.as_salt();
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut raw_salt)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&a, password, raw_salt, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(a.params())?,
        salt: Some(salt),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` is the one `stored` was made from, at the stored
/// parameters; the outputs are compared in constant time (`Output`'s `==`).
fn verify_phc(password: &[u8], stored: &PasswordHash<'_>) -> bool {
    let check = || -> password_hash::Result<bool> {
        let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
            return Ok(false);
        };
        let algorithm = Algorithm::try_from(stored.algorithm)?;
        let version = stored
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let a = Argon2::new(algorithm, version, Params::try_from(stored)?);
        let mut raw_salt = [0u8; 64];
        let raw_salt = salt.decode_b64(&mut raw_salt)?;
        let mut out = vec![0u8; expected.len()];
        argon2_into(&a, password, raw_salt, &mut out)?;
        Ok(Output::new(&out)? == expected)
    };
    check().unwrap_or(false)
}

fn is_outdated(hash: &PasswordHash<'_>) -> bool {
    if hash.algorithm.as_str() != "argon2id" || hash.version != Some(Version::V0x13.into()) {
        return true;
    }
    let Ok(params) = Params::try_from(hash) else {
        return true;
    };
    let want = Params::default();
    params.m_cost() < want.m_cost()
        || params.t_cost() < want.t_cost()
        || params.p_cost() < want.p_cost()
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    #[test]
    fn common_and_short_passwords_are_refused_with_a_reason() {
        assert!(policy_error("short", &[]).unwrap().contains("at least 8"));
        assert!(policy_error("password1", &[])
            .unwrap()
            .contains("commonly used"));
        assert!(policy_error("PassWord1", &[])
            .unwrap()
            .contains("commonly used"));
        assert!(policy_error(&"x".repeat(129), &[])
            .unwrap()
            .contains("at most"));
        assert!(policy_error("alice-the-great", &["alice-the-great"]).is_some());
        assert_eq!(policy_error("correct horse battery staple", &[]), None);
        assert_eq!(policy_error(&"é".repeat(128), &[]), None);
    }

    #[test]
    fn hashes_made_in_kept_memory_are_argon2s_own_and_verify_both_ways() {
        let salt = SaltString::generate(&mut OsRng);
        let ours = hash_phc(b"correct horse", &salt).unwrap();
        let theirs = argon2()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert_eq!(ours, theirs);
        // Twice on one thread (the memory reused), and a weaker stored hash.
        let parsed = PasswordHash::new(&theirs).unwrap();
        assert!(verify_phc(b"correct horse", &parsed));
        assert!(verify_phc(b"correct horse", &parsed));
        assert!(!verify_phc(b"correct horsf", &parsed));
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(verify_phc(b"pw", &PasswordHash::new(&weak).unwrap()));
        assert!(!verify_phc(b"px", &PasswordHash::new(&weak).unwrap()));
        assert!(argon2()
            .verify_password(b"correct horse", &PasswordHash::new(&ours).unwrap())
            .is_ok());
    }

    #[test]
    fn weaker_hashes_are_flagged_for_upgrade() {
        let salt = SaltString::generate(&mut OsRng);
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(is_outdated(&PasswordHash::new(&weak).unwrap()));
        let strong = argon2().hash_password(b"pw", &salt).unwrap().to_string();
        assert!(!is_outdated(&PasswordHash::new(&strong).unwrap()));
    }
}
