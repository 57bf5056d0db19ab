//! No escalation through tessera: nobody grants what it does not hold.
//!
//! The rule is Kubernetes RBAC's: a caller may create or change a role only with
//! permissions it holds, and assign a role only if it holds that role's permissions, unless
//! it holds the verb that lifts the rule (`tessera:roles:escalate` for role contents,
//! `tessera:users:bind` for assignments). Vault's child tokens follow the same rule. Holding
//! `tessera:roles:write` or `tessera:users:write` alone is then never a path to more.

use super::{App, Caller, perms};
use crate::domain::error::{Error, Result};
use crate::domain::permission_set::PermissionSet;

/// Most missing permissions a refusal lists by name.
const LISTED: usize = 16;

/// Which rule a grant falls under, and the verb that lifts it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Granting {
    /// Role contents (CreateRole, SetRolePermissions): `tessera:roles:escalate`.
    RoleContents,
    /// Role assignments (CreateUser, SetUserRoles): `tessera:users:bind`.
    Assignment,
    /// Acting as another user (see [`App::require_may_act_as`]): `tessera:users:bind`.
    ActingAs,
}

impl Granting {
    fn verb(self) -> &'static str {
        match self {
            Granting::RoleContents => perms::ROLES_ESCALATE,
            Granting::Assignment | Granting::ActingAs => perms::USERS_BIND,
        }
    }

    fn refusal(self) -> &'static str {
        match self {
            Granting::RoleContents | Granting::Assignment => {
                "caller would grant permissions it does not hold"
            }
            Granting::ActingAs => "caller would act as a user holding permissions it does not",
        }
    }
}

impl Caller {
    /// PERMISSION_DENIED, naming what is missing, unless the caller holds every permission
    /// of `granted` or the verb that lifts the rule.
    pub(super) fn require_holds(&self, granted: &PermissionSet, how: Granting) -> Result<()> {
        if self.has(how.verb()) {
            return Ok(());
        }
        let mut missing = super::effective::left_out(granted, self.permissions());
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        let more = missing.len().saturating_sub(LISTED);
        missing.truncate(LISTED);
        let mut listed = missing.join(" ");
        if more > 0 {
            listed.push_str(&format!(" and {more} more"));
        }
        Err(Error::denied(format!(
            "{}: {listed} (holding {} lifts this)",
            how.refusal(),
            how.verb()
        )))
    }
}

impl App {
    /// PERMISSION_DENIED, naming what is missing, unless `caller` may act as user
    /// `user_id`: it holds every permission that user holds, or `tessera:users:bind`.
    ///
    /// The one check for every call that would let the caller act as another user: setting
    /// its password, resetting its second factor, minting a session or key that *is* that
    /// user (the logins issue). Disabling a user, enabling it and revoking its tokens are
    /// not of this kind and need only their own permission. The user's roles count even
    /// while it is disabled: enabling it later must not hand over more than was checked.
    pub async fn require_may_act_as(&self, caller: &Caller, user_id: &str) -> Result<()> {
        let Some(user) = self.store.get_user(user_id).await? else {
            return Err(Error::NotFound(format!("user {user_id:?}")));
        };
        if user_id == caller.user_id() || caller.has(perms::USERS_BIND) {
            return Ok(());
        }
        let held = self.role_permissions(&user).await?;
        caller.require_holds(&held, Granting::ActingAs)
    }
}
