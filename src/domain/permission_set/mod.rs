//! Sets of granted patterns: union, exact intersection, and the minimal form shown to users.
//!
//! A token's effective permissions are the intersection of several sets (role, owner, creating
//! credential). The intersection of two single patterns is again a single pattern (or nothing),
//! so the intersection of two sets is the union of the pairwise intersections, kept minimal by
//! dropping every pattern contained in another.
//!
//! The members live in a trie keyed by segment (see `trie`), so that these operations cost
//! about what they produce rather than the product of their sizes: a user holding 10,000
//! permissions intersects with a 250-permission role in about the time of 250 lookups, and a
//! check is one walk down the required permission's segments, whatever the set's size.
//!
//! What an intersection produces can still be the product of its sides (`read:a0:*` …
//! `read:a127:*` met with `read:*:b0` … `read:*:b127` yields 16,384 permissions), so every
//! computed set is bounded: [`MAX_PATTERNS`] members, and [`MAX_STEPS`] steps to compute it.

mod memo;
mod trie;

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use super::permission::{self, Pattern, PermissionSyntaxError};
use trie::{Budget, Node};

/// Most members any computed set may have: a user holding the most roles
/// ([`crate::domain::validate::MAX_ROLES_PER_USER`]) of the most permissions each
/// ([`crate::domain::validate::MAX_PERMISSIONS`]) stays within it.
pub const MAX_PATTERNS: usize = 16_384;

/// Most steps (trie nodes visited or copied) one intersection may take: about 20 ms of one
/// core, many times what any set within [`MAX_PATTERNS`] met with a role needs.
pub const MAX_STEPS: usize = 1 << 20;

/// Below this many members in all, a union or a listing takes well under a millisecond, so
/// it may run on an async worker.
pub const QUICK_MEMBERS: usize = 4_096;

/// The same for an intersection, by the product of the sides' sizes: what an intersection
/// produces (and costs) is bounded by that product, not by the sum (128 scopes met with 128
/// make 16,384).
const QUICK_PRODUCT: usize = 4_096;

/// A computed set would pass one of the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SetTooLarge {
    #[error("the permissions would number more than {MAX_PATTERNS} (MAX_PATTERNS)")]
    Patterns,
    #[error("intersecting these permissions would take more than {MAX_STEPS} steps (MAX_STEPS)")]
    Steps,
}

/// A minimal set of granted patterns: no member is contained in another. Equal sets have
/// equal members, so they compare equal.
///
/// Immutable once built, and shared: a clone is a reference count, so a set read once (a
/// role's 250 permissions, a user's union of 10,000) is handed to every token and cache
/// entry that needs it without being copied, and [`memo`] can recognise it by identity.
#[derive(Debug, Clone, Default)]
pub struct PermissionSet {
    root: Arc<Node>,
    len: usize,
    /// Whether the set came from the memo (a stored text, or a remembered operation's
    /// result), so that operations on it are worth remembering (see [`memo`]).
    interned: bool,
}

impl PartialEq for PermissionSet {
    fn eq(&self, other: &PermissionSet) -> bool {
        Arc::ptr_eq(&self.root, &other.root) || (self.len == other.len && self.root == other.root)
    }
}

impl Eq for PermissionSet {}

impl PermissionSet {
    /// The empty set: grants nothing.
    pub fn empty() -> PermissionSet {
        PermissionSet::default()
    }

