//! Passwords: argon2id with OWASP's parameters (m = 19,456 KiB, t = 2, p = 1, argon2's
//! defaults), stored as a PHC string, hashed off the async workers.
//!
//! A hash costs about 17 ms of one core and 19 MiB. Run on a tokio worker it would stall
//! every check queued behind it, so hashing runs on a few threads of its own, started on
//! first use: a flood of logins queues for them and cannot slow Authorize, and memory stays
//! at one hash per thread (tokio's blocking pool would spread the hashes over up to 512
//! threads, each keeping its own allocator arena).
//!
//! An unknown user is checked against a dummy hash (made once, on first need), so that a
//! login for a name that does not exist costs the same time as a wrong password.

use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Argon2, PasswordHash};

/// NIST SP 800-63B: at least 8; tessera asks 12. No composition rules.
pub const MIN_PASSWORD_BYTES: usize = 12;
/// Long enough for any passphrase, short enough that hashing one is never a burden.
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("hashing a password failed")]
    Hashing,
    #[error("the password hashing pool stopped")]
    PoolStopped,
    /// [`QUEUE`] checks are already waiting.
    #[error("too many password checks queued")]
    Busy,
}

type Job = Box<dyn FnOnce() + Send>;

/// Most checks waiting for a thread: at 17 ms each on one thread, over four seconds of work.
/// Past it a login answers RESOURCE_EXHAUSTED at once rather than wait longer than a client.
const QUEUE: usize = 256;

/// Hashes and verifies passwords on a bounded pool of threads.
#[derive(Clone)]
pub struct Passwords {
    parallel: usize,
    /// Where jobs go; the threads start with the first one.
    pool: Arc<OnceLock<Option<mpsc::SyncSender<Job>>>>,
    /// A hash of a random password, verified when the user is unknown.
    dummy: Arc<OnceLock<String>>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("parallel", &self.parallel)
            .finish_non_exhaustive()
    }
}

/// `parallel` threads taking jobs in turn; they end when the sender is dropped. `None` when
/// no thread could be started.
fn start_pool(parallel: usize) -> Option<mpsc::SyncSender<Job>> {
    let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
    let queue = Arc::new(Mutex::new(queue));
    let mut started = 0;
    for _ in 0..parallel {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .name("tessera-argon2".into())
            .spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match next {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        started += usize::from(spawned.is_ok());
    }
    (started > 0).then_some(jobs)
}

fn hash_now(password: &[u8]) -> Result<String, PasswordError> {
    Argon2::default()
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// Whether `password` matches the PHC string; a malformed string matches nothing.
fn verify_now(password: &[u8], phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password, &parsed).is_ok(),
        Err(_) => false,
    }
}

impl Passwords {
    /// A pool running at most `parallel` hashes at once (see `LoginConfig::hash_parallelism`).
    pub fn new(parallel: usize) -> Passwords {
        Passwords {
            parallel: parallel.max(1),
            pool: Arc::default(),
            dummy: Arc::default(),
        }
    }

    /// Runs `work` on the pool. A caller that stops waiting (a client gone, a request
    /// timeout) leaves its job queued, skipped when its turn comes; one already running
    /// finishes: the number of hashes running never exceeds the threads.
    async fn on_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let pool = self
            .pool
            .get_or_init(|| start_pool(self.parallel))
            .as_ref()
            .ok_or(PasswordError::PoolStopped)?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // Its caller gave up while it queued: no one would read the answer.
            if !done.is_closed() {
                let _ = done.send(work());
            }
        });
        pool.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => PasswordError::Busy,
            mpsc::TrySendError::Disconnected(_) => PasswordError::PoolStopped,
        })?;
        result.await.map_err(|_| PasswordError::PoolStopped)
    }

    /// The PHC string for `password`, with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.on_pool(move || hash_now(password.as_bytes())).await?
    }

    /// Whether `password` matches `phc`; with no hash (an unknown user, or one without a
    /// password), the dummy is checked instead and the answer is `false` either way.
    pub async fn verify(
        &self,
        password: String,
        phc: Option<String>,
    ) -> Result<bool, PasswordError> {
        let dummy = self.dummy.clone();
        self.on_pool(move || match phc {
            Some(phc) => verify_now(password.as_bytes(), &phc),
            None => {
                let dummy = dummy.get_or_init(|| {
                    let mut random = [0u8; 32];
                    // Without randomness the dummy is still a real hash of a fixed text:
                    // nothing typed matches it, and it costs the same to check.
                    let _ = getrandom::fill(&mut random);
                    hash_now(&random).unwrap_or_default()
                });
                let _ = verify_now(password.as_bytes(), dummy);
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let passwords = Passwords::new(1);
        let phc = passwords
            .hash("correct horse battery".into())
            .await
            .expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct"));
        let good = passwords.verify("correct horse battery".into(), Some(phc.clone()));
        assert!(good.await.expect("verify"));
        let bad = passwords.verify("correct horse battery!".into(), Some(phc));
        assert!(!bad.await.expect("verify"));
        let unknown = passwords.verify("anything".into(), None);
        assert!(!unknown.await.expect("verify"));
        let garbage = passwords.verify("anything".into(), Some("$argon2id$nope".into()));
        assert!(!garbage.await.expect("verify"));
    }
}
