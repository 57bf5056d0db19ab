//! The real store (SQLite or Postgres), wrapped to count the reads on the check path, so tests can prove
//! what never reaches the store (garbage tokens, warm checks, remembered unknown ids).

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use std::sync::Arc;
use tessera::domain::clock::Millis;
use tessera::domain::model::{
    Page, PageRequest, Role, StoredSigningKey, TokenAccess, TokenRecord, User, UserCredentials,
};
use tessera::domain::oauth_client::{ClientSecrets, OAuthClient};
use tessera::domain::oauth_grant::{AuthorizationCode, OAuthGrant};
use tessera::domain::permission_set::PermissionSet;
use tessera::domain::ports::{
    ClientStore, CredentialStore, GrantFilter, OAuthStore, Prunable, RetentionStore, RoleStore,
    SigningKeyStore, Store, StoreHealth, StoreResult, TokenStore, UserStore,
};

pub struct CountingStore {
    pub inner: Arc<dyn Store>,
    token_reads: AtomicUsize,
    user_reads: AtomicUsize,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn Store>) -> CountingStore {
        CountingStore {
            inner,
            token_reads: AtomicUsize::new(0),
            user_reads: AtomicUsize::new(0),
        }
    }

    /// Token lookups so far (each check that reaches the store makes one).
    pub fn token_reads(&self) -> usize {
        self.token_reads.load(Ordering::SeqCst)
    }

    /// Users read by id so far.
    pub fn user_reads(&self) -> usize {
        self.user_reads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl StoreHealth for CountingStore {
    async fn probe_reads(&self) -> StoreResult<()> {
        self.inner.probe_reads().await
    }
    async fn probe_writes(&self, now: Millis) -> StoreResult<()> {
        self.inner.probe_writes(now).await
    }
}

#[async_trait]
impl RoleStore for CountingStore {
    async fn create_role(&self, role: &Role, now: Millis) -> StoreResult<()> {
        self.inner.create_role(role, now).await
    }
    async fn set_role_permissions(
        &self,
        name: &str,
        p: &PermissionSet,
        now: Millis,
    ) -> StoreResult<Role> {
        self.inner.set_role_permissions(name, p, now).await
    }
    async fn get_role(&self, name: &str) -> StoreResult<Option<Role>> {
        self.inner.get_role(name).await
    }
    async fn get_roles(&self, names: &[String]) -> StoreResult<Vec<Role>> {
        self.inner.get_roles(names).await
    }
    async fn list_roles(&self, page: &PageRequest) -> StoreResult<Page<Role>> {
        self.inner.list_roles(page).await
    }
    async fn delete_role(&self, name: &str, now: Millis) -> StoreResult<u32> {
        self.inner.delete_role(name, now).await
    }
}

#[async_trait]
impl UserStore for CountingStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.inner.create_user(user).await
    }
    async fn set_user_roles(&self, id: &str, roles: &[String]) -> StoreResult<User> {
        self.inner.set_user_roles(id, roles).await
    }
    async fn set_user_disabled(&self, id: &str, disabled: bool) -> StoreResult<User> {
        self.inner.set_user_disabled(id, disabled).await
    }
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        self.user_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_user(id).await
    }
    async fn get_user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        self.inner.get_user_by_name(name).await
    }
    async fn list_users(&self, page: &PageRequest) -> StoreResult<Page<User>> {
        self.inner.list_users(page).await
    }
    async fn count_users(&self) -> StoreResult<u64> {
        self.inner.count_users().await
    }
}

#[async_trait]
impl TokenStore for CountingStore {
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.inner.insert_token(token).await
    }
    async fn insert_token_within(&self, token: &TokenRecord, max_active: u32) -> StoreResult<()> {
        self.inner.insert_token_within(token, max_active).await
    }
    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        self.inner.insert_tokens(tokens).await
    }
    async fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        self.token_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_token(id).await
    }
    async fn token_access(&self, id: &str) -> StoreResult<Option<TokenAccess>> {
        self.token_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.token_access(id).await
    }
    async fn list_tokens(
        &self,
        subject: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<TokenRecord>> {
        self.inner.list_tokens(subject, page).await
    }
    async fn revoke_token(&self, id: &str, owner: Option<&str>, now: Millis) -> StoreResult<u32> {
        self.inner.revoke_token(id, owner, now).await
    }
    async fn rotate_token(
        &self,
        old_id: &str,
        end_at: Option<Millis>,
        now: Millis,
        new: &TokenRecord,
        max_active: u32,
    ) -> StoreResult<Option<u32>> {
        self.inner
            .rotate_token(old_id, end_at, now, new, max_active)
            .await
    }
    async fn revoke_subject(&self, subject: &str, now: Millis) -> StoreResult<u32> {
        self.inner.revoke_subject(subject, now).await
    }
    async fn record_usage(&self, usage: &[(String, Millis)]) -> StoreResult<()> {
        self.inner.record_usage(usage).await
    }
}

