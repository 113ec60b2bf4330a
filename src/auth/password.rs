//! Password hashing with Argon2id, on threads of its own.
//!
//! A hash is tens of milliseconds of CPU and 19 MiB of memory. As many run at once as there are
//! hashing threads (by default half the cores), so logins, however many, always leave the other
//! cores to the workers answering every other request.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use tokio::sync::oneshot;

use crate::error::AppError;

/// OWASP's minimum for Argon2id: 19 MiB of memory, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string()).map_err(AppError::internal)
}

/// True when `password` matches `stored`. Verification uses the parameters recorded in the hash.
pub fn verify_blocking(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct Passwords {
    /// Work for the hashing threads; as many hashes run at once as there are threads.
    hashers: mpsc::Sender<Job>,
    /// Checked against when the account is unknown, so an unknown email costs a wrong password's time.
    decoy_hash: Arc<str>,
    /// How many hashes and verifications have been handed to the hashing threads: what logins and
    /// activations have cost, for the tests that bound it.
    work: Arc<Work>,
}

#[derive(Default)]
struct Work {
    hashes: AtomicU64,
    verifications: AtomicU64,
}

impl Passwords {
    /// Starts `threads` hashing threads (each hash holds 19 MiB while it runs).
    pub fn new(threads: usize) -> Result<Self, AppError> {
        let decoy = hash_blocking(&crate::auth::tokens::random_token())?;
        Ok(Passwords { hashers: start_hashers(threads.max(1))?, decoy_hash: decoy.into(), work: Arc::default() })
    }

    /// Passwords hashed so far (new passwords; the decoy made at start-up is not counted).
    pub fn hashes(&self) -> u64 {
        self.work.hashes.load(Ordering::Relaxed)
    }

    /// Passwords verified so far, against a stored hash or the decoy.
    pub fn verifications(&self) -> u64 {
        self.work.verifications.load(Ordering::Relaxed)
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.work.hashes.fetch_add(1, Ordering::Relaxed);
        self.on_hasher(move || hash_blocking(&password)).await?
    }

    /// Verifies against `stored`, or against a decoy when there is no stored hash.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        self.work.verifications.fetch_add(1, Ordering::Relaxed);
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.decoy_hash.to_string());
        let matches = self.on_hasher(move || verify_blocking(&password, &hash)).await?;
        Ok(known && matches)
    }

    /// Runs `work` on a hashing thread, in arrival order, and waits for it without blocking.
    async fn on_hasher<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        self.hashers.send(job).map_err(|_| AppError::internal("the password hashing threads have stopped"))?;
        answered.await.map_err(|_| AppError::internal("a password hash failed"))
    }
}

fn start_hashers(threads: usize) -> Result<mpsc::Sender<Job>, AppError> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..threads {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("password-hash-{n}"))
            .spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
                    let Ok(job) = next else { return };
                    // A panicking hash drops its answer (the request gets a 500); the thread goes on.
                    let _ = catch_unwind(AssertUnwindSafe(job));
                }
            })
            .map_err(AppError::internal)?;
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash = hash_blocking("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_blocking("correct horse battery", &hash));
        assert!(!verify_blocking("correct horse batterY", &hash));
        assert!(!verify_blocking("anything", "not a hash"));
    }

    #[actix_web::test]
    async fn hashes_run_on_the_hashing_threads() {
        let passwords = Passwords::new(1).unwrap();
        let hash = passwords.hash("correct horse battery".into()).await.unwrap();
        assert!(passwords.verify("correct horse battery".into(), Some(hash.clone())).await.unwrap());
        assert!(!passwords.verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!passwords.verify("anything".into(), None).await.unwrap(), "the decoy never matches");
        assert_eq!((passwords.hashes(), passwords.verifications()), (1, 3), "each one counted");
        let thread = passwords.on_hasher(|| std::thread::current().name().map(String::from)).await.unwrap();
        assert_eq!(thread.as_deref(), Some("password-hash-0"));
    }
}
