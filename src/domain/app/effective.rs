//! Effective permissions: how a token's own set, its cap and its owner's roles combine, and
//! where that work runs.
//!
//! Effective permissions are never frozen at issue time:
//! - PAT: the role's permissions now ∩ the owner's permissions now ∩ the creating
//!   credential's permissions at issue (its `cap`);
//! - API key: its fixed scopes ∩ the subject's permissions now (∩ its `cap`, if any).
//!
//! A user's permissions are the union of its roles'. The work is done per check, not kept
//! per user: the set operations cost about what they produce, and the first time a given
//! combination is met it is remembered by what was read (`permission_set::memo`), so a
//! change is seen by the very next store read and needs no invalidation of its own. Work
//! that is neither small nor remembered runs on tokio's blocking pool: a user holding
//! 10,000 permissions, met for the first time, must not hold up an async worker and the
//! calls queued behind it.

use super::App;
use crate::domain::error::{Error, Result};
use crate::domain::model::{Role, TokenRecord, User};
use crate::domain::permission_set::{PermissionSet, QUICK_MEMBERS, SetTooLarge};
use crate::domain::token_format::TokenKind;

/// The union of these sets, computed off the async workers when it is real work.
pub(super) async fn union_of(sets: Vec<PermissionSet>) -> Result<PermissionSet> {
    if let Some(quick) = PermissionSet::union_all_quick(&sets) {
        return Ok(quick);
    }
    blocking(move || PermissionSet::union_all(&sets)).await
}

/// The intersection of these sets in order, computed off the async workers from the first
/// step that is real work. The inner error: the result would pass a bound.
pub(super) async fn meet_all(
    sets: Vec<PermissionSet>,
) -> Result<std::result::Result<PermissionSet, SetTooLarge>> {
    let mut sets = sets.into_iter();
    let Some(mut acc) = sets.next() else {
        return Ok(Ok(PermissionSet::empty()));
    };
    let mut rest: Vec<PermissionSet> = Vec::new();
    for next in sets.by_ref() {
        match acc.intersect_quick(&next) {
            Some(Ok(met)) => acc = met,
            Some(Err(e)) => return Ok(Err(e)),
            None => {
                rest.push(next);
                break;
            }
        }
    }
    if rest.is_empty() {
        return Ok(Ok(acc));
    }
    rest.extend(sets);
    blocking(move || rest.iter().try_fold(acc, |acc, next| acc.intersect(next))).await
}

/// The patterns of `asked` that `kept` does not cover: what a cap left out (`stripped_scopes`)
/// or what a caller lacks.
pub(super) fn left_out(asked: &PermissionSet, kept: &PermissionSet) -> Vec<String> {
    asked
        .iter()
        .filter(|p| !kept.covers(p))
        .map(|p| p.to_string())
        .collect()
}

/// The members as sorted strings (what Issue, Introspect and ListTokens answer with), off
/// the async workers for a large set.
pub(super) async fn strings_of(set: PermissionSet) -> Result<Vec<String>> {
    if set.len() < QUICK_MEMBERS {
        return Ok(set.to_strings());
    }
    blocking(move || set.to_strings()).await
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal(Box::new(e)))
}

/// The permissions of `roles`, for [`union_of`].
pub(super) fn role_sets<'a>(roles: impl IntoIterator<Item = &'a Role>) -> Vec<PermissionSet> {
    roles.into_iter().map(|r| r.permissions.clone()).collect()
}

/// What a token's own permissions are met with, in order: its own set (fixed scopes for an
/// API key, the bound role's permissions for a PAT), then its cap when it has one.
pub(super) fn own_chain(record: &TokenRecord, bound: Option<&Role>) -> Vec<PermissionSet> {
    let own = match record.kind {
        // A session's stored scopes are `*`: it acts with its user's permissions now.
        // An OAuth token's stored scopes are what was granted; the client's scopes now
        // and (for a user's token) the user's permissions now cap them.
        TokenKind::ApiKey
        | TokenKind::Session
        | TokenKind::OAuthAccess
        | TokenKind::OAuthRefresh => record.scopes.clone(),
        TokenKind::Pat => bound
            .filter(|r| Some(&r.id) == record.role_id.as_ref())
            .map(|r| r.permissions.clone())
            .unwrap_or_default(),
    };
    let mut chain = vec![own];
    chain.extend(record.cap.clone());
    chain
}

impl App {
    /// A user's permissions now: the union of its roles' (empty when disabled).
    pub(super) async fn permissions_of(&self, user: &User) -> Result<PermissionSet> {
        if user.disabled {
            return Ok(PermissionSet::empty());
        }
        self.role_permissions(user).await
    }

    /// The union of a user's roles' permissions, disabled or not.
    pub(super) async fn role_permissions(&self, user: &User) -> Result<PermissionSet> {
        let roles = self.store.get_roles(&user.roles).await?;
        union_of(role_sets(
            roles.iter().filter(|r| user.roles.contains(&r.name)),
        ))
        .await
    }
}
