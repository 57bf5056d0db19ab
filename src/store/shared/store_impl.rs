//! The `Store` trait for every SQL backend: each method hands over to the shared modules.

use async_trait::async_trait;

use super::Db;
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, Role, TokenGrant, TokenRecord, User};
use crate::domain::permission_set::PermissionSet;
use crate::store::{Store, StoreResult, schema};

#[async_trait]
impl Store for Db {
    async fn ping(&self) -> StoreResult<()> {
        self.fetch_optional(super::sql(&schema::ping()))
            .await
            .map(|_| ())
    }

    async fn create_role(&self, role: &Role, now: Millis) -> StoreResult<()> {
        self.insert_role(role, now).await
    }
    async fn set_role_permissions(
        &self,
        name: &str,
        permissions: &PermissionSet,
        now: Millis,
    ) -> StoreResult<Role> {
        self.update_role_permissions(name, permissions, now).await
    }
    async fn get_role(&self, name: &str) -> StoreResult<Option<Role>> {
        self.select_role(name).await
    }
    async fn get_roles(&self, names: &[String]) -> StoreResult<Vec<Role>> {
        self.select_roles(names).await
    }
    async fn list_roles(&self, page: &PageRequest) -> StoreResult<Page<Role>> {
        self.page_roles(page).await
    }
    async fn delete_role(&self, name: &str, now: Millis) -> StoreResult<u32> {
        self.remove_role(name, now).await
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.insert_user(user).await
    }
    async fn set_user_roles(&self, id: &str, roles: &[String]) -> StoreResult<User> {
        self.replace_user_roles(id, roles).await
    }
    async fn set_user_disabled(&self, id: &str, disabled: bool) -> StoreResult<User> {
        self.update_user_disabled(id, disabled).await
    }
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        self.select_user(schema::select_user(id)).await
    }
    async fn get_user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        self.select_user(schema::select_user_by_name(name)).await
    }
    async fn list_users(&self, page: &PageRequest) -> StoreResult<Page<User>> {
        self.page_users(page).await
    }
    async fn count_users(&self) -> StoreResult<u64> {
        self.count_all_users().await
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.insert_one(token).await
    }
    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        self.insert_token_rows(tokens).await
    }
    async fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        self.select_token(id).await
    }
    async fn load_grant(&self, id: &str) -> StoreResult<Option<TokenGrant>> {
        self.read_grant(id).await
    }
    async fn list_tokens(
        &self,
        subject: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<TokenRecord>> {
        self.page_tokens(subject, page).await
    }
    async fn revoke_token(&self, id: &str, owner: Option<&str>, now: Millis) -> StoreResult<u32> {
        self.revoke_one(id, owner, now).await
    }
    async fn revoke_subject(&self, subject: &str, now: Millis) -> StoreResult<u32> {
        self.revoke_all(subject, now).await
    }
    async fn record_usage(&self, usage: &[(String, Millis)]) -> StoreResult<()> {
        self.write_usage(usage).await
    }
}
