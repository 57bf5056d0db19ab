//! The login grant: username, password and, when the user has turned it on, a TOTP code,
//! for a session JWT that is also a token row.
//!
//! Every failure (unknown user, wrong password, missing or wrong code, disabled user) is
//! one answer, and costs one argon2 verification whether or not the user exists. Failures
//! in a row for one username lock it for a while, doubling up to 15 minutes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{App, Issued, effective};
use crate::domain::audit::{action, recorded};
use crate::domain::clock::Millis;
use crate::domain::credentials::password::{MAX_PASSWORD_BYTES, PasswordError};
use crate::domain::credentials::server_keys::{Purpose, ServerKeys};
use crate::domain::credentials::session_jwt::{AMR_OTP, AMR_PASSWORD, SessionClaims};
use crate::domain::credentials::totp;
use crate::domain::error::{Error, Result};
use crate::domain::model::{TokenRecord, UserCredentials};
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::{TokenKind, random_base62};
use crate::domain::validate;

/// Why an attempt on a locked username is refused (and how the metrics tell a lock from
/// other throttling).
const LOCKED: &str = "too many failed logins for this user";
/// Failures in a row before a username is locked.
pub const LOCK_AFTER: u32 = 5;
/// The first lock; each further failure doubles it.
const FIRST_LOCK: Millis = 30_000;
/// The longest lock.
const MAX_LOCK: Millis = 15 * 60_000;
/// A session's id has the length of every token id.
const SESSION_ID_LEN: usize = 22;

/// How long to refuse attempts after `failures` failures in a row.
pub fn lock_for(failures: u32) -> Millis {
    if failures < LOCK_AFTER {
        return 0;
    }
    let doublings = (failures - LOCK_AFTER).min(16);
    FIRST_LOCK.saturating_mul(1 << doublings).min(MAX_LOCK)
}

/// A login, as the password grant carries it.
pub struct LoginInput {
    pub username: String,
    pub password: String,
    pub totp_code: String,
    pub ttl: Option<Duration>,
}

impl std::fmt::Debug for LoginInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginInput")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The key under which a username's failures are counted: an HMAC, so the store never
/// holds what was typed into the name field (a password, sometimes).
pub(super) fn throttle_key(keys: &ServerKeys, username: &str) -> Vec<u8> {
    let key = keys.derive(Purpose::LoginThrottle);
    // HMAC takes a key of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return Vec::new();
    };
    mac.update(username.to_ascii_lowercase().as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Eight hex digits of the throttle key: how the log names an unknown username.
fn log_name(name_hash: &[u8]) -> String {
    name_hash
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Internal(Box::new(e))
}

/// A full hashing queue is load to shed, not a fault.
pub(super) fn pool_error(e: PasswordError) -> Error {
    match e {
        PasswordError::Busy => Error::Throttled {
            reason: "too many password checks queued".into(),
            retry_after: std::time::Duration::from_secs(1),
        },
        e => internal(e),
    }
}

/// A login attempt being checked: counted in this process until dropped (on any exit,
/// cancellation included).
pub(super) struct Attempt<'a> {
    in_flight: &'a Mutex<HashMap<Vec<u8>, u32>>,
    name_hash: Vec<u8>,
    /// Failures in a row before this attempt.
    failures: u32,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.name_hash) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.name_hash);
            }
        }
    }
}

