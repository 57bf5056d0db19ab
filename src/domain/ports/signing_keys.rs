//! The port for session signing keys, shared by every replica.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::clock::Millis;
use crate::domain::model::StoredSigningKey;

#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every key not retired at `now`, newest first: the first is the signer.
    async fn signing_keys(&self, now: Millis) -> StoreResult<Vec<StoredSigningKey>>;
    async fn signing_key(&self, kid: &str) -> StoreResult<Option<StoredSigningKey>>;
    /// Adds `key` as the signer and, in the same transaction, schedules every key that had
    /// no retirement yet to retire at `retire_others_at`.
    async fn rotate_signing_key(
        &self,
        key: &StoredSigningKey,
        retire_others_at: Millis,
    ) -> StoreResult<()>;
}
