//! One server secret, and a key per purpose derived from it.
//!
//! Operators keep and back up one secret (`TESSERA_SECRET_KEY` or `--secret-key-file`).
//! Each use gets its own key, derived with HKDF-SHA256 under a distinct label, so a key
//! that leaks from one use (say a TOTP seed's encryption) tells nothing about another, and
//! adding a use never needs a new setting.
//!
//! What is kept encrypted (TOTP seeds, signing keys' private halves) is sealed with
//! ChaCha20-Poly1305 under its purpose key, with the record's id as associated data, so a
//! sealed value copied onto another record does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// Shortest server secret accepted: 256 bits of key material.
pub const MIN_SECRET_LEN: usize = 32;
const NONCE_LEN: usize = 12;
/// HKDF's salt: fixed, so that the same secret always gives the same keys.
const SALT: &[u8] = b"tessera server secret v1";

/// What a derived key is for; each label is part of the derivation, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Sealing TOTP seeds at rest.
    TotpSeeds,
    /// Sealing the private halves of session signing keys.
    SigningKeys,
    /// Keying the hash under which failed logins are counted per username.
    LoginThrottle,
    /// Signing the built-in sign-in and consent pages' forms (CSRF tokens, and the
    /// authorization request a form was rendered for).
    BrowserForms,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::TotpSeeds => b"totp seeds v1",
            Purpose::SigningKeys => b"signing keys v1",
            Purpose::LoginThrottle => b"login throttle v1",
            Purpose::BrowserForms => b"browser forms v1",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the server secret must be at least {MIN_SECRET_LEN} bytes")]
    TooShort,
    /// A sealed value did not open: another secret, another record, or damage.
    #[error("a sealed value does not open under this server secret")]
    Unsealable,
    #[error("the operating system's random source failed")]
    Random,
}

/// The server secret, held only to derive purpose keys.
#[derive(Clone)]
pub struct ServerKeys {
    secret: Vec<u8>,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKeys(<redacted>)")
    }
}

impl ServerKeys {
    pub fn new(secret: &[u8]) -> Result<ServerKeys, KeyError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(KeyError::TooShort);
        }
        Ok(ServerKeys {
            secret: secret.to_vec(),
        })
    }

    /// The 256-bit key for `purpose`.
    pub fn derive(&self, purpose: Purpose) -> [u8; 32] {
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8,160-byte limit: expand cannot fail.
        let _ = Hkdf::<Sha256>::new(Some(SALT), &self.secret).expand(purpose.label(), &mut okm);
        okm
    }

    /// Seals and opens values kept for `purpose`.
    pub fn sealer(&self, purpose: Purpose) -> Sealer {
        Sealer {
            cipher: ChaCha20Poly1305::new(&Key::from(self.derive(purpose))),
        }
    }
}

/// Authenticated encryption under one purpose key.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    /// `nonce || ciphertext`, bound to `record` (the id of what holds it). The nonce is
    /// random: these values are few (one per user or key), far from the 2^32 messages a
    /// random 96-bit nonce allows per key.
    pub fn seal(&self, plaintext: &[u8], record: &str) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| KeyError::Random)?;
        let payload = Payload {
            msg: plaintext,
            aad: record.as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| KeyError::Unsealable)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], record: &str) -> Result<Vec<u8>, KeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(KeyError::Unsealable);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: record.as_bytes(),
        };
        self.cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| KeyError::Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> ServerKeys {
        ServerKeys::new(&[byte; 32]).expect("long enough")
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(ServerKeys::new(&[7; 31]), Err(KeyError::TooShort)));
    }

    #[test]
    fn purposes_get_different_stable_keys() {
        let k = keys(1);
        assert_eq!(
            k.derive(Purpose::TotpSeeds),
            keys(1).derive(Purpose::TotpSeeds)
        );
        assert_ne!(k.derive(Purpose::TotpSeeds), k.derive(Purpose::SigningKeys));
        assert_ne!(
            k.derive(Purpose::TotpSeeds),
            keys(2).derive(Purpose::TotpSeeds)
        );
    }

    #[test]
    fn sealed_values_open_only_for_their_record_purpose_and_secret() {
        let sealer = keys(1).sealer(Purpose::TotpSeeds);
        let sealed = sealer.seal(b"seed", "usr_1").expect("seal");
        assert!(!sealed.windows(4).any(|w| w == b"seed"), "not in the clear");
        assert_eq!(sealer.open(&sealed, "usr_1").expect("open"), b"seed");
        assert!(sealer.open(&sealed, "usr_2").is_err(), "another record");
        let other_purpose = keys(1).sealer(Purpose::SigningKeys);
        assert!(other_purpose.open(&sealed, "usr_1").is_err());
        assert!(
            keys(2)
                .sealer(Purpose::TotpSeeds)
                .open(&sealed, "usr_1")
                .is_err()
        );
        assert!(sealer.open(&sealed[..5], "usr_1").is_err(), "truncated");
    }
}
