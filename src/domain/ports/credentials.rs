//! The port for what a user logs in with: password hashes and TOTP state, and the
//! failed-login counters of the lockout.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::clock::Millis;
use crate::domain::model::{User, UserCredentials};

#[async_trait]
pub trait CredentialStore: Send + Sync {
    async fn user_credentials(&self, id: &str) -> StoreResult<Option<UserCredentials>>;
    /// By name, regardless of case, as names are unique.
    async fn user_credentials_by_name(&self, name: &str) -> StoreResult<Option<UserCredentials>>;
    /// Sets the password hash and, in the same transaction, revokes the user's live
    /// sessions but `keep_session` (the caller's own, on a change of one's own password).
    /// `NotFound` for an unknown user. Returns the user and how many sessions were revoked.
    async fn set_password(
        &self,
        id: &str,
        phc: &str,
        keep_session: Option<&str>,
        now: Millis,
    ) -> StoreResult<(User, u32)>;
    /// Stores a new, not yet confirmed seed; TOTP is off until [`Self::enable_totp`].
    async fn set_pending_totp(&self, id: &str, sealed_secret: &[u8]) -> StoreResult<()>;
    /// Turns TOTP on, recording `step` as used, only if the pending seed is still
    /// `sealed_secret` (the one the code was checked against); false otherwise (enrolled
    /// again, enabled or removed meanwhile), and then nothing changes.
    async fn enable_totp(&self, id: &str, step: i64, sealed_secret: &[u8]) -> StoreResult<bool>;
    /// Turns TOTP off and forgets the seed; `NotFound` for an unknown user.
    async fn remove_totp(&self, id: &str) -> StoreResult<User>;
    /// Records `step` as used only if it is later than the last one used, atomically, so
    /// one code is accepted once across every replica. True when it was recorded.
    async fn use_totp_step(&self, id: &str, step: i64) -> StoreResult<bool>;
    /// Failures in a row for `name_hash` and until when attempts are refused.
    async fn login_failures(&self, name_hash: &[u8]) -> StoreResult<Option<(u32, Millis)>>;
    /// Counts one failure, atomically (concurrent failures are all counted, a first one
    /// included), and sets the lock from the new count by `lock_for`. Returns the new count,
    /// so that exactly the failure which locked the name knows it did.
    async fn record_login_failure(
        &self,
        name_hash: &[u8],
        now: Millis,
        lock_for: fn(u32) -> Millis,
    ) -> StoreResult<u32>;
    /// A success: the count starts again.
    async fn clear_login_failures(&self, name_hash: &[u8]) -> StoreResult<()>;
}
