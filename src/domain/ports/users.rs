//! The port for users and the roles they hold.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::model::{Page, PageRequest, User};

#[async_trait]
pub trait UserStore: Send + Sync {
    /// `Conflict` on a taken name, `NotFound { entity: Role }` on an unknown role.
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    /// Replaces the user's roles atomically; concurrent replacements never merge.
    async fn set_user_roles(&self, id: &str, roles: &[String]) -> StoreResult<User>;
    async fn set_user_disabled(&self, id: &str, disabled: bool) -> StoreResult<User>;
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>>;
    async fn get_user_by_name(&self, name: &str) -> StoreResult<Option<User>>;
    /// Users by name; the page token is the last name of the previous page.
    async fn list_users(&self, page: &PageRequest) -> StoreResult<Page<User>>;
    async fn count_users(&self) -> StoreResult<u64>;
}
