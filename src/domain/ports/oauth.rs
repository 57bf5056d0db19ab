//! The port for OAuth authorizations: codes, grants (token families) and the rotation of
//! refresh tokens, each change atomic with the tokens it issues or revokes.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, TokenRecord};
use crate::domain::oauth_grant::{AuthorizationCode, OAuthGrant};

/// Which live grants a listing shows.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    pub subject: Option<String>,
    pub client_id: Option<String>,
}

#[async_trait]
pub trait OAuthStore: Send + Sync {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    async fn get_code(&self, code_hash: &[u8]) -> StoreResult<Option<AuthorizationCode>>;
    /// In one transaction: marks the code used (recording `grant`'s id on it), stores
    /// `grant` and inserts `tokens`. `false`, with nothing written, when the code was used
    /// already (by a concurrent exchange, say).
    async fn redeem_code(
        &self,
        code_hash: &[u8],
        now: Millis,
        grant: &OAuthGrant,
        tokens: &[TokenRecord],
    ) -> StoreResult<bool>;
    /// In one transaction: checks that grant `grant_id` is not revoked, ends the refresh
    /// token `old_id` (sets its `revoked_at`; `None` for a retry of a rotation, whose token
    /// is ended already) and inserts `tokens`. `false`, with nothing written, when the grant
    /// was revoked or the token was no longer live (rotated or revoked already). The grant
    /// is checked inside the transaction, against revocations committing meanwhile: a
    /// revocation that began first wins, and one that began later sees the new tokens.
    async fn rotate_refresh(
        &self,
        grant_id: &str,
        old_id: Option<&str>,
        now: Millis,
        tokens: &[TokenRecord],
    ) -> StoreResult<bool>;
    /// A grant as stored; its `last_used_at` is its creation's (listings compute the last
    /// use from its tokens).
    async fn get_grant(&self, id: &str) -> StoreResult<Option<OAuthGrant>>;
    /// Revokes a grant and every token issued from it (and derived from those); returns
    /// how many tokens.
    async fn revoke_grant(&self, id: &str, now: Millis) -> StoreResult<u32>;
    /// Revokes every grant of a client, or of one user with it, and their tokens; with no
    /// subject, also the client's own tokens (client credentials). Returns how many tokens.
    async fn revoke_client_grants(
        &self,
        client_id: &str,
        subject: Option<&str>,
        now: Millis,
    ) -> StoreResult<u32>;
    /// Live grants (not revoked, not past their family's end), by id; `last_used_at` is the
    /// latest use or issue of any of the grant's tokens.
    async fn list_grants(
        &self,
        filter: &GrantFilter,
        now: Millis,
        page: &PageRequest,
    ) -> StoreResult<Page<OAuthGrant>>;
}
