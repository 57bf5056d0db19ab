//! No escalation through tessera: nobody grants what it does not hold.
//!
//! The rule is Kubernetes RBAC's: a caller may create or change a role only with
//! permissions it holds, and assign a role only if it holds that role's permissions, unless
//! it holds the verb that lifts the rule (`tessera:roles:escalate` for role contents,
//! `tessera:users:bind` for assignments). Vault's child tokens follow the same rule. Holding
//! `tessera:roles:write` or `tessera:users:write` alone is then never a path to more.

use super::{Caller, perms};
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
}

impl Granting {
    fn verb(self) -> &'static str {
        match self {
            Granting::RoleContents => perms::ROLES_ESCALATE,
            Granting::Assignment => perms::USERS_BIND,
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
        let mut missing: Vec<String> = granted
            .iter()
            .filter(|p| !self.permissions().covers(p))
            .map(|p| p.to_string())
            .collect();
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
            "caller would grant permissions it does not hold: {listed} (holding {} lifts this)",
            how.verb()
        )))
    }
}
