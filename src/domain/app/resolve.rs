//! From a presented token text to an active token and its effective permissions, computed now
//! (see `effective`), capped by its parent's (see `lineage`). A disabled user has no
//! permissions and its tokens are inactive.

use std::sync::Arc;

use super::App;
use super::auth_cache::{Changed, Lookup, ResolvedToken};
use super::lineage::{Found, MAX_DEPTH};
use crate::domain::clock::Millis;
use crate::domain::error::Result;
use crate::domain::token_format::{self, TokenKind};

/// A cache answer as a lookup's result; `None` on a miss.
fn cached(lookup: Lookup) -> Option<Found> {
    match lookup {
        Lookup::Hit(found) => Some(Found {
            token: Some(found),
            complete: true,
        }),
        Lookup::Unknown => Some(Found {
            token: None,
            complete: true,
        }),
        Lookup::Miss => None,
    }
}

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
        // Expiry is a date (wall time); the cache's age is monotonic time.
        let now = self.clock.now();
        let at = self.clock.monotonic();
        let Some(resolved) = self.lookup(&parsed.id, at, MAX_DEPTH).await?.token else {
            return Ok(None);
        };
        let record = &resolved.record;
        // A refresh token is no bearer credential: it is good for the refresh grant only.
        if !resolved.is_active(now)
            || record.kind != parsed.kind
            || record.kind == TokenKind::OAuthRefresh
            || !self.hasher.verify(parsed.text, &record.secret_hash)
        {
            return Ok(None);
        }
        // A session's text is the very JWT tessera signed (its hash matched); the JWT itself
        // must still pass: key, signature, claims.
        if record.kind == TokenKind::Session
            && !self.session_passes(&resolved, parsed.text, now).await?
        {
            return Ok(None);
        }
        self.usage.record(&record.id, now);
        Ok(Some(resolved))
    }

    /// The token with this id, from the cache when it holds a current entry, else from the
    /// store (and then cached). `at` is monotonic time (see `clock`). `budget`: how many
    /// more parents the walk up may take (see `lineage`); the presented token's own lookup
    /// has [`MAX_DEPTH`].
    pub(super) async fn lookup(&self, id: &str, at: Millis, budget: usize) -> Result<Found> {
        let Some(cache) = &self.cache else {
            return self.load(id, at, budget).await;
        };
        if let Some(found) = cached(cache.get(id, at)) {
            self.metrics.cache_hit();
            return Ok(found);
        }
        // One load per shard at a time: checks that miss together (a hot entry reaching its
        // TTL) wait for one store read instead of each making one. The wait is bounded: when
        // loads are slow (a store timing out), each check makes its own read rather than
        // queueing behind every other miss in its shard. A parent's lookup, made inside
        // its child's load, takes no lock: it may fall in the shard its child holds.
        let _loading = match budget == MAX_DEPTH {
            true => tokio::time::timeout(LOAD_LOCK_WAIT, cache.load_lock(id))
                .await
                .ok(),
            false => None,
        };
        if let Some(found) = cached(cache.get(id, at)) {
            // Another check loaded it meanwhile: this one read nothing.
            self.metrics.cache_hit();
            return Ok(found);
        }
        self.metrics.cache_miss();
        let snap = cache.snapshot(id);
        let found = self.load(id, at, budget).await?;
        if found.complete {
            let read_at = found.token.as_ref().map_or(at, |t| t.read_at);
            if cache.put(id, found.token.clone(), snap, read_at) {
                self.metrics.cache_eviction();
            }
        }
        Ok(found)
    }

    /// Changes may have been missed: nothing cached can be trusted.
    pub(super) fn invalidate_all(&self) {
        self.clients.forget_all();
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

    /// A client changed (here or elsewhere): the tokens issued to it must be read again.
    pub(super) fn invalidate_client(&self, id: &str) {
        self.clients.forget(id);
        if let Some(cache) = &self.cache {
            cache.invalidate(super::auth_cache::Changed::Client(id.into()));
        }
    }

    /// One token was just issued through this process: forget a remembered "unknown".
    pub(super) fn invalidate_token(&self, id: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate_token(id);
        }
    }

    /// A token was revoked or edited (here or elsewhere): it and every token derived from
    /// it must be read again.
    pub(super) fn invalidate_lineage(&self, id: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate_token(id);
            cache.invalidate(Changed::Token(id.into()));
        }
    }
}

/// Changes committed elsewhere, reported by the store's change feed.
impl crate::domain::ports::ChangeSink for App {
    fn token_changed(&self, id: &str) {
        self.invalidate_lineage(id);
    }

    fn role_changed(&self, name: &str) {
        self.invalidate_role(name);
    }

    fn user_changed(&self, id: &str) {
        self.invalidate_user(id);
    }

    fn client_changed(&self, id: &str) {
        self.invalidate_client(id);
    }

    fn everything_changed(&self) {
        self.invalidate_all();
    }
}
