//! The role, user, credential and app-registry ports, counted.

use async_trait::async_trait;

use super::Metered;
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, Role, User, UserCredentials};
use crate::domain::oauth_client::{ClientSecrets, OAuthClient};
use crate::domain::permission_set::PermissionSet;
use crate::domain::ports::{ClientStore, CredentialStore, RoleStore, StoreResult, UserStore};

#[async_trait]
impl RoleStore for Metered {
    async fn create_role(&self, role: &Role, now: Millis) -> StoreResult<()> {
        self.timed("create_role", self.inner.create_role(role, now))
            .await
    }

    async fn set_role_permissions(
        &self,
        name: &str,
        permissions: &PermissionSet,
        now: Millis,
    ) -> StoreResult<Role> {
        self.timed(
            "set_role_permissions",
            self.inner.set_role_permissions(name, permissions, now),
        )
        .await
    }

    async fn get_role(&self, name: &str) -> StoreResult<Option<Role>> {
        self.timed("get_role", self.inner.get_role(name)).await
    }

    async fn get_roles(&self, names: &[String]) -> StoreResult<Vec<Role>> {
        self.timed("get_roles", self.inner.get_roles(names)).await
    }

    async fn list_roles(&self, page: &PageRequest) -> StoreResult<Page<Role>> {
        self.timed("list_roles", self.inner.list_roles(page)).await
    }

    async fn delete_role(&self, name: &str, now: Millis) -> StoreResult<u32> {
        let outcome = self
            .timed("delete_role", self.inner.delete_role(name, now))
            .await;
        self.revoked("role_deleted", &outcome, |n| *n);
        outcome
    }
}

#[async_trait]
impl UserStore for Metered {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.timed("create_user", self.inner.create_user(user))
            .await
    }

    async fn set_user_roles(&self, id: &str, roles: &[String]) -> StoreResult<User> {
        self.timed("set_user_roles", self.inner.set_user_roles(id, roles))
            .await
    }

    async fn set_user_disabled(&self, id: &str, disabled: bool) -> StoreResult<User> {
        self.timed(
            "set_user_disabled",
            self.inner.set_user_disabled(id, disabled),
        )
        .await
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        self.timed("get_user", self.inner.get_user(id)).await
    }

    async fn get_user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        self.timed("get_user_by_name", self.inner.get_user_by_name(name))
            .await
    }

    async fn list_users(&self, page: &PageRequest) -> StoreResult<Page<User>> {
        self.timed("list_users", self.inner.list_users(page)).await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        self.timed("count_users", self.inner.count_users()).await
    }
}

#[async_trait]
impl CredentialStore for Metered {
    async fn user_credentials(&self, id: &str) -> StoreResult<Option<UserCredentials>> {
        self.timed("user_credentials", self.inner.user_credentials(id))
            .await
    }

    async fn user_credentials_by_name(&self, name: &str) -> StoreResult<Option<UserCredentials>> {
        self.timed(
            "user_credentials_by_name",
            self.inner.user_credentials_by_name(name),
        )
        .await
    }

    async fn set_password(
        &self,
        id: &str,
        phc: &str,
        keep_session: Option<&str>,
        now: Millis,
    ) -> StoreResult<(User, u32)> {
        let outcome = self
            .timed(
                "set_password",
                self.inner.set_password(id, phc, keep_session, now),
            )
            .await;
        self.revoked("password_changed", &outcome, |(_, n)| *n);
        outcome
    }

    async fn set_pending_totp(&self, id: &str, sealed_secret: &[u8]) -> StoreResult<()> {
        self.timed(
            "set_pending_totp",
            self.inner.set_pending_totp(id, sealed_secret),
        )
        .await
    }

    async fn enable_totp(&self, id: &str, step: i64, sealed_secret: &[u8]) -> StoreResult<bool> {
        self.timed(
            "enable_totp",
            self.inner.enable_totp(id, step, sealed_secret),
        )
        .await
    }

    async fn remove_totp(&self, id: &str) -> StoreResult<User> {
        self.timed("remove_totp", self.inner.remove_totp(id)).await
    }

    async fn use_totp_step(&self, id: &str, step: i64) -> StoreResult<bool> {
        self.timed("use_totp_step", self.inner.use_totp_step(id, step))
            .await
    }

    async fn login_failures(&self, name_hash: &[u8]) -> StoreResult<Option<(u32, Millis)>> {
        self.timed("login_failures", self.inner.login_failures(name_hash))
            .await
    }

    async fn record_login_failure(
        &self,
        name_hash: &[u8],
        now: Millis,
        lock_for: fn(u32) -> Millis,
    ) -> StoreResult<u32> {
        self.timed(
            "record_login_failure",
            self.inner.record_login_failure(name_hash, now, lock_for),
        )
        .await
    }

    async fn clear_login_failures(&self, name_hash: &[u8]) -> StoreResult<()> {
        self.timed(
            "clear_login_failures",
            self.inner.clear_login_failures(name_hash),
        )
        .await
    }
}

#[async_trait]
impl ClientStore for Metered {
    async fn create_client(
        &self,
        client: &OAuthClient,
        secret_hash: Option<&[u8]>,
    ) -> StoreResult<()> {
        self.timed(
            "create_client",
            self.inner.create_client(client, secret_hash),
        )
        .await
    }

    async fn get_client(&self, id: &str) -> StoreResult<Option<OAuthClient>> {
        self.timed("get_client", self.inner.get_client(id)).await
    }

    async fn client_with_secrets(
        &self,
        id: &str,
    ) -> StoreResult<Option<(OAuthClient, ClientSecrets)>> {
        self.timed("client_with_secrets", self.inner.client_with_secrets(id))
            .await
    }

    async fn list_clients(&self, page: &PageRequest) -> StoreResult<Page<OAuthClient>> {
        self.timed("list_clients", self.inner.list_clients(page))
            .await
    }

    async fn update_client(&self, client: &OAuthClient) -> StoreResult<OAuthClient> {
        self.timed("update_client", self.inner.update_client(client))
            .await
    }

    async fn set_client_secret(
        &self,
        id: &str,
        hash: &[u8],
        previous_until: Option<Millis>,
    ) -> StoreResult<OAuthClient> {
        self.timed(
            "set_client_secret",
            self.inner.set_client_secret(id, hash, previous_until),
        )
        .await
    }

    async fn set_client_disabled(&self, id: &str, disabled: bool) -> StoreResult<OAuthClient> {
        self.timed(
            "set_client_disabled",
            self.inner.set_client_disabled(id, disabled),
        )
        .await
    }

    async fn delete_client(&self, id: &str, now: Millis) -> StoreResult<u32> {
        let outcome = self
            .timed("delete_client", self.inner.delete_client(id, now))
            .await;
        self.revoked("app_deleted", &outcome, |n| *n);
        outcome
    }
}
