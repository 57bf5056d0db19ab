//! Roles, for every SQL backend.

use super::{Db, exec_in, map_err, sql};
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, Role};
use crate::domain::permission_set::PermissionSet;
use crate::store::rows::{finish_page, probe_limit, role_from_row};
use crate::store::{StoreError, StoreResult, schema};

impl Db {
    pub(in super::super) async fn insert_role(&self, role: &Role, now: Millis) -> StoreResult<()> {
        self.execute(sql(&schema::insert_role(role, now)), "role")
            .await
            .map(|_| ())
            .map_err(|e| match e {
                StoreError::AlreadyExists(_) => {
                    StoreError::AlreadyExists(format!("role {:?}", role.name))
                }
                other => other,
            })
    }

    pub(in super::super) async fn update_role_permissions(
        &self,
        name: &str,
        permissions: &PermissionSet,
        now: Millis,
    ) -> StoreResult<Role> {
        let done = self
            .execute(
                sql(&schema::update_role_permissions(name, permissions, now)),
                "role",
            )
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("role {name:?}")));
        }
        self.select_role(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("role {name:?}")))
    }

    pub(in super::super) async fn select_role(&self, name: &str) -> StoreResult<Option<Role>> {
        self.fetch_optional(sql(&schema::select_role(name)))
            .await?
            .as_ref()
            .map(role_from_row)
            .transpose()
    }

    pub(in super::super) async fn select_roles(&self, names: &[String]) -> StoreResult<Vec<Role>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        self.fetch_all(sql(&schema::select_roles_in(names)))
            .await?
            .iter()
            .map(role_from_row)
            .collect()
    }

    pub(in super::super) async fn page_roles(&self, page: &PageRequest) -> StoreResult<Page<Role>> {
        let q = schema::list_roles(page.after.as_deref(), probe_limit(page));
        let roles = self
            .fetch_all(sql(&q))
            .await?
            .iter()
            .map(role_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(finish_page(roles, page, |r| r.name.clone()))
    }

    pub(in super::super) async fn remove_role(&self, name: &str, now: Millis) -> StoreResult<u32> {
        let mut tx = self.pool.begin().await.map_err(map_err("role"))?;
        // PATs first, then the role: every writer that touches tokens and roles takes the
        // token rows before anything the role triggers lock, so a concurrent Revoke of one of
        // these PATs waits instead of deadlocking. A failed delete below undoes these too.
        let revoked = exec_in(&mut tx, &schema::revoke_role_pats(name, now), "token").await?;
        // The foreign key from user_roles (no action) refuses the delete while a user
        // holds the role: the database decides, not a racy read-then-write.
        let done = exec_in(&mut tx, &schema::delete_role(name), "role")
            .await
            .map_err(|e| match e {
                StoreError::InUse(_) => {
                    StoreError::InUse(format!("role {name:?} is still held by a user"))
                }
                other => other,
            })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("role {name:?}")));
        }
        tx.commit().await.map_err(map_err("role"))?;
        Ok(u32::try_from(revoked.rows_affected()).unwrap_or(u32::MAX))
    }
}
