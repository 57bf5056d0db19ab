//! The token, OAuth and signing-key ports, counted.

use async_trait::async_trait;

use super::Metered;
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, StoredSigningKey, TokenAccess, TokenRecord};
use crate::domain::oauth_grant::{AuthorizationCode, OAuthGrant};
use crate::domain::ports::{GrantFilter, OAuthStore, SigningKeyStore, StoreResult, TokenStore};

#[async_trait]
impl TokenStore for Metered {
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        let outcome = self
            .timed("insert_token", self.inner.insert_token(token))
            .await;
        if outcome.is_ok() {
            self.issued(std::slice::from_ref(token));
        }
        outcome
    }

    async fn insert_token_within(&self, token: &TokenRecord, max_active: u32) -> StoreResult<()> {
        let outcome = self
            .timed(
                "insert_token_within",
                self.inner.insert_token_within(token, max_active),
            )
            .await;
        if outcome.is_ok() {
            self.issued(std::slice::from_ref(token));
        }
        outcome
    }

    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        let outcome = self
            .timed("insert_tokens", self.inner.insert_tokens(tokens))
            .await;
        if outcome.is_ok() {
            self.issued(tokens);
        }
        outcome
    }

    async fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        self.timed("get_token", self.inner.get_token(id)).await
    }

    async fn token_access(&self, id: &str) -> StoreResult<Option<TokenAccess>> {
        self.timed("token_access", self.inner.token_access(id))
            .await
    }

    async fn list_tokens(
        &self,
        subject: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<TokenRecord>> {
        self.timed("list_tokens", self.inner.list_tokens(subject, page))
            .await
    }

    async fn revoke_token(&self, id: &str, owner: Option<&str>, now: Millis) -> StoreResult<u32> {
        let outcome = self
            .timed("revoke_token", self.inner.revoke_token(id, owner, now))
            .await;
        self.revoked("token", &outcome, |n| *n);
        outcome
    }

    async fn rotate_token(
        &self,
        old_id: &str,
        end_at: Option<Millis>,
        now: Millis,
        new: &TokenRecord,
        max_active: u32,
    ) -> StoreResult<Option<u32>> {
        let outcome = self
            .timed(
                "rotate_token",
                self.inner
                    .rotate_token(old_id, end_at, now, new, max_active),
            )
            .await;
        if let Ok(Some(revoked)) = outcome {
            self.issued(std::slice::from_ref(new));
            self.metrics.revoked("rotated", u64::from(revoked));
        }
        outcome
    }

    async fn revoke_subject(&self, subject: &str, now: Millis) -> StoreResult<u32> {
        let outcome = self
            .timed("revoke_subject", self.inner.revoke_subject(subject, now))
            .await;
        self.revoked("user", &outcome, |n| *n);
        outcome
    }

    async fn record_usage(&self, usage: &[(String, Millis)]) -> StoreResult<()> {
        self.timed("record_usage", self.inner.record_usage(usage))
            .await
    }
}

#[async_trait]
impl OAuthStore for Metered {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        self.timed("insert_code", self.inner.insert_code(code))
            .await
    }

    async fn get_code(&self, code_hash: &[u8]) -> StoreResult<Option<AuthorizationCode>> {
        self.timed("get_code", self.inner.get_code(code_hash)).await
    }

    async fn redeem_code(
        &self,
        code_hash: &[u8],
        now: Millis,
        grant: &OAuthGrant,
        tokens: &[TokenRecord],
    ) -> StoreResult<bool> {
        let outcome = self
            .timed(
                "redeem_code",
                self.inner.redeem_code(code_hash, now, grant, tokens),
            )
            .await;
        if matches!(outcome, Ok(true)) {
            self.issued(tokens);
        }
        outcome
    }

    async fn rotate_refresh(
        &self,
        grant_id: &str,
        old_id: Option<&str>,
        now: Millis,
        tokens: &[TokenRecord],
    ) -> StoreResult<bool> {
        let outcome = self
            .timed(
                "rotate_refresh",
                self.inner.rotate_refresh(grant_id, old_id, now, tokens),
            )
            .await;
        if matches!(outcome, Ok(true)) {
            self.issued(tokens);
        }
        outcome
    }

    async fn get_grant(&self, id: &str) -> StoreResult<Option<OAuthGrant>> {
        self.timed("get_grant", self.inner.get_grant(id)).await
    }

    async fn revoke_grant(&self, id: &str, now: Millis) -> StoreResult<u32> {
        let outcome = self
            .timed("revoke_grant", self.inner.revoke_grant(id, now))
            .await;
        self.revoked("grant", &outcome, |n| *n);
        outcome
    }

    async fn revoke_client_grants(
        &self,
        client_id: &str,
        subject: Option<&str>,
        now: Millis,
    ) -> StoreResult<u32> {
        let outcome = self
            .timed(
                "revoke_client_grants",
                self.inner.revoke_client_grants(client_id, subject, now),
            )
            .await;
        self.revoked("app_grants", &outcome, |n| *n);
        outcome
    }

    async fn list_grants(
        &self,
        filter: &GrantFilter,
        now: Millis,
        page: &PageRequest,
    ) -> StoreResult<Page<OAuthGrant>> {
        self.timed("list_grants", self.inner.list_grants(filter, now, page))
            .await
    }
}

#[async_trait]
impl SigningKeyStore for Metered {
    async fn signing_keys(&self, now: Millis) -> StoreResult<Vec<StoredSigningKey>> {
        self.timed("signing_keys", self.inner.signing_keys(now))
            .await
    }

    async fn signing_key(&self, kid: &str) -> StoreResult<Option<StoredSigningKey>> {
        self.timed("signing_key", self.inner.signing_key(kid)).await
    }

    async fn rotate_signing_key(
        &self,
        key: &StoredSigningKey,
        retire_others_at: Millis,
    ) -> StoreResult<()> {
        self.timed(
            "rotate_signing_key",
            self.inner.rotate_signing_key(key, retire_others_at),
        )
        .await
    }
}
