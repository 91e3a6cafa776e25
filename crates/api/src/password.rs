//! Argon2id password hashing. Slow on purpose (19 MiB and tens of milliseconds per call): call it
//! from `spawn_blocking`, and for requests from outside through a [`HashGate`], which caps how many
//! run at once and how many may wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// A PHC string (`$argon2id$v=19$m=…`) with a fresh random salt.
pub fn hash(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// True when `password` matches the PHC string; a malformed hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A fixed argon2id hash, with the same parameters as [`hash`], of a random password nobody kept.
/// A sign-in for an unknown (or disabled) user is verified against it, so it costs the same
/// hashing as one for a real user. A test checks its parameters still match [`hash`]'s.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$KVakLR0joMZu8bpDrCU6jw$tdNC0XivFAr/PICvUg5Lz2mhPw6hP43lah5PDxbiyPU";

/// Hashes running at once by default: one per core (each holds 19 MiB while it runs).
pub fn default_hash_permits() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Verifications that may wait for a core before more are turned away (`503` + `Retry-After`).
pub const MAX_WAITING_HASHES: usize = 64;

/// Caps concurrent verifications at `permits` and admits at most `permits + waiting` at a time
/// (running or waiting), so a flood of sign-ins is answered at once instead of piling up.
pub struct HashGate {
    permits: Arc<Semaphore>,
    admitted: AtomicUsize,
    capacity: usize,
}

/// The gate is full: the caller should answer "busy, retry shortly".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// A place in the gate (running or waiting); given back when dropped.
pub struct Admission {
    gate: Arc<HashGate>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.gate.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashGate {
    pub fn new(permits: usize, waiting: usize) -> Arc<Self> {
        let permits = permits.max(1);
        Arc::new(HashGate {
            permits: Arc::new(Semaphore::new(permits)),
            admitted: AtomicUsize::new(0),
            capacity: permits + waiting,
        })
    }

    /// A place, or `Busy` when `permits + waiting` verifications are already admitted.
    pub fn admit(self: &Arc<Self>) -> Result<Admission, Busy> {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        Ok(Admission { gate: self.clone() })
    }
}

impl Admission {
    /// Waits for a core, then runs `work` on the blocking pool. The place and the core are held
    /// by the blocking task itself, so a caller that goes away early does not free them while the
    /// hash still runs.
    async fn on_core<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit: OwnedSemaphorePermit = self
            .gate
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _held = (self, permit);
            work()
        })
        .await
        .map_err(|e| HashError(e.to_string()))
    }

    pub async fn verify(self, password: String, phc: String) -> Result<bool, HashError> {
        self.on_core(move || verify(&password, &phc)).await
    }

    /// Hashes a new password, under the same gate as verification.
    pub async fn hash(self, password: String) -> Result<String, HashError> {
        self.on_core(move || hash(&password)).await?
    }
}

/// Words too common to be a password (as given, or with the username in them).
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "11111111",
    "00000000",
    "88888888",
    "66666666",
    "qwertyuiop",
    "qwerty123",
    "1qaz2wsx",
    "1q2w3e4r5t",
    "abc123456",
    "a123456789",
    "admin123",
    "admin1234",
    "admin12345",
    "woaini1314",
    "iloveyou",
    "zhangsan123",
    "jiesu12345",
    "12345678910",
];

/// A password the policy refuses, as the problem naming the field it came in.
pub fn check_policy(
    username: &str,
    password: &str,
    field: &str,
) -> Result<(), crate::problem::ApiError> {
    match policy_refusal(username, password) {
        Some(why) => Err(crate::problem::ApiError::unprocessable(
            "weak_password",
            format!("the {}: {why}", field.replace('_', " ")),
        )
        .on_field(field)),
        None => Ok(()),
    }
}

/// The answer when the hash gate has no room: retry shortly.
pub fn busy() -> crate::problem::ApiError {
    crate::problem::ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "too many passwords are being hashed or checked; retry shortly",
    )
}

/// Hashes a password through the node's gate (argon2id, one hash per core at a time).
pub async fn hash_through(
    gate: &Arc<HashGate>,
    password: String,
) -> Result<String, crate::problem::ApiError> {
    gate.admit()
        .map_err(|_| busy())?
        .hash(password)
        .await
        .map_err(crate::problem::ApiError::internal)
}

/// Why a new password is refused, if it is: at least 10 characters, at most 128; not the
/// username nor containing it; not one of the commonest passwords.
pub fn policy_refusal(username: &str, password: &str) -> Option<&'static str> {
    let n = password.chars().count();
    let lower = password.to_lowercase();
    if n < 10 {
        Some("at least 10 characters")
    } else if n > 128 {
        Some("at most 128 characters")
    } else if username.chars().count() >= 4 && lower.contains(&username.to_lowercase()) {
        // A name of three letters or fewer turns up in passwords by chance (and cannot be a
        // whole password of ten).
        Some("must not contain the username")
    } else if COMMON.contains(&lower.as_str()) {
        Some("too common a password")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_policy_refuses_short_common_and_username_passwords() {
        assert_eq!(
            policy_refusal("wang", "short1"),
            Some("at least 10 characters")
        );
        assert_eq!(
            policy_refusal("wang", "1234567890"),
            Some("too common a password")
        );
        assert_eq!(
            policy_refusal("wang", "PassWord"),
            Some("at least 10 characters")
        );
        assert_eq!(
            policy_refusal("wangwu", "xWangWu-2026"),
            Some("must not contain the username")
        );
        assert_eq!(policy_refusal("wang", "丹江口市接诉即办2026"), None);
        assert_eq!(
            policy_refusal("wu", "wu-丹江口市-2026"),
            None,
            "too short to count"
        );
        assert_eq!(
            policy_refusal("wang", &"x".repeat(129)),
            Some("at most 128 characters")
        );
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = super::hash("丹江口-2026").unwrap();
        let b = super::hash("丹江口-2026").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(super::verify("丹江口-2026", &a));
        assert!(!super::verify("丹江口-2025", &a));
        assert!(!super::verify("x", "not a hash"));
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let real = super::hash("x").unwrap();
        let params = |phc: &str| phc.rsplitn(3, '$').nth(2).map(str::to_string);
        assert_eq!(
            params(DUMMY_HASH),
            params(&real),
            "same algorithm and parameters"
        );
        assert!(params(&real).is_some());
        assert!(!super::verify("", DUMMY_HASH));
    }

    #[tokio::test]
    async fn the_gate_turns_away_what_it_cannot_hold() {
        let gate = HashGate::new(1, 2);
        let a = gate.admit().unwrap();
        let b = gate.admit().unwrap();
        let c = gate.admit().unwrap();
        assert_eq!(
            gate.admit().err(),
            Some(Busy),
            "one running and two waiting"
        );
        drop(b);
        let d = gate.admit().unwrap();
        assert!(
            a.verify("x".into(), DUMMY_HASH.into())
                .await
                .is_ok_and(|ok| !ok)
        );
        let _e = gate.admit().unwrap();
        assert_eq!(gate.admit().err(), Some(Busy));
        drop((c, d));
        assert!(gate.admit().is_ok());
    }
}
