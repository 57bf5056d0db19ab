//! From a presented token text to an active token and its effective permissions, computed now
//! (see `effective`). A disabled user has no permissions and its tokens are inactive.

use std::sync::Arc;

use super::auth_cache::{Changed, Lookup, ResolvedToken};
use super::{App, effective};
use crate::domain::clock::Millis;
use crate::domain::error::Result;
use crate::domain::model::OwnerState;
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format;

/// Longest a cache miss waits for another check's load of the same shard before loading for
/// itself; a healthy load takes about a millisecond.
const LOAD_LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

impl App {
    /// Resolves a presented token. `Ok(None)` means inactive — malformed, unknown, wrong
    /// secret, expired, revoked or owner disabled — and deliberately says no more.
    /// Errors are store faults only; they never turn into an answer that lets anyone in.
    pub(crate) async fn resolve(&self, presented: &str) -> Result<Option<Arc<ResolvedToken>>> {
        let Some(parsed) = token_format::parse_presented(presented) else {
            return Ok(None);
        };
        let now = self.clock.now();
        let Some(resolved) = self.lookup(parsed.id, now).await? else {
            return Ok(None);
        };
        let record = &resolved.record;
        if resolved.owner != OwnerState::Active
            || record.kind != parsed.kind
            || !record.is_live(now)
            || !self.hasher.verify(parsed.text, &record.secret_hash)
        {
            return Ok(None);
        }
        self.usage.record(&record.id, now);
        Ok(Some(resolved))
    }

    /// The token with this id, from the cache when it holds a current entry, else from the
    /// store (and then cached). `None`: no such token.
    async fn lookup(&self, id: &str, now: Millis) -> Result<Option<Arc<ResolvedToken>>> {
        let Some(cache) = &self.cache else {
            return self.load(id).await;
        };
        match cache.get(id, now) {
            Lookup::Hit(found) => return Ok(Some(found)),
            Lookup::Unknown => return Ok(None),
            Lookup::Miss => {}
        }
        // One load per shard at a time: checks that miss together (a hot entry reaching its
        // TTL) wait for one store read instead of each making one. The wait is bounded: when
        // loads are slow (a store timing out), each check makes its own read rather than
        // queueing behind every other miss in its shard.
        let _loading = tokio::time::timeout(LOAD_LOCK_WAIT, cache.load_lock(id))
            .await
            .ok();
        match cache.get(id, now) {
            Lookup::Hit(found) => return Ok(Some(found)),
            Lookup::Unknown => return Ok(None),
            Lookup::Miss => {}
        }
        let snap = cache.snapshot(id);
        let loaded = self.load(id).await?;
        cache.put(id, loaded.clone(), snap, now);
        Ok(loaded)
    }

    /// Reads a token with its owner and roles (one store round trip) and computes its
    /// effective permissions. `None`: no such token.
    async fn load(&self, id: &str) -> Result<Option<Arc<ResolvedToken>>> {
        let Some(access) = self.store.token_access(id).await? else {
            return Ok(None);
        };
        if access.owner != OwnerState::Active {
            return Ok(Some(Arc::new(ResolvedToken {
                record: access.record,
                owner: access.owner,
                effective: PermissionSet::empty(),
                roles: Vec::new(),
            })));
        }
        // A PAT's bound role by name, whether or not it exists now: a role created under
        // that name later must reach this entry too.
        let mut roles: Vec<String> = access
            .owner_roles
            .iter()
            .map(|r| r.name.clone())
            .chain(access.record.role.clone())
            .collect();
        roles.sort_unstable();
        roles.dedup();
        let owner = effective::union_of(effective::role_sets(&access.owner_roles)).await?;
        let mut chain = effective::own_chain(&access.record, access.bound_role.as_ref());
        chain.push(owner);
        // Past a bound (a role widened since issue), the token grants nothing rather than
        // make every check pay for an unbounded computation: never an ALLOW too many.
        let effective = effective::meet_all(chain).await?.unwrap_or_else(|e| {
            tracing::warn!(token_id = %access.record.id, error = %e, "a token's effective permissions pass a bound; it grants nothing");
            PermissionSet::empty()
        });
        Ok(Some(Arc::new(ResolvedToken {
            record: access.record,
            owner: OwnerState::Active,
            effective,
            roles,
        })))
    }

    /// Changes may have been missed: nothing cached can be trusted.
    pub(super) fn invalidate_all(&self) {
        if let Some(cache) = &self.cache {
            cache.invalidate_all();
        }
    }

    /// A role changed (here or elsewhere): its holders' tokens and the PATs bound to it must
    /// be read again.
    pub(super) fn invalidate_role(&self, name: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate(Changed::Role(name.into()));
        }
    }

    /// A user changed (here or elsewhere): its tokens must be read again.
    pub(super) fn invalidate_user(&self, id: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate(Changed::User(id.into()));
        }
    }

    /// One token changed through this process.
    pub(super) fn invalidate_token(&self, id: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate_token(id);
        }
    }
}

/// Changes committed elsewhere, reported by the store's change feed.
impl crate::domain::ports::ChangeSink for App {
    fn token_changed(&self, id: &str) {
        self.invalidate_token(id);
    }

    fn role_changed(&self, name: &str) {
        self.invalidate_role(name);
    }

    fn user_changed(&self, id: &str) {
        self.invalidate_user(id);
    }

    fn everything_changed(&self) {
        self.invalidate_all();
    }
}
