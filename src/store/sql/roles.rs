//! The role port for every SQL backend.

use async_trait::async_trait;

use super::rows::{finish_page, probe_limit, role_from_row};
use super::schema::{roles as q, tokens as tq};
use super::{SqlBackend, SqlStore, SqlTx, audit_in, finish, to_u32};
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, Role};
use crate::domain::permission_set::PermissionSet;
use crate::domain::ports::{Entity, RoleStore, StoreError, StoreResult};

#[async_trait]
impl<B: SqlBackend> RoleStore for SqlStore<B> {
    async fn create_role(&self, role: &Role, now: Millis) -> StoreResult<()> {
        let conflict = || StoreError::conflict(Entity::Role, &role.name);
        self.execute(B::render(&q::insert_role(role, now)), |e| {
            e.or_constraint(conflict, conflict)
        })
        .await
        .map(|_| ())
    }

    async fn set_role_permissions(
        &self,
        name: &str,
        permissions: &PermissionSet,
        now: Millis,
    ) -> StoreResult<Role> {
        let st = B::render(&q::update_role_permissions(name, permissions, now));
        if self.execute(st, |e| e.into_store()).await? == 0 {
            return Err(StoreError::not_found(Entity::Role, name));
        }
        self.get_role(name)
            .await?
            .ok_or_else(|| StoreError::not_found(Entity::Role, name))
    }

    async fn get_role(&self, name: &str) -> StoreResult<Option<Role>> {
        self.fetch_optional(B::render(&q::select_role(name)))
            .await?
            .as_ref()
            .map(role_from_row)
            .transpose()
    }

    async fn get_roles(&self, names: &[String]) -> StoreResult<Vec<Role>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        self.fetch_all(B::render(&q::select_roles_in(names)))
            .await?
            .iter()
            .map(role_from_row)
            .collect()
    }

    async fn list_roles(&self, page: &PageRequest) -> StoreResult<Page<Role>> {
        let st = B::render(&q::list_roles(page.after.as_deref(), probe_limit(page)));
        let roles = self
            .fetch_all(st)
            .await?
            .iter()
            .map(role_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(finish_page(roles, page, |r| r.name.clone()))
    }

    async fn delete_role(&self, name: &str, now: Millis) -> StoreResult<u32> {
        self.write(async {
            let mut tx = self.backend.begin().await?;
            let outcome = async {
                // PATs first, then the role: every writer that touches tokens and roles takes
                // the token rows before anything the role triggers lock, so a concurrent
                // Revoke of one of these PATs waits instead of deadlocking.
                let revoked = tx
                    .execute(B::render_replanned(&tq::revoke_role_pats(name, now)))
                    .await?;
                // The foreign key from user_roles (no action) refuses the delete while a user
                // holds the role: the database decides, not a racy read-then-write.
                let in_use = || StoreError::in_use(Entity::Role, name);
                let deleted = tx
                    .execute(B::render(&q::delete_role(name)))
                    .await
                    .map_err(|e| e.or_constraint(in_use, in_use))?;
                if deleted == 0 {
                    return Err(StoreError::not_found(Entity::Role, name));
                }
                audit_in::<B, _>(&mut tx).await?;
                Ok(to_u32(revoked))
            }
            .await;
            finish(tx, outcome).await
        })
        .await
    }
}
