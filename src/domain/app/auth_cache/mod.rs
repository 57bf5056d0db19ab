//! The in-process cache in front of the store on the Authorize / Introspect path.
//!
//! An entry holds a token record together with its owner's state and its effective permissions,
//! already computed: a warm check is a map lookup, a hash verify, an expiry comparison and a few
//! segment comparisons. Nothing is served past `expires_at` (compared on every hit), and the
//! secret is verified on every hit.
//!
//! Freshness:
//! - changes made through this process invalidate before the RPC returns: a role or user
//!   change goes into the change log (`change_log`) and makes stale the entries that depend
//!   on it only: its holders' tokens and the PATs bound to it, or that user's tokens; a
//!   single-token revocation bumps its shard's generation; a lost change feed bumps the
//!   global generation (every entry goes stale). A load records all of these as it starts,
//!   so a load racing with a change is stale the moment it lands;
//! - changes made elsewhere (another replica, a direct database edit) show within the TTL;
//! - unknown ids are remembered for a short while, so a flood of well-formed unknown tokens
//!   reaches the store once per id, not once per request.
//!
//! Memory is bounded: each shard holds at most its share of the capacity, evicting an
//! arbitrary entry when full.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::domain::clock::{Millis, millis};
use crate::domain::model::{OwnerState, TokenRecord};
use crate::domain::permission_set::PermissionSet;

mod change_log;

use change_log::ChangeLog;
pub use change_log::Changed;

const SHARDS: usize = 64;

/// Cache settings.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Most cached tokens; 0 turns the cache off (every check reads the store).
    pub capacity: usize,
    /// How long an entry is trusted without re-reading the store; bounds how late a change
    /// made outside this process is seen.
    pub ttl: Duration,
    /// Most remembered unknown ids.
    pub negative_capacity: usize,
    /// How long an unknown id is remembered (at most `ttl`). An id unknown now can only
    /// become known by being issued: through this process (which forgets the entry at once)
    /// or elsewhere (seen within the TTL like any outside change), so the TTL is safe here.
    pub negative_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> CacheConfig {
        CacheConfig {
            capacity: 100_000,
            ttl: Duration::from_secs(5),
            negative_capacity: 100_000,
            negative_ttl: Duration::from_secs(5),
        }
    }
}

/// A token with everything a check needs, as loaded from the store and cached; once it has
/// passed every check it is also what a caller acts with.
#[derive(Debug)]
pub struct ResolvedToken {
    pub record: TokenRecord,
    /// Anything but `Active` makes the token inactive.
    pub owner: OwnerState,
    /// Effective permissions, precomputed: capped by the parent's effective permissions.
    pub effective: PermissionSet,
    /// The roles `effective` was computed from (the owner's, and a PAT's bound role),
    /// sorted: a change to one of them, or to the owner, makes the entry stale.
    pub roles: Vec<String>,
    /// The credential that minted this one, as resolved when this entry was: a change to
    /// anything it depends on makes this entry stale too (see `lineage`).
    pub parent: Option<Arc<ResolvedToken>>,
    /// False when the parent is missing or inactive, the chain is deeper than allowed, or a
    /// PAT's bound role is gone: a token never outlives where its permissions come from.
    pub source_active: bool,
    /// The earliest expiry along the chain.
    pub expires_at: Option<Millis>,
    /// When the oldest store read this rests on was made, in monotonic time: the entry is
    /// trusted until `--cache-ttl` after it, so a cached parent never stretches the TTL and
    /// a wall clock stepped back never does either.
    pub read_at: Millis,
    /// For a session: whether its JWT passed the full check (`session_jwt::verify`), made
    /// the first time it is presented after this entry was loaded, so a warm check never
    /// verifies a signature again.
    pub signature: std::sync::OnceLock<Signature>,
}

/// What the full check of a session's JWT found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    Valid {
        /// When the key that signed it retires.
        retire_at: Option<Millis>,
        /// Whether the login included a second factor (`amr` holds `otp`).
        two_factor: bool,
    },
    Invalid,
}

impl ResolvedToken {
    /// Whether the token allows use at `now`: live, owner active, source active.
    pub fn is_active(&self, now: Millis) -> bool {
        self.usable() && self.expires_at.is_none_or(|exp| now < exp)
    }

    /// Everything `is_active` asks but time: not revoked, owner active, source active. A
    /// parent is judged by this alone (its children's expiry already includes its own).
    pub fn usable(&self) -> bool {
        self.owner == OwnerState::Active && self.source_active && self.record.revoked_at.is_none()
    }

    /// How many credentials minted this one, up the chain.
    pub fn depth(&self) -> usize {
        std::iter::successors(self.parent.as_deref(), |p| p.parent.as_deref()).count()
    }
}

/// The generations a load started under.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    global: u64,
    shard: u64,
    changes: u64,
}

pub enum Lookup {
    Hit(Arc<ResolvedToken>),
    /// Known not to exist (recently).
    Unknown,
    Miss,
}

struct Entry {
    token: Arc<ResolvedToken>,
    global: u64,
    shard: u64,
    /// Role and user changes this entry is known to be valid after (see `change_log`).
    valid_after: AtomicU64,
    loaded_at: Millis,
}

#[derive(Default)]
struct Maps {
    tokens: HashMap<Box<str>, Entry>,
    unknown: HashMap<Box<str>, (Millis, u64, u64)>,
}

#[derive(Default)]
struct Shard {
    generation: AtomicU64,
    maps: RwLock<Maps>,
    /// Held while a missing entry of this shard is loaded (single flight).
    loading: tokio::sync::Mutex<()>,
}

