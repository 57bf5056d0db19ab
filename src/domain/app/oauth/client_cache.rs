//! Clients with their secret hashes, kept in memory for the grants: every grant
//! authenticates its client, and a store read per grant was the largest cost of a
//! client-credentials or refresh grant after the write itself.
//!
//! The same bound as the token cache: an entry is trusted for `--cache-ttl`; a change made
//! through this process (a secret rotated, the client disabled, edited or deleted) drops it
//! at once, and one made on another replica reaches it through the change feed
//! (`ChangeSink::client_changed`), as it reaches the tokens issued to that client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::domain::clock::Millis;
use crate::domain::oauth_client::{ClientSecrets, OAuthClient};

/// Most clients kept; past it the map starts over (apps are few; this only bounds memory
/// against a flood of ids that do exist).
const MAX_CLIENTS: usize = 10_000;

pub(in crate::domain::app) type Entry = Arc<(OAuthClient, ClientSecrets)>;

#[derive(Debug, Default)]
pub(in crate::domain::app) struct ClientCache {
    /// Monotonic milliseconds an entry is trusted for; 0 turns the cache off.
    ttl: Millis,
    entries: Mutex<HashMap<String, (Entry, Millis)>>,
    /// Bumped by every invalidation: a read that began before one is not kept.
    generation: AtomicU64,
}

impl ClientCache {
    pub(in crate::domain::app) fn new(ttl: std::time::Duration, enabled: bool) -> ClientCache {
        ClientCache {
            ttl: match enabled {
                true => crate::domain::clock::millis(ttl),
                false => 0,
            },
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// Taken before a store read, handed to [`Self::put`] with its result.
    pub(in crate::domain::app) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Entry, Millis)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The entry for `id` read at or after `at - ttl`.
    pub(in crate::domain::app) fn get(&self, id: &str, at: Millis) -> Option<Entry> {
        if self.ttl == 0 {
            return None;
        }
        match self.map().get(id) {
            Some((entry, read_at)) if at.saturating_sub(*read_at) < self.ttl => Some(entry.clone()),
            _ => None,
        }
    }

    /// Keeps what a store read `read_at` found, unless the client changed since the read
    /// began (`generation` then differs: see [`Self::generation`]).
    pub(in crate::domain::app) fn put(
        &self,
        id: &str,
        entry: Entry,
        read_at: Millis,
        generation: u64,
    ) {
        if self.ttl == 0 {
            return;
        }
        let mut map = self.map();
        // Checked under the lock that invalidations take too.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if map.len() >= MAX_CLIENTS {
            map.clear();
        }
        map.insert(id.to_owned(), (entry, read_at));
    }

    pub(in crate::domain::app) fn forget(&self, id: &str) {
        let mut map = self.map();
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(id);
    }

    pub(in crate::domain::app) fn forget_all(&self) {
        let mut map = self.map();
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.clear();
    }
}
