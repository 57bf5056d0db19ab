//! From a presented token text to an active token and its effective permissions, computed now.
//!
//! Effective permissions are never frozen at issue time:
//! - PAT: the role's permissions now ∩ the owner's permissions now ∩ the creating credential's
//!   permissions at issue (its `cap`);
//! - API key: its fixed scopes ∩ the subject's permissions now (∩ its `cap`, if any).
//!
//! A user's permissions are the union of its roles'; a disabled user has none and its tokens
//! are inactive.

use super::App;
use crate::domain::error::Result;
use crate::domain::model::{Role, TokenRecord, User};
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::{self, MAX_TOKEN_LEN, TokenKind};

/// A token that passed every check, with what it may do right now.
#[derive(Debug, Clone)]
pub struct ActiveToken {
    pub record: TokenRecord,
    pub effective: PermissionSet,
}

/// The union of the permissions of the roles in `roles` that `user` holds.
pub(super) fn user_permissions(user: &User, roles: &[Role]) -> PermissionSet {
    if user.disabled {
        return PermissionSet::empty();
    }
    roles
        .iter()
        .filter(|r| user.roles.contains(&r.name))
        .fold(PermissionSet::empty(), |acc, r| acc.union(&r.permissions))
}

/// The token's own grant before the owner's permissions are applied: fixed scopes for an API
/// key, the bound role's permissions for a PAT; narrowed by the cap when there is one.
pub(super) fn token_grant(record: &TokenRecord, roles: &[Role]) -> PermissionSet {
    let own = match record.kind {
        TokenKind::ApiKey => record.scopes.clone(),
        TokenKind::Pat => roles
            .iter()
            .find(|r| Some(&r.name) == record.role.as_ref())
            .map(|r| r.permissions.clone())
            .unwrap_or_default(),
    };
    match &record.cap {
        Some(cap) => own.intersect(cap),
        None => own,
    }
}

impl App {
    /// Resolves a presented token. `Ok(None)` means inactive — malformed, unknown, wrong
    /// secret, expired, revoked or owner disabled — and deliberately says no more.
    /// Errors are store faults only; they never turn into an answer that lets anyone in.
    pub(crate) async fn resolve(&self, presented: &str) -> Result<Option<ActiveToken>> {
        if presented.len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        let text = token_format::strip_bearer(presented);
        let Some(parsed) = token_format::parse(text) else {
            return Ok(None);
        };
        let Some(record) = self.store.get_token(parsed.id).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if record.kind != parsed.kind
            || !self.hasher.verify(parsed.text, &record.secret_hash)
            || !record.is_live(now)
        {
            return Ok(None);
        }
        let Some(user) = self.store.get_user(&record.subject).await? else {
            return Ok(None);
        };
        if user.disabled {
            return Ok(None);
        }
        let mut names = user.roles.clone();
        if let Some(role) = &record.role {
            if !names.contains(role) {
                names.push(role.clone());
            }
        }
        let roles = self.store.get_roles(&names).await?;
        let effective = token_grant(&record, &roles).intersect(&user_permissions(&user, &roles));
        self.usage.record(&record.id, now);
        Ok(Some(ActiveToken { record, effective }))
    }

    /// A user's permissions now (empty when disabled).
    pub(super) async fn permissions_of(&self, user: &User) -> Result<PermissionSet> {
        let roles = self.store.get_roles(&user.roles).await?;
        Ok(user_permissions(user, &roles))
    }
}
