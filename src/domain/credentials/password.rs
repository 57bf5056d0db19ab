//! Passwords: argon2id with OWASP's parameters (m = 19,456 KiB, t = 2, p = 1, argon2's
//! defaults), stored as a PHC string, hashed off the async workers.
//!
//! A hash costs about 17 ms of one core. Run on a tokio worker it would stall every check
//! queued behind it, so hashing runs on the blocking pool, at most one hash per core at a
//! time: a flood of logins queues behind that bound and cannot slow Authorize.
//!
//! An unknown user is checked against a dummy hash (made once, on first need), so that a
//! login for a name that does not exist costs the same time as a wrong password.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Argon2, PasswordHash};
use tokio::sync::Semaphore;

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
}

/// Hashes and verifies passwords on a bounded pool.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified when the user is unknown.
    dummy: Arc<std::sync::OnceLock<String>>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("parallel", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
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
    /// A pool running at most `parallel` hashes at once (the number of cores, in `serve`).
    pub fn new(parallel: usize) -> Passwords {
        Passwords {
            permits: Arc::new(Semaphore::new(parallel.max(1))),
            dummy: Arc::default(),
        }
    }

    async fn on_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::PoolStopped)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| PasswordError::PoolStopped)
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
