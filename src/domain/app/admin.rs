//! Roles and users: who holds which permissions.

use super::audit_trail::{role_created, user_created};
use super::escalation::Granting;
use super::{App, Caller, effective, perms};
use crate::domain::audit::{action, recorded};
use crate::domain::error::{Error, Result};
use crate::domain::model::{Page, PageRequest, Role, User};
use crate::domain::ports::{Entity, StoreError};
use crate::domain::token_format::random_base62;
use crate::domain::validate;

/// Page parameters from a request: size clamped, token passed through as the cursor.
pub fn page_request(page_size: u32, page_token: &str) -> PageRequest {
    PageRequest {
        after: (!page_token.is_empty()).then(|| page_token.to_owned()),
        limit: validate::page_size(page_size),
    }
}

impl App {
    pub async fn create_role(
        &self,
        caller: &Caller,
        name: String,
        permissions: &[String],
        description: String,
    ) -> Result<Role> {
        caller.require_write(perms::ROLES_WRITE)?;
        validate::role_name("name", &name)?;
        let permissions = validate::grants("permissions", permissions, true)?;
        let description = validate::description("description", &description)?;
        caller.require_holds(&permissions, Granting::RoleContents)?;
        let role = Role {
            id: new_role_id()?,
            name,
            permissions,
            description,
        };
        let event = role_created(self.event(caller, action::ROLE_CREATE), &role);
        recorded(event, self.store.create_role(&role, self.clock.now())).await?;
        // A PAT bound to a role of this name that was deleted by hand must see it.
        self.invalidate_role(&role.name);
        Ok(role)
    }

    pub async fn set_role_permissions(
        &self,
        caller: &Caller,
        name: &str,
        permissions: &[String],
    ) -> Result<Role> {
        caller.require_write(perms::ROLES_WRITE)?;
        validate::role_name("name", name)?;
        let permissions = validate::grants("permissions", permissions, true)?;
        caller.require_holds(&permissions, Granting::RoleContents)?;
        let event = self
            .event(caller, action::ROLE_SET_PERMISSIONS)
            .on("role", name)
            .with("permissions", permissions.len());
        let write = self
            .store
            .set_role_permissions(name, &permissions, self.clock.now());
        let role = recorded(event, write).await?;
        self.invalidate_role(name);
        Ok(role)
    }

    pub async fn get_role(&self, caller: &Caller, name: &str) -> Result<Role> {
        caller.require(perms::ROLES_READ)?;
        validate::role_name("name", name)?;
        self.store
            .get_role(name)
            .await?
            .ok_or_else(|| Error::NotFound(format!("role {name:?}")))
    }

    pub async fn list_roles(&self, caller: &Caller, page: &PageRequest) -> Result<Page<Role>> {
        caller.require(perms::ROLES_READ)?;
        Ok(self.store.list_roles(page).await?)
    }

    /// Deletes an unheld role and revokes the PATs bound to it; returns how many.
    pub async fn delete_role(&self, caller: &Caller, name: &str) -> Result<u32> {
        caller.require_write(perms::ROLES_WRITE)?;
        validate::role_name("name", name)?;
        let event = self.event(caller, action::ROLE_DELETE).on("role", name);
        let revoked = recorded(event, self.store.delete_role(name, self.clock.now())).await?;
        self.invalidate_role(name);
        Ok(revoked)
    }

    /// Unknown roles are a malformed request: INVALID_ARGUMENT naming the entry. The roles
    /// in `added` must be held by the caller (see `escalation`).
    async fn check_roles(
        &self,
        caller: &Caller,
        field: &str,
        roles: &[String],
        added: &[String],
    ) -> Result<()> {
        let found = self.store.get_roles(roles).await?;
        for (i, role) in roles.iter().enumerate() {
            if !found.iter().any(|r| &r.name == role) {
                return Err(Error::invalid(
                    format!("{field}[{i}]"),
                    format!("unknown role {role:?}"),
                ));
            }
        }
        let granted = effective::union_of(effective::role_sets(
            found.iter().filter(|r| added.contains(&r.name)),
        ))
        .await?;
        caller.require_holds(&granted, Granting::Assignment)
    }

    pub async fn create_user(
        &self,
        caller: &Caller,
        name: String,
        roles: &[String],
    ) -> Result<User> {
        caller.require_write(perms::USERS_WRITE)?;
        validate::user_name("name", &name)?;
        let sorted = validate::role_names("roles", roles)?;
        self.check_roles(caller, "roles", roles, roles).await?;
        let roles = sorted;
        let user = User {
            id: format!("usr_{}", random_base62(20)?),
            name,
            roles,
            disabled: false,
            created_at: self.clock.now(),
            has_password: false,
            totp_enabled: false,
        };
        let event = user_created(self.event(caller, action::USER_CREATE), &user);
        recorded(event, self.store.create_user(&user))
            .await
            .map_err(role_race)?;
        Ok(user)
    }

    pub async fn set_user_roles(
        &self,
        caller: &Caller,
        id: &str,
        roles: &[String],
    ) -> Result<User> {
        caller.require_write(perms::USERS_WRITE)?;
        require_id("id", id)?;
        let sorted = validate::role_names("roles", roles)?;
        // Removing a role grants nothing: only the roles added are checked.
        let held = match self.store.get_user(id).await? {
            Some(user) => user.roles,
            None => Vec::new(),
        };
        let added: Vec<String> = sorted
            .iter()
            .filter(|r| !held.contains(r))
            .cloned()
            .collect();
        self.check_roles(caller, "roles", roles, &added).await?;
        let roles = sorted;
        let event = self
            .event(caller, action::USER_SET_ROLES)
            .on("user", id)
            .with("roles", roles.join(" "));
        let user = recorded(event, self.store.set_user_roles(id, &roles))
            .await
            .map_err(role_race)?;
        self.invalidate_user(id);
        Ok(user)
    }

    pub async fn set_user_disabled(
        &self,
        caller: &Caller,
        id: &str,
        disabled: bool,
    ) -> Result<User> {
        caller.require_write(perms::USERS_WRITE)?;
        require_id("id", id)?;
        let what = match disabled {
            true => action::USER_DISABLE,
            false => action::USER_ENABLE,
        };
        let event = self.event(caller, what).on("user", id);
        let user = recorded(event, self.store.set_user_disabled(id, disabled)).await?;
        self.invalidate_user(id);
        Ok(user)
    }

    /// Anyone may read their own user; others need tessera:users:read.
    pub async fn get_user(&self, caller: &Caller, id: &str) -> Result<User> {
        require_id("id", id)?;
        if id != caller.user_id() {
            caller.require(perms::USERS_READ)?;
        }
        self.store
            .get_user(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id:?}")))
    }

    pub async fn list_users(&self, caller: &Caller, page: &PageRequest) -> Result<Page<User>> {
        caller.require(perms::USERS_READ)?;
        Ok(self.store.list_users(page).await?)
    }
}

/// A fresh role id: random, so never one a deleted role had.
pub(super) fn new_role_id() -> Result<String> {
    Ok(format!("rol_{}", random_base62(20)?))
}

fn require_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        Err(Error::invalid(field, "must not be empty"))
    } else {
        Ok(())
    }
}

/// A role deleted between the existence check and the write surfaces as the same
/// INVALID_ARGUMENT the check would have given.
fn role_race(e: StoreError) -> Error {
    match e {
        StoreError::NotFound {
            entity: Entity::Role,
            key,
        } => Error::invalid("roles", format!("unknown role {key:?}")),
        other => other.into(),
    }
}