#[async_trait]
impl CredentialStore for CountingStore {
    async fn user_credentials(&self, id: &str) -> StoreResult<Option<UserCredentials>> {
        self.inner.user_credentials(id).await
    }
    async fn user_credentials_by_name(&self, name: &str) -> StoreResult<Option<UserCredentials>> {
        self.inner.user_credentials_by_name(name).await
    }
    async fn set_password(
        &self,
        id: &str,
        phc: &str,
        keep: Option<&str>,
        now: Millis,
    ) -> StoreResult<(User, u32)> {
        self.inner.set_password(id, phc, keep, now).await
    }
    async fn set_pending_totp(&self, id: &str, sealed: &[u8]) -> StoreResult<()> {
        self.inner.set_pending_totp(id, sealed).await
    }
    async fn enable_totp(&self, id: &str, step: i64, sealed: &[u8]) -> StoreResult<bool> {
        self.inner.enable_totp(id, step, sealed).await
    }
    async fn remove_totp(&self, id: &str) -> StoreResult<User> {
        self.inner.remove_totp(id).await
    }
    async fn use_totp_step(&self, id: &str, step: i64) -> StoreResult<bool> {
        self.inner.use_totp_step(id, step).await
    }
    async fn login_failures(&self, name_hash: &[u8]) -> StoreResult<Option<(u32, Millis)>> {
        self.inner.login_failures(name_hash).await
    }
    async fn record_login_failure(
        &self,
        name_hash: &[u8],
        now: Millis,
        lock_for: fn(u32) -> Millis,
    ) -> StoreResult<u32> {
        self.inner
            .record_login_failure(name_hash, now, lock_for)
            .await
    }
    async fn clear_login_failures(&self, name_hash: &[u8]) -> StoreResult<()> {
        self.inner.clear_login_failures(name_hash).await
    }
}

#[async_trait]
impl RetentionStore for CountingStore {
    async fn prune(&self, what: Prunable, before: Millis, limit: u32) -> StoreResult<u32> {
        self.inner.prune(what, before, limit).await
    }
}

#[async_trait]
impl tessera::domain::ports::AuditStore for CountingStore {
    async fn append_event(&self, event: &tessera::domain::audit::Event) -> StoreResult<()> {
        self.inner.append_event(event).await
    }

    async fn list_events(
        &self,
        query: &tessera::domain::audit::AuditQuery,
    ) -> StoreResult<Vec<tessera::domain::audit::StoredEvent>> {
        self.inner.list_events(query).await
    }
}

#[async_trait]
impl SigningKeyStore for CountingStore {
    async fn signing_keys(&self, now: Millis) -> StoreResult<Vec<StoredSigningKey>> {
        self.inner.signing_keys(now).await
    }
    async fn signing_key(&self, kid: &str) -> StoreResult<Option<StoredSigningKey>> {
        self.inner.signing_key(kid).await
    }
    async fn rotate_signing_key(&self, key: &StoredSigningKey, retire: Millis) -> StoreResult<()> {
        self.inner.rotate_signing_key(key, retire).await
    }
}

#[async_trait]
impl ClientStore for CountingStore {
    async fn create_client(&self, client: &OAuthClient, hash: Option<&[u8]>) -> StoreResult<()> {
        self.inner.create_client(client, hash).await
    }
    async fn get_client(&self, id: &str) -> StoreResult<Option<OAuthClient>> {
        self.inner.get_client(id).await
    }
    async fn client_with_secrets(
        &self,
        id: &str,
    ) -> StoreResult<Option<(OAuthClient, ClientSecrets)>> {
        self.inner.client_with_secrets(id).await
    }
    async fn list_clients(&self, page: &PageRequest) -> StoreResult<Page<OAuthClient>> {
        self.inner.list_clients(page).await
    }
    async fn update_client(&self, client: &OAuthClient) -> StoreResult<OAuthClient> {
        self.inner.update_client(client).await
    }
    async fn set_client_secret(
        &self,
        id: &str,
        hash: &[u8],
        until: Option<Millis>,
    ) -> StoreResult<OAuthClient> {
        self.inner.set_client_secret(id, hash, until).await
    }
    async fn set_client_disabled(&self, id: &str, disabled: bool) -> StoreResult<OAuthClient> {
        self.inner.set_client_disabled(id, disabled).await
    }
    async fn delete_client(&self, id: &str, now: Millis) -> StoreResult<u32> {
        self.inner.delete_client(id, now).await
    }
}

#[async_trait]
impl OAuthStore for CountingStore {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        self.inner.insert_code(code).await
    }
    async fn get_code(&self, hash: &[u8]) -> StoreResult<Option<AuthorizationCode>> {
        self.inner.get_code(hash).await
    }
    async fn redeem_code(
        &self,
        hash: &[u8],
        now: Millis,
        grant: &OAuthGrant,
        tokens: &[TokenRecord],
    ) -> StoreResult<bool> {
        self.inner.redeem_code(hash, now, grant, tokens).await
    }
    async fn rotate_refresh(
        &self,
        grant: &str,
        old: Option<&str>,
        now: Millis,
        tokens: &[TokenRecord],
    ) -> StoreResult<bool> {
        self.inner.rotate_refresh(grant, old, now, tokens).await
    }
    async fn get_grant(&self, id: &str) -> StoreResult<Option<OAuthGrant>> {
        self.inner.get_grant(id).await
    }
    async fn revoke_grant(&self, id: &str, now: Millis) -> StoreResult<u32> {
        self.inner.revoke_grant(id, now).await
    }
    async fn revoke_client_grants(
        &self,
        client: &str,
        subject: Option<&str>,
        now: Millis,
    ) -> StoreResult<u32> {
        self.inner.revoke_client_grants(client, subject, now).await
    }
    async fn list_grants(
        &self,
        filter: &GrantFilter,
        now: Millis,
        page: &PageRequest,
    ) -> StoreResult<Page<OAuthGrant>> {
        self.inner.list_grants(filter, now, page).await
    }
}
