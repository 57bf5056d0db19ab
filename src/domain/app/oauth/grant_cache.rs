//! Facts that never change once written, kept in memory so a hot path need not read them
//! again: the fixed facts of grants (scopes, end of the family), for the refresh path, and
//! users' names, for RFC 7662's `username` (a user is never renamed).
//!
//! A grant's revocation is not read from here: revoking a grant revokes its tokens in the
//! same transaction, and a rotation only ends a refresh token that is still live
//! (`OAuthStore::rotate_refresh`), so a revoked grant can never be refreshed from a stale
//! copy.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::oauth_grant::OAuthGrant;

/// Most facts kept; past it the map starts over.
const MAX_FACTS: usize = 100_000;

/// Immutable values by id, bounded.
#[derive(Debug)]
pub(in crate::domain::app) struct FixedFacts<V> {
    facts: Mutex<HashMap<String, V>>,
}

impl<V> Default for FixedFacts<V> {
    fn default() -> FixedFacts<V> {
        FixedFacts {
            facts: Mutex::new(HashMap::new()),
        }
    }
}

/// Grants by id.
pub(in crate::domain::app) type GrantCache = FixedFacts<OAuthGrant>;
/// Users' names by id.
pub(in crate::domain::app) type UserNames = FixedFacts<String>;

impl<V: Clone> FixedFacts<V> {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, V>> {
        self.facts.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(in crate::domain::app) fn get(&self, id: &str) -> Option<V> {
        self.map().get(id).cloned()
    }

    pub(in crate::domain::app) fn put(&self, id: &str, value: &V) {
        let mut map = self.map();
        if map.len() >= MAX_FACTS {
            map.clear();
        }
        map.insert(id.to_owned(), value.clone());
    }
}
