//! Bootstrap: the first admin, so a new installation can be driven at all.

use super::App;
use super::audit_trail::{role_created, user_created};
use crate::domain::audit::{action, recorded};
use crate::domain::error::{Error, Result};
use crate::domain::model::{Role, User};
use crate::domain::permission_set::PermissionSet;
use crate::domain::ports::StoreError;
use crate::domain::token_format::random_base62;

pub const ADMIN: &str = "admin";

/// The admin user and its new key. `key` is a secret: print it once, never log it.
pub struct Bootstrapped {
    pub user_id: String,
    pub token_id: String,
    pub key: String,
}

impl std::fmt::Debug for Bootstrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bootstrapped")
            .field("user_id", &self.user_id)
            .field("token_id", &self.token_id)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Whether the store has no users at all (a new installation).
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.store.count_users().await? == 0)
    }

    /// Creates role `admin` (`*`) and user `admin` when missing, and mints a new admin key.
    /// Each change is in the audit trail, by actor kind `bootstrap`.
    pub async fn bootstrap(&self) -> Result<Bootstrapped> {
        let now = self.clock.now();
        if self.store.get_role(ADMIN).await?.is_none() {
            let all = PermissionSet::parse(&["*"])
                .map_err(|_| Error::Internal("the `*` permission failed to parse".into()))?;
            let role = Role {
                id: super::admin::new_role_id()?,
                name: ADMIN.to_owned(),
                permissions: all,
                description: "every permission; created by bootstrap".to_owned(),
            };
            let event = role_created(self.bootstrap_event(action::ROLE_CREATE), &role);
            match recorded(event, self.store.create_role(&role, now)).await {
                Ok(()) | Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let user = match self.store.get_user_by_name(ADMIN).await? {
            Some(u) => u,
            None => {
                let user = User {
                    id: format!("usr_{}", random_base62(20)?),
                    name: ADMIN.to_owned(),
                    roles: vec![ADMIN.to_owned()],
                    disabled: false,
                    created_at: now,
                    has_password: false,
                    totp_enabled: false,
                };
                let event = user_created(self.bootstrap_event(action::USER_CREATE), &user);
                match recorded(event, self.store.create_user(&user)).await {
                    Ok(()) => user,
                    // Another process bootstrapped at the same moment: use its admin.
                    Err(StoreError::Conflict { .. }) => {
                        self.store
                            .get_user_by_name(ADMIN)
                            .await?
                            .ok_or_else(|| Error::Internal("admin user vanished".into()))?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        if user.disabled || !user.roles.iter().any(|r| r == ADMIN) {
            tracing::warn!(user_id = %user.id, disabled = user.disabled, roles = ?user.roles,
                "user admin is disabled or lacks role admin: the new key grants nothing until that is fixed");
        }
        let issued = self.mint_admin_key(&user.id).await?;
        Ok(Bootstrapped {
            user_id: user.id,
            token_id: issued.token_id,
            key: issued.token,
        })
    }
}