pub struct AuthCache {
    shards: Box<[Shard]>,
    global: AtomicU64,
    changes: ChangeLog,
    ttl_ms: Millis,
    negative_ttl_ms: Millis,
    per_shard: usize,
    negative_per_shard: usize,
}

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCache")
            .field("ttl_ms", &self.ttl_ms)
            .field("per_shard", &self.per_shard)
            .finish_non_exhaustive()
    }
}

/// Ids are uniformly random base62, so their first bytes spread evenly over the shards.
fn shard_index(id: &str) -> usize {
    id.bytes()
        .take(2)
        .fold(0usize, |acc, b| acc * 131 + usize::from(b))
        % SHARDS
}

impl AuthCache {
    /// `None` when the configuration turns caching off.
    pub fn new(config: &CacheConfig) -> Option<AuthCache> {
        if config.capacity == 0 {
            return None;
        }
        let ttl_ms = millis(config.ttl);
        Some(AuthCache {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            global: AtomicU64::new(0),
            changes: ChangeLog::default(),
            ttl_ms,
            negative_ttl_ms: millis(config.negative_ttl).min(ttl_ms),
            per_shard: config.capacity.div_ceil(SHARDS),
            negative_per_shard: config.negative_capacity.div_ceil(SHARDS),
        })
    }

    fn shard(&self, id: &str) -> &Shard {
        &self.shards[shard_index(id)]
    }

    /// Serialises loads within a shard, so concurrent misses for one id share a store read:
    /// the caller re-checks the cache once it holds the guard.
    pub async fn load_lock(&self, id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        self.shard(id).loading.lock().await
    }

    /// Taken before a load, so the entry is stale if anything changed meanwhile.
    pub fn snapshot(&self, id: &str) -> Snapshot {
        Snapshot {
            global: self.global.load(Ordering::Acquire),
            shard: self.shard(id).generation.load(Ordering::Acquire),
            changes: self.changes.seq(),
        }
    }

    fn current(&self, global: u64, shard_gen: u64, shard: &Shard) -> bool {
        global == self.global.load(Ordering::Acquire)
            && shard_gen == shard.generation.load(Ordering::Acquire)
    }

    /// `now` is monotonic time, as every time the cache compares.
    pub fn get(&self, id: &str, now: Millis) -> Lookup {
        let shard = self.shard(id);
        let maps = shard.maps.read().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = maps.tokens.get(id) {
            if now < e.loaded_at.saturating_add(self.ttl_ms)
                && self.current(e.global, e.shard, shard)
                && self.unchanged(e)
            {
                return Lookup::Hit(e.token.clone());
            }
            return Lookup::Miss;
        }
        if let Some(&(at, global, shard_gen)) = maps.unknown.get(id) {
            if now < at.saturating_add(self.negative_ttl_ms)
                && self.current(global, shard_gen, shard)
            {
                return Lookup::Unknown;
            }
        }
        Lookup::Miss
    }

    /// Whether no role or user change since the entry was last validated touches it.
    fn unchanged(&self, e: &Entry) -> bool {
        let seen = e.valid_after.load(Ordering::Acquire);
        if seen == self.changes.seq() {
            return true;
        }
        match self.changes.untouched_since(seen, &e.token) {
            Some(now) => {
                e.valid_after.fetch_max(now, Ordering::AcqRel);
                true
            }
            None => false,
        }
    }

    /// Stores what a load found (`None`: no such token); true when an entry was evicted to
    /// make room.
    pub fn put(
        &self,
        id: &str,
        found: Option<Arc<ResolvedToken>>,
        snap: Snapshot,
        now: Millis,
    ) -> bool {
        let shard = self.shard(id);
        let mut maps = shard.maps.write().unwrap_or_else(|p| p.into_inner());
        let mut evicted = false;
        match found {
            Some(token) => {
                maps.unknown.remove(id);
                if maps.tokens.len() >= self.per_shard && !maps.tokens.contains_key(id) {
                    evicted = evict_one(&mut maps.tokens);
                }
                let entry = Entry {
                    token,
                    global: snap.global,
                    shard: snap.shard,
                    valid_after: AtomicU64::new(snap.changes),
                    loaded_at: now,
                };
                maps.tokens.insert(id.into(), entry);
            }
            None => {
                maps.tokens.remove(id);
                if maps.unknown.len() >= self.negative_per_shard && !maps.unknown.contains_key(id) {
                    evicted = evict_one(&mut maps.unknown);
                }
                maps.unknown
                    .insert(id.into(), (now, snap.global, snap.shard));
            }
        }
        evicted
    }

    /// Changes may have been missed (a lost change feed): every entry is stale.
    pub fn invalidate_all(&self) {
        self.global.fetch_add(1, Ordering::AcqRel);
    }

    /// A role or a user changed: the entries that depend on it are stale.
    pub fn invalidate(&self, change: Changed) {
        self.changes.record(change);
    }

    /// One token changed (revoked, or just issued): its entry and any load in flight for it
    /// are stale. Its descendants are reached through `Changed::Token`.
    pub fn invalidate_token(&self, id: &str) {
        let shard = self.shard(id);
        shard.generation.fetch_add(1, Ordering::AcqRel);
        let mut maps = shard.maps.write().unwrap_or_else(|p| p.into_inner());
        maps.tokens.remove(id);
        maps.unknown.remove(id);
    }

    /// Entries held now (valid or stale), for measurements.
    pub fn entries(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.maps
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .tokens
                    .len()
            })
            .sum()
    }
}

fn evict_one<V>(map: &mut HashMap<Box<str>, V>) -> bool {
    match map.keys().next().cloned() {
        Some(key) => map.remove(&key).is_some(),
        None => false,
    }
}

#[cfg(test)]
mod tests;