    /// The minimal set of these patterns.
    pub fn from_patterns<'a>(patterns: impl IntoIterator<Item = &'a Pattern>) -> PermissionSet {
        let mut root = Node::default();
        for p in patterns {
            root.add(p);
        }
        PermissionSet::minimal(root)
    }

    fn minimal(mut root: Node) -> PermissionSet {
        root.minimize();
        let len = root.count();
        PermissionSet {
            root: Arc::new(root),
            len,
            interned: false,
        }
    }

    fn interned(self) -> PermissionSet {
        PermissionSet {
            interned: true,
            ..self
        }
    }

    /// Parses each pattern, reporting the index of the first invalid one.
    pub fn parse<S: AsRef<str>>(
        items: &[S],
    ) -> Result<PermissionSet, (usize, PermissionSyntaxError)> {
        let mut root = Node::default();
        for (i, item) in items.iter().enumerate() {
            let parts = permission::segments(item.as_ref()).map_err(|e| (i, e))?;
            root.add_segments(&parts);
        }
        Ok(PermissionSet::minimal(root))
    }

    /// Parses a stored, space-separated list; stored values were validated when written,
    /// so an invalid member (a hand-edited row) is dropped rather than widening anything.
    ///
    /// Remembered (see [`memo`]): the same text read again is the same set, not a copy.
    pub fn from_stored(text: &str) -> PermissionSet {
        if text.is_empty() {
            return PermissionSet::empty();
        }
        memo::parse(text, |text| {
            let mut root = Node::default();
            for item in text.split_ascii_whitespace() {
                if let Ok(parts) = permission::segments(item) {
                    root.add_segments(&parts);
                }
            }
            PermissionSet::minimal(root)
        })
    }

    /// The space-separated form the stores keep.
    pub fn to_stored(&self) -> String {
        self.to_strings().join(" ")
    }

    /// The union of two sets (at most as many members as both together).
    pub fn union(&self, other: &PermissionSet) -> PermissionSet {
        PermissionSet::union_all([self, other])
    }

    /// The union of many sets, minimised once; remembered when large (see [`memo`]).
    pub fn union_all<'a>(sets: impl IntoIterator<Item = &'a PermissionSet>) -> PermissionSet {
        let sets: Vec<&PermissionSet> = sets.into_iter().filter(|s| !s.is_empty()).collect();
        match sets.as_slice() {
            [] => PermissionSet::empty(),
            [one] => (*one).clone(),
            _ if sets.iter().all(|s| s.interned) => memo::union(&sets, PermissionSet::union_now),
            _ => PermissionSet::union_now(&sets),
        }
    }

    fn union_now(sets: &[&PermissionSet]) -> PermissionSet {
        let mut root = Node::default();
        let mut unbounded = Budget(usize::MAX);
        for set in sets {
            // An unlimited budget is never exhausted.
            let _ = root.merge(&set.root, &mut unbounded);
        }
        PermissionSet::minimal(root)
    }

    /// Exactly the permissions both sets grant, or which bound that would pass; remembered
    /// when large (see [`memo`]).
    pub fn intersect(&self, other: &PermissionSet) -> Result<PermissionSet, SetTooLarge> {
        if self.is_empty() || other.is_empty() {
            return Ok(PermissionSet::empty());
        }
        if self.interned && other.interned {
            return memo::meet(self, other, || self.intersect_now(other));
        }
        self.intersect_now(other)
    }

    /// [`PermissionSet::intersect`], when it answers at once: the sets are small, or their
    /// intersection is remembered. `None`: real work, for the caller to move off the async
    /// workers.
    pub fn intersect_quick(
        &self,
        other: &PermissionSet,
    ) -> Option<Result<PermissionSet, SetTooLarge>> {
        if self.is_empty()
            || other.is_empty()
            || self.len.saturating_mul(other.len) <= QUICK_PRODUCT
        {
            return Some(self.intersect(other));
        }
        if self.interned && other.interned {
            return memo::remembered_meet(self, other);
        }
        None
    }

    /// [`PermissionSet::union_all`], when it answers at once (see
    /// [`PermissionSet::intersect_quick`]).
    pub fn union_all_quick(sets: &[PermissionSet]) -> Option<PermissionSet> {
        if sets.iter().map(|s| s.len).sum::<usize>() < QUICK_MEMBERS {
            return Some(PermissionSet::union_all(sets));
        }
        let sets: Vec<&PermissionSet> = sets.iter().filter(|s| !s.is_empty()).collect();
        match sets.as_slice() {
            [one] => Some((*one).clone()),
            _ if sets.iter().all(|s| s.interned) => memo::remembered_union(&sets),
            _ => None,
        }
    }

    fn intersect_now(&self, other: &PermissionSet) -> Result<PermissionSet, SetTooLarge> {
        // A set holding `*` grants everything: the other set is the answer, shared.
        if self.root.open {
            return Ok(other.clone());
        }
        if other.root.open {
            return Ok(self.clone());
        }
        let met = self
            .root
            .meet(&other.root, 0, &mut Budget(MAX_STEPS))
            .map_err(|_| SetTooLarge::Steps)?;
        let set = PermissionSet::minimal(met);
        if set.len > MAX_PATTERNS {
            return Err(SetTooLarge::Patterns);
        }
        Ok(set)
    }

    /// Whether any member grants the required permission: one walk down its segments.
    pub fn matches(&self, required: &str) -> bool {
        self.root.matches(Some(required), 0)
    }

    /// Whether everything `pattern` grants is granted by this set through a single member.
    ///
    /// Used to report which requested patterns a cap narrowed or removed.
    pub fn covers(&self, pattern: &Pattern) -> bool {
        self.root
            .covers(&trie::head_of(pattern), pattern.is_open(), true, false, 0)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many members the minimal form has.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The members, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = Pattern> {
        self.root.members().into_iter()
    }

    /// The members as strings, sorted for stable output.
    pub fn to_strings(&self) -> Vec<String> {
        let mut out = self.root.texts();
        out.sort_unstable();
        out
    }
}

impl fmt::Display for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}
