//! A user's credentials: passwords and TOTP, set by the user (through a session) or by an
//! administrator (under the escalation rule: setting someone's password lets you act as
//! them).

use super::login::internal;
use super::{App, Caller, perms};
use crate::domain::audit::{action, recorded};
use crate::domain::credentials::password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES};
use crate::domain::credentials::server_keys::Purpose;
use crate::domain::credentials::totp;
use crate::domain::error::{Error, Result};
use crate::domain::model::{User, UserCredentials};
use crate::domain::token_format::TokenKind;

/// A new TOTP seed, shown once.
pub struct TotpEnrollment {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code.
    pub otpauth_uri: String,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrollment(<redacted>)")
    }
}

/// NIST SP 800-63B: a length range, no composition rules.
fn check_password(field: &str, password: &str) -> Result<()> {
    if password.len() < MIN_PASSWORD_BYTES || password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid(
            field,
            format!("a password is {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Account calls act on the caller's own user and need a session: a narrow API key of that
/// user must not be able to change how the user signs in.
fn require_session(caller: &Caller) -> Result<()> {
    caller.require_writable()?;
    if caller.kind() != TokenKind::Session {
        return Err(Error::denied(
            "account calls need a session: log in with the password grant first",
        ));
    }
    Ok(())
}

impl App {
    /// A PHC string for `password`, from the hashing threads.
    async fn hash_password(&self, password: String) -> Result<String> {
        self.logins
            .passwords
            .hash(password)
            .await
            .map_err(super::login::pool_error)
    }

    async fn own_credentials(&self, caller: &Caller) -> Result<UserCredentials> {
        self.store
            .user_credentials(caller.user_id())
            .await?
            .ok_or(Error::Unauthenticated)
    }

    /// An administrator sets a user's password; the user's sessions are revoked with it.
    pub async fn set_user_password(
        &self,
        caller: &Caller,
        user_id: &str,
        password: String,
    ) -> Result<User> {
        caller.require_write(perms::USERS_WRITE)?;
        check_password("password", &password)?;
        self.require_may_act_as(caller, user_id).await?;
        let phc = self.hash_password(password).await?;
        let event = self
            .event(caller, action::USER_SET_PASSWORD)
            .on("user", user_id);
        let write = self
            .store
            .set_password(user_id, &phc, None, self.clock.now());
        let (user, revoked) = recorded(event, write).await?;
        self.invalidate_user(user_id);
        tracing::info!(user_id, sessions_revoked = revoked, "password set");
        Ok(user)
    }

    /// A user changes their own password, proving the current one; their other sessions
    /// are revoked, the one making the call stays.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: String,
        new: String,
    ) -> Result<User> {
        require_session(caller)?;
        check_password("new_password", &new)?;
        let creds = self.own_credentials(caller).await?;
        // Guesses of the current password count as failed logins of the user's name: a
        // stolen session cannot try passwords faster than a login could.
        let throttle = self
            .logins
            .keys
            .as_ref()
            .map(|keys| super::login::throttle_key(keys, &creds.user.name));
        let now = self.clock.now();
        let attempt = match &throttle {
            Some(key) => Some(self.begin_attempt(key, now).await?),
            None => None,
        };
        let ok = self
            .logins
            .passwords
            .verify(current, creds.password_hash)
            .await
            .map_err(super::login::pool_error)?;
        if !ok {
            if let Some(attempt) = attempt {
                let event = self
                    .event(caller, action::ACCOUNT_CHANGE_PASSWORD)
                    .on("user", caller.user_id())
                    .with("reason", "wrong current password")
                    .failed();
                recorded(event, self.attempt_failed(attempt)).await?;
            }
            return Err(Error::denied("current_password is wrong"));
        }
        if let Some(attempt) = attempt {
            self.attempt_passed(attempt).await?;
        }
        let phc = self.hash_password(new).await?;
        let event = self
            .event(caller, action::ACCOUNT_CHANGE_PASSWORD)
            .on("user", caller.user_id());
        let write = self.store.set_password(
            caller.user_id(),
            &phc,
            Some(caller.token_id()),
            self.clock.now(),
        );
        let (user, revoked) = recorded(event, write).await?;
        self.invalidate_user(caller.user_id());
        tracing::info!(
            user_id = caller.user_id(),
            sessions_revoked = revoked,
            "password changed"
        );
        Ok(user)
    }

    /// A new seed for the caller, pending until confirmed with a code. Refused while TOTP
    /// is on: replacing it needs `RemoveTotp`, which needs a second factor.
    pub async fn enroll_totp(&self, caller: &Caller) -> Result<TotpEnrollment> {
        require_session(caller)?;
        let keys = self.logins.keys()?;
        let creds = self.own_credentials(caller).await?;
        if creds.user.totp_enabled {
            return Err(Error::FailedPrecondition(
                "TOTP is already on: remove it (RemoveTotp, with a TOTP session) first".into(),
            ));
        }
        let seed = totp::new_seed().map_err(internal)?;
        let sealed = keys
            .sealer(Purpose::TotpSeeds)
            .seal(&seed, &creds.user.id)
            .map_err(internal)?;
        let event = self
            .event(caller, action::ACCOUNT_ENROLL_TOTP)
            .on("user", &creds.user.id);
        recorded(event, self.store.set_pending_totp(&creds.user.id, &sealed)).await?;
        Ok(TotpEnrollment {
            secret: totp::base32(&seed).map_err(internal)?,
            otpauth_uri: totp::otpauth_uri(&seed, &self.logins.config.issuer, &creds.user.name)
                .map_err(internal)?,
        })
    }

    /// Turns TOTP on with a code from the pending seed; that code counts as used.
    pub async fn confirm_totp(&self, caller: &Caller, code: &str) -> Result<User> {
        require_session(caller)?;
        let keys = self.logins.keys()?;
        let creds = self.own_credentials(caller).await?;
        let pending = match &creds.totp_secret {
            Some(sealed) if !creds.user.totp_enabled => sealed,
            _ => {
                return Err(Error::FailedPrecondition(
                    "no TOTP enrollment is pending: call EnrollTotp first".into(),
                ));
            }
        };
        let seed = keys
            .sealer(Purpose::TotpSeeds)
            .open(pending, &creds.user.id)
            .map_err(internal)?;
        let seconds = u64::try_from(self.clock.now() / 1000).unwrap_or(0);
        let Some(step) = totp::matching_step(&seed, code, seconds).map_err(internal)? else {
            return Err(Error::invalid(
                "code",
                "not a current code of the pending seed",
            ));
        };
        let event = self
            .event(caller, action::ACCOUNT_CONFIRM_TOTP)
            .on("user", &creds.user.id);
        if !recorded(event, self.store.enable_totp(&creds.user.id, step, pending)).await? {
            return Err(Error::FailedPrecondition(
                "the enrollment changed meanwhile: call EnrollTotp again".into(),
            ));
        }
        self.invalidate_user(&creds.user.id);
        tracing::info!(user_id = %creds.user.id, "TOTP turned on");
        self.require_user(&creds.user.id).await
    }

    /// Turns the caller's TOTP off; needs a session from a login that used it.
    pub async fn remove_totp(&self, caller: &Caller) -> Result<User> {
        require_session(caller)?;
        if !caller.two_factor() {
            return Err(Error::denied(
                "removing TOTP needs a session from a login with a TOTP code",
            ));
        }
        let event = self
            .event(caller, action::ACCOUNT_REMOVE_TOTP)
            .on("user", caller.user_id());
        let user = recorded(event, self.store.remove_totp(caller.user_id())).await?;
        self.invalidate_user(caller.user_id());
        tracing::info!(user_id = caller.user_id(), "TOTP removed");
        Ok(user)
    }

    /// An administrator removes a user's TOTP (a lost phone), under the escalation rule.
    pub async fn reset_user_totp(&self, caller: &Caller, user_id: &str) -> Result<User> {
        caller.require_write(perms::USERS_WRITE)?;
        self.require_may_act_as(caller, user_id).await?;
        let event = self
            .event(caller, action::USER_RESET_TOTP)
            .on("user", user_id);
        let user = recorded(event, self.store.remove_totp(user_id)).await?;
        self.invalidate_user(user_id);
        tracing::info!(user_id, "TOTP reset");
        Ok(user)
    }

    async fn require_user(&self, id: &str) -> Result<User> {
        self.store
            .get_user(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id:?}")))
    }
}

impl App {
    /// Sets a user's password with no caller, for `bootstrap --admin-password-file`.
    pub async fn set_password_at_bootstrap(&self, user_id: &str, password: String) -> Result<()> {
        check_password("--admin-password-file", &password)?;
        let phc = self.hash_password(password).await?;
        let event = self
            .bootstrap_event(action::USER_SET_PASSWORD)
            .on("user", user_id);
        let write = self
            .store
            .set_password(user_id, &phc, None, self.clock.now());
        recorded(event, write).await?;
        self.invalidate_user(user_id);
        Ok(())
    }
}
