//! The fixed facts of grants (scopes, end of the family), kept for the refresh path. A
//! grant's scopes and end never change, and its revocation is not read from here: revoking
//! a grant revokes its tokens in the same transaction, and a rotation only ends a refresh
//! token that is still live (`OAuthStore::rotate_refresh`), so a revoked grant can never
//! be refreshed from a stale copy.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::oauth_grant::OAuthGrant;

/// Most grants kept; past it the map starts over.
const MAX_GRANTS: usize = 100_000;

#[derive(Debug, Default)]
pub(in crate::domain::app) struct GrantCache {
    grants: Mutex<HashMap<String, OAuthGrant>>,
}

impl GrantCache {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, OAuthGrant>> {
        self.grants.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(in crate::domain::app) fn get(&self, id: &str) -> Option<OAuthGrant> {
        self.map().get(id).cloned()
    }

    pub(in crate::domain::app) fn put(&self, grant: &OAuthGrant) {
        let mut map = self.map();
        if map.len() >= MAX_GRANTS {
            map.clear();
        }
        map.insert(grant.id.clone(), grant.clone());
    }
}
