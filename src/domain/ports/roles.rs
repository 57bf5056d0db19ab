//! The port for roles: named permission sets.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, Role};
use crate::domain::permission_set::PermissionSet;

#[async_trait]
pub trait RoleStore: Send + Sync {
    /// `Conflict` when the name is taken.
    async fn create_role(&self, role: &Role, now: Millis) -> StoreResult<()>;
    /// Replaces a role's permissions; `NotFound` when it does not exist.
    async fn set_role_permissions(
        &self,
        name: &str,
        permissions: &PermissionSet,
        now: Millis,
    ) -> StoreResult<Role>;
    async fn get_role(&self, name: &str) -> StoreResult<Option<Role>>;
    /// Roles by name, sorted; missing names are left out.
    async fn get_roles(&self, names: &[String]) -> StoreResult<Vec<Role>>;
    async fn list_roles(&self, page: &PageRequest) -> StoreResult<Page<Role>>;
    /// `InUse` while a user holds the role, `NotFound` when absent. In the same transaction,
    /// revokes the PATs bound to it, so a role later created under the same name does not
    /// bring them back. Returns how many PATs were revoked.
    async fn delete_role(&self, name: &str, now: Millis) -> StoreResult<u32>;
}
