//! Recent role, user, token and client changes, so that a change makes stale only the entries that depend
//! on it.
//!
//! Each change gets the next sequence number. A cache entry remembers the number it was last
//! validated at; on a hit with newer changes, the entry scans just those and either stays
//! valid (none touches its owner or its roles), moving its mark forward, or is a miss. A
//! change edited 20 times a second therefore costs each unrelated entry one short scan per
//! edit, instead of a store read. Only the last [`CAPACITY`] changes are kept: an entry
//! validated before them is a miss, as every entry was before targeted invalidation.

use std::collections::VecDeque;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ResolvedToken;

/// Changes kept for scanning.
const CAPACITY: usize = 4096;

/// What a role or user change touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// A role's permissions changed, or the role was deleted.
    Role(Box<str>),
    /// A user's roles or state changed, or its tokens were revoked together.
    User(Box<str>),
    /// A token was revoked or edited: tokens derived from it depend on it.
    Token(Box<str>),
    /// An OAuth client changed (scopes, state) or went: the tokens issued to it.
    Client(Box<str>),
}

impl Changed {
    /// Whether the change touches the token or any credential up its chain.
    fn touches(&self, token: &ResolvedToken) -> bool {
        std::iter::successors(Some(token), |t| t.parent.as_deref()).any(|t| match self {
            Changed::User(id) => **id == *t.record.subject,
            Changed::Role(name) => t.roles.binary_search_by(|r| r.as_str().cmp(name)).is_ok(),
            Changed::Token(id) => **id == *t.record.id,
            Changed::Client(id) => t.record.client_id.as_deref() == Some(&**id),
        })
    }
}

#[derive(Default)]
pub(super) struct ChangeLog {
    /// Sequence number of the next change; written only under `recent`'s write lock.
    next: AtomicU64,
    /// The newest changes, oldest first: `recent[i]` is number `next - recent.len() + i`.
    recent: RwLock<VecDeque<Changed>>,
}

impl ChangeLog {
    /// Changes recorded so far.
    pub fn seq(&self) -> u64 {
        self.next.load(Ordering::Acquire)
    }

    pub fn record(&self, change: Changed) {
        let mut recent = self.recent.write().unwrap_or_else(|p| p.into_inner());
        if recent.len() == CAPACITY {
            recent.pop_front();
        }
        recent.push_back(change);
        self.next.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether `token`, validated after `since` changes, is untouched by every later one;
    /// if so, the sequence number it is now valid at.
    pub fn untouched_since(&self, since: u64, token: &ResolvedToken) -> Option<u64> {
        let recent = self.recent.read().unwrap_or_else(|p| p.into_inner());
        let now = self.next.load(Ordering::Acquire);
        let oldest = now - recent.len() as u64;
        if since < oldest {
            return None;
        }
        let skip = usize::try_from(since - oldest).ok()?;
        recent
            .iter()
            .skip(skip)
            .all(|c| !c.touches(token))
            .then_some(now)
    }
}