impl App {
    /// Admits an attempt on `name_hash`: RESOURCE_EXHAUSTED, with the delay, while the
    /// name is locked, and while as many attempts are being checked here as failures
    /// remain before the lock. A burst of parallel guesses thus gets no more tries than a
    /// sequence (failures are counted once each is known), and a user's own parallel
    /// logins are turned away only while more than that are in flight, never locked.
    pub(super) async fn begin_attempt(&self, name_hash: &[u8], now: Millis) -> Result<Attempt<'_>> {
        let (failures, locked_until) = self
            .store
            .login_failures(name_hash)
            .await?
            .unwrap_or((0, 0));
        if locked_until > now {
            // Whole seconds, rounded up: the message and RetryInfo say the same.
            let wait = (locked_until - now).unsigned_abs().div_ceil(1000);
            return Err(Error::Throttled {
                reason: LOCKED.into(),
                retry_after: std::time::Duration::from_secs(wait),
            });
        }
        let room = LOCK_AFTER.saturating_sub(failures).max(1);
        let in_flight = &self.logins.in_flight;
        let mut map = in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(name_hash.to_vec()).or_insert(0);
        if *n >= room {
            return Err(Error::Throttled {
                reason: "other logins for this user are being checked".into(),
                retry_after: std::time::Duration::from_secs(1),
            });
        }
        *n += 1;
        Ok(Attempt {
            in_flight,
            name_hash: name_hash.to_vec(),
            failures,
        })
    }

    /// The attempt failed: counted in the store, shared by every replica.
    pub(super) async fn attempt_failed(&self, attempt: Attempt<'_>) -> Result<()> {
        let now = self.clock.now();
        let failures = self
            .store
            .record_login_failure(&attempt.name_hash, now, lock_for)
            .await?;
        // The count this failure made, from the store's transaction: of parallel failures
        // (here or on another replica) only the one that set a lock counts it.
        if lock_for(failures) > 0 {
            self.metrics.lockout();
        }
        Ok(())
    }

    /// The attempt passed: the count starts again.
    pub(super) async fn attempt_passed(&self, attempt: Attempt<'_>) -> Result<()> {
        if attempt.failures > 0 {
            self.store.clear_login_failures(&attempt.name_hash).await?;
        }
        Ok(())
    }
}

impl App {
    /// A password (and TOTP) login, counted by result.
    pub async fn login(&self, input: LoginInput) -> Result<Issued> {
        let outcome = self.password_login(input).await;
        self.metrics.login(match &outcome {
            Ok(_) => "success",
            Err(Error::LoginFailed) => "failed",
            Err(Error::Throttled { reason, .. }) if reason == LOCKED => "locked",
            Err(Error::Throttled { .. }) => "throttled",
            Err(Error::InvalidArgument { .. }) => "invalid",
            Err(_) => "error",
        });
        outcome
    }

    async fn password_login(&self, input: LoginInput) -> Result<Issued> {
        let keys = self.logins.keys()?;
        if input.username.is_empty() || input.username.len() > 128 {
            return Err(Error::invalid("password.username", "1 to 128 bytes"));
        }
        if input.password.is_empty() || input.password.len() > MAX_PASSWORD_BYTES {
            return Err(Error::invalid(
                "password.password",
                format!("1 to {MAX_PASSWORD_BYTES} bytes"),
            ));
        }
        let ttl = validate::ttl("password.ttl", input.ttl)?;
        let name_hash = throttle_key(keys, &input.username);
        let now = self.clock.now();
        let attempt = self.begin_attempt(&name_hash, now).await?;
        let creds = self.store.user_credentials_by_name(&input.username).await?;
        let phc = creds.as_ref().and_then(|c| c.password_hash.clone());
        let password_ok = self
            .logins
            .passwords
            .verify(input.password, phc)
            .await
            .map_err(pool_error)?;
        let known = creds.as_ref().map(|c| c.user.id.clone());
        let passed = match creds {
            Some(creds) if password_ok && !creds.user.disabled => self
                .second_factor(keys, &creds, &input.totp_code, now)
                .await?
                .map(|amr| (creds, amr)),
            _ => None,
        };
        let Some((creds, amr)) = passed else {
            let event = self.unauthenticated_event(action::LOGIN).failed();
            let event = match &known {
                Some(user_id) => {
                    tracing::warn!(%user_id, "login failed");
                    event.by("", user_id, "").on("user", user_id)
                }
                None => {
                    tracing::warn!(unknown_user = %log_name(&name_hash), "login failed");
                    event.with("unknown_user", log_name(&name_hash))
                }
            };
            recorded(event, self.attempt_failed(attempt)).await?;
            return Err(Error::LoginFailed);
        };
        self.attempt_passed(attempt).await?;
        let issued = self.mint_session(&creds, amr, ttl, now).await?;
        tracing::info!(user_id = %creds.user.id, token_id = %issued.token_id, "login succeeded");
        Ok(issued)
    }

