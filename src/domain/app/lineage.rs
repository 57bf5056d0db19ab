//! Derived tokens follow their source.
//!
//! Every token minted with an API key or a PAT records that credential (`created_by`,
//! shown as `parent_token_id`). A child is active only while its parent is, and its
//! effective permissions are met with the parent's effective permissions *now*: narrowing
//! the parent (its role, its owner's roles, its owner disabled) narrows or ends the child at
//! its next check, as Vault's child tokens do. Revoking a parent revokes its descendants in
//! the same store transaction (see the store's revocations); the check path does not rely
//! on that alone, because a parent can also stop being active without being revoked.
//!
//! The parent is resolved through the cache like any token, so a cold check of a child
//! whose parent is warm (a minting service's key) is still one store read. The child's
//! entry holds the parent's, so a change touching any credential up the chain makes the
//! child stale (`Changed::touches`), and it is trusted no longer than its oldest read.
//!
//! The chain is at most [`MAX_DEPTH`] credentials above a token: a token that deep cannot
//! mint another. The walk up stops there too, so a chain made deeper or circular by hand
//! grants nothing and never loops.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::auth_cache::ResolvedToken;
use super::{App, effective};
use crate::domain::clock::Millis;
use crate::domain::error::{Error, Result};
use crate::domain::model::{OwnerState, TokenAccess};
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::TokenKind;

/// Most credentials above any token: a root (the bootstrap key, a seeded key, later a
/// login session's PAT) and up to 8 generations of tokens minted from it below.
pub const MAX_DEPTH: usize = 8;

/// What a lookup found.
pub(super) struct Found {
    /// `None`: no such token.
    pub token: Option<Arc<ResolvedToken>>,
    /// False when the walk up the chain ran out of depth on the way: the answer then
    /// depends on where the walk began, so it is never cached.
    pub complete: bool,
}

type Boxed<'a> = Pin<Box<dyn Future<Output = Result<Found>> + Send + 'a>>;

impl App {
    /// Reads a token with its owner and roles (one store round trip), resolves its parent
    /// (`budget` more levels allowed) and computes its effective permissions. `at` is the
    /// monotonic time of the lookup (the cache's clock).
    ///
    /// Boxed: it recurses through the parent's lookup, and a boxed future's `Send` is
    /// declared rather than inferred around that cycle. Only misses pay for the box.
    pub(super) fn load<'a>(&'a self, id: &'a str, at: Millis, budget: usize) -> Boxed<'a> {
        Box::pin(self.load_unboxed(id, at, budget))
    }

    async fn load_unboxed(&self, id: &str, at: Millis, budget: usize) -> Result<Found> {
        let Some(access) = self.store.token_access(id).await? else {
            return Ok(Found {
                token: None,
                complete: true,
            });
        };
        if access.owner != OwnerState::Active {
            return Ok(complete(inactive(access, None, true, at)));
        }
        // A token issued to an app lives only while the app exists and is enabled.
        if access.record.client_id.is_some() && access.client.as_ref().is_none_or(|c| c.disabled) {
            return Ok(complete(inactive(access, None, false, at)));
        }
        // A PAT whose role is gone (deleted, or deleted while the PAT was being issued)
        // can never grant again: a role re-created under that name is another role.
        if access.record.kind == TokenKind::Pat && access.bound_role.is_none() {
            return Ok(complete(inactive(access, None, false, at)));
        }
        let parent = match access.record.created_by.clone() {
            None => None,
            Some(_) if budget == 0 => {
                tracing::warn!(token_id = %access.record.id, max_depth = MAX_DEPTH, "a token's chain of parents is deeper than allowed; it grants nothing");
                return Ok(Found {
                    token: Some(inactive(access, None, false, at)),
                    complete: false,
                });
            }
            Some(parent_id) => {
                let found = self.lookup(&parent_id, at, budget - 1).await?;
                match found.token {
                    Some(parent) => Some((parent, found.complete)),
                    // Its source is gone from the store: never active again.
                    None => return Ok(complete(inactive(access, None, false, at))),
                }
            }
        };
        let whole = parent.as_ref().is_none_or(|(_, c)| *c);
        let parent = parent.map(|(p, _)| p);
        if let Some(p) = parent.as_ref().filter(|p| !p.usable()) {
            let p = p.clone();
            return Ok(Found {
                token: Some(inactive(access, Some(p), false, at)),
                complete: whole,
            });
        }
        let token = self.compute(access, parent, at).await?;
        Ok(Found {
            token: Some(token),
            complete: whole,
        })
    }

