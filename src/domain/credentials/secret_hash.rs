//! How token secrets are kept at rest: a SHA-256 digest, or HMAC-SHA256 under a server key.
//!
//! Tokens carry 256 random bits, so a fast hash is enough: a slow password hash would only
//! make every check slower. With a server key, a stolen database alone cannot even confirm a
//! guessed token.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Length in bytes of every stored hash.
pub const HASH_LEN: usize = 32;

/// Hashes token texts for storage and verifies presented ones.
#[derive(Clone)]
pub enum SecretHasher {
    Sha256,
    /// HMAC-SHA256, keyed once so each hash clones the prepared state.
    Hmac(Hmac<Sha256>),
}

impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretHasher::Sha256 => f.write_str("Sha256"),
            SecretHasher::Hmac(_) => f.write_str("HmacSha256(<key redacted>)"),
        }
    }
}

impl SecretHasher {
    /// HMAC under `key` when one is configured, plain SHA-256 otherwise.
    pub fn new(key: Option<&[u8]>) -> SecretHasher {
        match key {
            // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
            Some(k) => match Hmac::<Sha256>::new_from_slice(k) {
                Ok(mac) => SecretHasher::Hmac(mac),
                Err(_) => SecretHasher::Sha256,
            },
            None => SecretHasher::Sha256,
        }
    }

    pub fn hash(&self, token: &str) -> [u8; HASH_LEN] {
        match self {
            SecretHasher::Sha256 => Sha256::digest(token.as_bytes()).into(),
            SecretHasher::Hmac(mac) => {
                let mut m = mac.clone();
                m.update(token.as_bytes());
                m.finalize().into_bytes().into()
            }
        }
    }

    /// Constant-time comparison of a presented token against a stored hash.
    pub fn verify(&self, token: &str, stored: &[u8]) -> bool {
        stored.len() == HASH_LEN && bool::from(self.hash(token).ct_eq(stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_accepts_only_the_same_token_and_key() {
        let plain = SecretHasher::new(None);
        let keyed = SecretHasher::new(Some(b"server key"));
        let h = plain.hash("tsk_abc");
        assert!(plain.verify("tsk_abc", &h));
        assert!(!plain.verify("tsk_abd", &h));
        assert!(!keyed.verify("tsk_abc", &h));
        let k = keyed.hash("tsk_abc");
        assert!(keyed.verify("tsk_abc", &k));
        assert!(!SecretHasher::new(Some(b"other key")).verify("tsk_abc", &k));
        assert!(!plain.verify("tsk_abc", &h[..31]));
        assert!(!format!("{keyed:?}").contains("server key"));
    }
}
