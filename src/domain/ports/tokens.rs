//! The port for token records, the check path's read, and last-used times.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, TokenAccess, TokenRecord};

#[async_trait]
pub trait TokenStore: Send + Sync {
    /// `Conflict` if the id is taken, `NotFound { entity: User }` for an unknown subject.
    /// Returns only after the record committed durably.
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()>;
    /// As `insert_token`, unless the subject already holds `max_active` active tokens
    /// (neither revoked nor expired at the token's `issued_at`): then `OverQuota` and
    /// nothing is written. The count and the insert are one transaction, and concurrent
    /// inserts for one user are counted one at a time, so the quota is never overshot.
    async fn insert_token_within(&self, token: &TokenRecord, max_active: u32) -> StoreResult<()>;
    /// Inserts many tokens in one transaction (bulk seeding and imports): all or none.
    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()>;
    async fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>>;
    /// A token with its owner's state and roles and its bound role, in one round trip: the
    /// check path's only read.
    async fn token_access(&self, id: &str) -> StoreResult<Option<TokenAccess>>;
    /// Tokens of one subject, oldest first; the page is stable under concurrent inserts.
    async fn list_tokens(
        &self,
        subject: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<TokenRecord>>;
    /// Revokes a token (with `owner`, only if it belongs to that user) and every token
    /// derived from it. Returns how many rows changed, after a durable commit.
    async fn revoke_token(&self, id: &str, owner: Option<&str>, now: Millis) -> StoreResult<u32>;
    /// A rotation, in one transaction: ends the token `old_id` if it is live at `now`
    /// (revoked with its descendants when `end_at` is `None`, else its expiry moved to
    /// `end_at`), then inserts `new` within `max_active` live tokens of its subject. `None`,
    /// with nothing written, when the old token was no longer live: of two concurrent
    /// rotations one wins, and a rotation after a revocation writes nothing. Otherwise how
    /// many tokens it revoked now (0 with an `end_at`).
    async fn rotate_token(
        &self,
        old_id: &str,
        end_at: Option<Millis>,
        now: Millis,
        new: &TokenRecord,
        max_active: u32,
    ) -> StoreResult<Option<u32>>;
    /// Revokes every live token of a user, and every token derived from them.
    async fn revoke_subject(&self, subject: &str, now: Millis) -> StoreResult<u32>;
    /// Writes a batch of `last_used_at` values, never moving one backwards.
    async fn record_usage(&self, usage: &[(String, Millis)]) -> StoreResult<()>;
}
