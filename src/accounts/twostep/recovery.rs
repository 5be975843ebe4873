//! Recovery codes: what a member signs in with when the phone is lost.
//! Ten at a time, shown once; only their hashes are kept; each works once;
//! a new set voids the old one.

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::db::{begin_write, now, DbPool};
use crate::error::AppResult;

/// Codes in a set.
pub const COUNT: usize = 10;
/// Characters of a code, without the dashes: 12 of 32 symbols, 60 bits,
/// far beyond guessing within the sign-in limits.
const LEN: usize = 12;
/// No 0/O or 1/I/L to misread on paper.
const SYMBOLS: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A code as typed, reduced to its symbols: case, spaces and dashes do not
/// matter. None when it cannot be a recovery code.
pub fn normalise(given: &str) -> Option<String> {
    let s: String = given
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (s.len() == LEN && s.bytes().all(|b| SYMBOLS.contains(&b))).then_some(s)
}

/// The stored form of a code of `user_id`. The user id keeps equal codes
/// of two members (however unlikely) apart.
fn hash(user_id: i64, normalised: &str) -> String {
    format!(
        "{:x}",
        Sha256::digest(format!("{user_id}:{normalised}").as_bytes())
    )
}

/// A new code, shown as `abcd-efgh-jkmn`.
fn new_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let raw: Vec<u8> = (0..LEN)
        .map(|_| SYMBOLS[rng.gen_range(0..SYMBOLS.len())])
        .collect();
    raw.chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Make a new set for `user_id`, voiding every earlier code. Returns the
/// codes to show, once.
pub async fn regenerate(db: &DbPool, user_id: i64) -> AppResult<Vec<String>> {
    let codes: Vec<String> = (0..COUNT).map(|_| new_code()).collect();
    let t = now();
    let mut tx = begin_write(db).await?;
    sqlx::query("DELETE FROM twostep_recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for code in &codes {
        let n = normalise(code).unwrap_or_default();
        sqlx::query(
            "INSERT INTO twostep_recovery_codes (user_id, code_hash, used_at, created_at) VALUES ($1, $2, 0, $3)",
        )
        .bind(user_id)
        .bind(hash(user_id, &n))
        .bind(t)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(codes)
}

/// Spend the code `given` of `user_id`: true when it was an unused code of
/// the current set (it is used now, atomically: two requests with one code
/// cannot both win).
pub async fn spend(db: &DbPool, user_id: i64, given: &str) -> AppResult<bool> {
    let Some(n) = normalise(given) else {
        return Ok(false);
    };
    let r = sqlx::query(
        "UPDATE twostep_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at = 0",
    )
    .bind(now())
    .bind(user_id)
    .bind(hash(user_id, &n))
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Whether every code in `codes` is an unused code of `user_id`'s current
/// set (the download of a set just shown offers nothing else).
pub async fn all_current(db: &DbPool, user_id: i64, codes: &[String]) -> AppResult<bool> {
    if codes.is_empty() || codes.len() > COUNT {
        return Ok(false);
    }
    for code in codes {
        let Some(n) = normalise(code) else {
            return Ok(false);
        };
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM twostep_recovery_codes WHERE user_id = $1 AND code_hash = $2 AND used_at = 0",
        )
        .bind(user_id)
        .bind(hash(user_id, &n))
        .fetch_one(&db.pool)
        .await?;
        if found == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// How many unused codes `user_id` has left.
pub async fn remaining(db: &DbPool, user_id: i64) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM twostep_recovery_codes WHERE user_id = $1 AND used_at = 0",
    )
    .bind(user_id)
    .fetch_one(&db.pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_recognised_however_they_are_typed() {
        let code = new_code();
        assert_eq!(code.len(), LEN + 2);
        let n = normalise(&code).unwrap();
        assert_eq!(normalise(&code.to_uppercase()), Some(n.clone()));
        assert_eq!(normalise(&format!(" {} ", code.replace('-', " "))), Some(n));
        assert_eq!(normalise("123456"), None);
        assert_eq!(normalise("abcd-efgh-ijkl"), None, "i and l are not symbols");
        assert_ne!(hash(1, "x"), hash(2, "x"));
    }
}
