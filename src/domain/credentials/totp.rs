//! TOTP second factors (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of skew
//! either way), through the totp-rs crate.
//!
//! The crate says whether a code is valid, not which step it matched, and keeps no memory
//! of codes already used. This module finds the step, and the caller stores it: a code for
//! that step or an earlier one is refused afterwards (see `CredentialStore::use_totp_step`).

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// 160 bits, the size RFC 4226 recommends for an HMAC-SHA-1 key.
pub const SEED_BYTES: usize = 20;
const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("the operating system's random source failed")]
    Random,
    #[error("a stored TOTP seed is malformed")]
    BadSeed,
}

/// A fresh random seed.
pub fn new_seed() -> Result<Vec<u8>, TotpError> {
    let mut seed = vec![0u8; SEED_BYTES];
    getrandom::fill(&mut seed).map_err(|_| TotpError::Random)?;
    Ok(seed)
}

fn totp(seed: &[u8]) -> Result<TOTP, TotpError> {
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP_SECONDS, seed.to_vec())
        .map_err(|_| TotpError::BadSeed)
}

/// The time step `code` is valid for at `unix_seconds` (this step, the one before or the
/// one after), or `None`. Every candidate is compared in constant time.
pub fn matching_step(seed: &[u8], code: &str, unix_seconds: u64) -> Result<Option<i64>, TotpError> {
    let totp = totp(seed)?;
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let now = unix_seconds / STEP_SECONDS;
    let mut found = None;
    for step in [now.saturating_sub(1), now, now + 1] {
        let expected = totp.generate(step * STEP_SECONDS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(i64::try_from(step).unwrap_or(i64::MAX));
        }
    }
    Ok(found)
}

/// RFC 4648 base32 without padding, as authenticator apps take it.
pub fn base32(seed: &[u8]) -> Result<String, TotpError> {
    Ok(totp(seed)?
        .get_secret_base32()
        .trim_end_matches('=')
        .to_owned())
}

/// The `otpauth://totp/…` URI an authenticator app reads (Google's Key Uri Format).
pub fn otpauth_uri(seed: &[u8], issuer: &str, account: &str) -> Result<String, TotpError> {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    Ok(format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer).replace('+', "%20"),
        enc(account).replace('+', "%20"),
        base32(seed)?,
        enc(issuer).replace('+', "%20"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 seed and vectors, cut to six digits.
    #[test]
    fn rfc_6238_vectors_match_their_step() {
        let seed = b"12345678901234567890";
        for (time, code) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
        ] {
            let step = (time / 30) as i64;
            assert_eq!(matching_step(seed, code, time).expect("seed"), Some(step));
            assert_eq!(
                matching_step(seed, code, time + 30).expect("seed"),
                Some(step),
                "one step late"
            );
            assert_eq!(
                matching_step(seed, code, time + 60).expect("seed"),
                None,
                "two steps late"
            );
        }
        assert_eq!(matching_step(seed, "28708", 59).expect("seed"), None);
        assert_eq!(matching_step(seed, "28708x", 59).expect("seed"), None);
    }

    #[test]
    fn the_uri_carries_the_base32_seed() {
        let uri =
            otpauth_uri(b"12345678901234567890", "tessera", "alice@example.com").expect("uri");
        assert!(uri.starts_with("otpauth://totp/tessera:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=tessera"), "{uri}");
    }
}