    /// The `amr` of a login whose password was right, or `None` when its second factor is
    /// missing or wrong. A code is accepted once: its step is recorded, atomically.
    async fn second_factor(
        &self,
        keys: &ServerKeys,
        creds: &UserCredentials,
        code: &str,
        now: Millis,
    ) -> Result<Option<Vec<String>>> {
        if !creds.user.totp_enabled {
            return Ok(Some(vec![AMR_PASSWORD.into()]));
        }
        let Some(sealed) = &creds.totp_secret else {
            return Ok(None);
        };
        let seed = keys
            .sealer(Purpose::TotpSeeds)
            .open(sealed, &creds.user.id)
            .map_err(internal)?;
        let seconds = u64::try_from(now / 1000).unwrap_or(0);
        let Some(step) = totp::matching_step(&seed, code, seconds).map_err(internal)? else {
            return Ok(None);
        };
        if !self.store.use_totp_step(&creds.user.id, step).await? {
            return Ok(None);
        }
        Ok(Some(vec![AMR_PASSWORD.into(), AMR_OTP.into()]))
    }

    async fn mint_session(
        &self,
        creds: &UserCredentials,
        amr: Vec<String>,
        ttl: Option<Duration>,
        now: Millis,
    ) -> Result<Issued> {
        let config = &self.logins.config;
        let longest = config.session_ttl;
        let ttl = ttl.map_or(longest, |asked| asked.min(longest));
        let signer = self.signer().await?;
        let id = random_base62(SESSION_ID_LEN)?;
        let iat = now / 1000;
        let exp = iat.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
        let claims = SessionClaims {
            iss: config.issuer.clone(),
            sub: creds.user.id.clone(),
            aud: config.audience.clone(),
            iat,
            nbf: iat,
            exp,
            jti: id.clone(),
            amr,
        };
        let jwt = signer.sign(&claims).map_err(internal)?;
        let all = PermissionSet::from_stored("*");
        let record = TokenRecord {
            id: id.clone(),
            kind: TokenKind::Session,
            name: if claims.amr.len() > 1 {
                "login (password and TOTP)".into()
            } else {
                "login (password)".into()
            },
            subject: creds.user.id.clone(),
            role: None,
            role_id: None,
            secret_hash: self.hasher.hash(&jwt).to_vec(),
            // A session acts with its user's permissions now.
            scopes: all,
            cap: None,
            read_only: false,
            issued_at: now,
            expires_at: Some(exp.saturating_mul(1000)),
            last_used_at: None,
            revoked_at: None,
            created_by: None,
            client_id: None,
            grant_id: None,
        };
        let event = self
            .unauthenticated_event(action::LOGIN)
            .by(&id, &creds.user.id, TokenKind::Session.as_str())
            .on("user", &creds.user.id)
            .with("amr", claims.amr.join(" "));
        let write = self
            .store
            .insert_token_within(&record, self.limits.max_tokens_per_user);
        recorded(event, write).await?;
        self.invalidate_token(&id);
        // The roles are read now, not with the credentials (see `user_credentials_by_name`).
        let user = self
            .store
            .get_user(&creds.user.id)
            .await?
            .ok_or(Error::LoginFailed)?;
        let scopes = effective::strings_of(self.permissions_of(&user).await?).await?;
        Ok(Issued {
            token: jwt,
            token_id: id,
            kind: TokenKind::Session,
            scopes,
            stripped: Vec::new(),
            expires_at: record.expires_at,
            refresh: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_starts_at_the_fifth_failure_and_doubles_to_fifteen_minutes() {
        assert_eq!(lock_for(4), 0);
        assert_eq!(lock_for(5), 30_000);
        assert_eq!(lock_for(6), 60_000);
        assert_eq!(lock_for(9), 480_000);
        assert_eq!(lock_for(10), 900_000);
        assert_eq!(lock_for(40), 900_000);
    }
}