    /// The effective permissions of an active-owner token below an active parent (if any).
    async fn compute(
        &self,
        access: TokenAccess,
        parent: Option<Arc<ResolvedToken>>,
        at: Millis,
    ) -> Result<Arc<ResolvedToken>> {
        let roles = dependencies(&access);
        let mut chain = effective::own_chain(&access.record, access.bound_role.as_ref());
        // A user's token is capped by the user's permissions now; an app's own token
        // (client credentials) has no user, only the client's scopes below.
        if !acts_for_client(&access) {
            chain.push(effective::union_of(effective::role_sets(&access.owner_roles)).await?);
        }
        chain.extend(access.client.as_ref().map(|c| c.scopes.clone()));
        chain.extend(parent.as_ref().map(|p| p.effective.clone()));
        // Past a bound (a role widened since issue), the token grants nothing rather than
        // make every check pay for an unbounded computation: never an ALLOW too many.
        let effective = effective::meet_all(chain).await?.unwrap_or_else(|e| {
            tracing::warn!(token_id = %access.record.id, error = %e, "a token's effective permissions pass a bound; it grants nothing");
            PermissionSet::empty()
        });
        let (expires_at, read_at) = chained(&access, parent.as_deref(), at);
        Ok(Arc::new(ResolvedToken {
            record: access.record,
            owner: OwnerState::Active,
            effective,
            roles,
            parent,
            source_active: true,
            expires_at,
            read_at,
            signature: Default::default(),
        }))
    }
}

/// FAILED_PRECONDITION for a credential already [`MAX_DEPTH`] deep: it may not mint.
pub(super) fn require_room_below(depth: usize) -> Result<()> {
    if depth >= MAX_DEPTH {
        return Err(Error::FailedPrecondition(format!(
            "the caller's credential is {depth} generations below its root; tokens are derived at most {MAX_DEPTH} deep"
        )));
    }
    Ok(())
}

/// Whether the token is an app's own (client credentials): its subject is its client.
fn acts_for_client(access: &TokenAccess) -> bool {
    access.record.client_id.as_deref() == Some(access.record.subject.as_str())
}

fn complete(token: Arc<ResolvedToken>) -> Found {
    Found {
        token: Some(token),
        complete: true,
    }
}

/// The roles an entry depends on: the owner's, and a PAT's bound role by name, whether or
/// not it exists now (a role created under that name later must reach this entry too).
fn dependencies(access: &TokenAccess) -> Vec<String> {
    let mut roles: Vec<String> = access
        .owner_roles
        .iter()
        .map(|r| r.name.clone())
        .chain(access.record.role.clone())
        .collect();
    roles.sort_unstable();
    roles.dedup();
    roles
}

/// The earliest expiry and the oldest read (monotonic) along the chain.
fn chained(
    access: &TokenAccess,
    parent: Option<&ResolvedToken>,
    at: Millis,
) -> (Option<Millis>, Millis) {
    let own = access.record.expires_at;
    match parent {
        None => (own, at),
        Some(p) => {
            let expires = match (own, p.expires_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            (expires, at.min(p.read_at))
        }
    }
}

/// A token that grants nothing: its owner is not active, or its source is not
/// (`source_active` false).
fn inactive(
    access: TokenAccess,
    parent: Option<Arc<ResolvedToken>>,
    source_active: bool,
    at: Millis,
) -> Arc<ResolvedToken> {
    let roles = dependencies(&access);
    let (expires_at, read_at) = chained(&access, parent.as_deref(), at);
    Arc::new(ResolvedToken {
        source_active,
        record: access.record,
        owner: access.owner,
        effective: PermissionSet::empty(),
        roles,
        parent,
        expires_at,
        read_at,
        signature: Default::default(),
    })
}
