//! Parsing, unions and intersections remembered for the whole process.
//!
//! A check that misses the token cache reads its owner's roles as text and meets their
//! union with the token's own set. For a user holding 10,000 permissions that costs
//! milliseconds, and the same texts come back on every such check. Keyed by what was read
//! (the exact text; then the identity of the sets built from it) a remembered answer can
//! never be stale: an edited role is another text, which parses into another set, whose
//! union is another key. Nothing needs invalidating, and a replica is exactly as fresh as
//! its store read, with the token cache on or off.
//!
//! Memory is bounded: [`MAX_MEMBERS`] members held in each map and [`MAX_ENTRIES`] entries;
//! a map past either is emptied, and refills from the next reads.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock, RwLock};

use super::{PermissionSet, SetTooLarge};

/// Members (of keys and values) each map may hold: tens of MiB at about 100 bytes each.
const MAX_MEMBERS: usize = 1 << 19;
/// Entries each map may hold.
const MAX_ENTRIES: usize = 1 << 16;
/// Below this many members in all, computing again is about as cheap as looking up.
pub(super) const MIN_MEMBERS: usize = 64;

/// A set as a key, by identity. The key holds the set, so its address is not reused while
/// the entry exists.
#[derive(Debug, Clone)]
struct ById(PermissionSet);

impl PartialEq for ById {
    fn eq(&self, other: &ById) -> bool {
        Arc::ptr_eq(&self.0.root, &other.0.root)
    }
}

impl Eq for ById {}

impl Hash for ById {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0.root), state);
    }
}

/// One memo: its entries and how many members they hold.
struct Map<K, V> {
    entries: HashMap<K, V, foldhash::quality::RandomState>,
    members: usize,
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Map {
            entries: HashMap::default(),
            members: 0,
        }
    }
}

impl<K: Hash + Eq, V> Map<K, V> {
    fn put(&mut self, key: K, value: V, members: usize) {
        if self.entries.len() >= MAX_ENTRIES || self.members + members > MAX_MEMBERS {
            self.entries.clear();
            self.members = 0;
        }
        if members <= MAX_MEMBERS && self.entries.insert(key, value).is_none() {
            self.members += members;
        }
    }
}

#[derive(Default)]
struct Memo {
    parsed: RwLock<Map<Box<str>, PermissionSet>>,
    unions: RwLock<Map<Vec<ById>, PermissionSet>>,
    meets: RwLock<Map<(ById, ById), Result<PermissionSet, SetTooLarge>>>,
}

fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(Memo::default)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// The set a stored text parses into.
pub(super) fn parse(text: &str, parse: impl FnOnce(&str) -> PermissionSet) -> PermissionSet {
    if let Some(hit) = read(&memo().parsed).entries.get(text) {
        return hit.clone();
    }
    let set = parse(text);
    write(&memo().parsed).put(text.into(), set.clone(), set.len);
    set
}

/// The key of a union: the same sets in any order.
fn union_key(sets: &[&PermissionSet]) -> Vec<ById> {
    let mut key: Vec<ById> = sets.iter().map(|s| ById((*s).clone())).collect();
    key.sort_by_key(|k| Arc::as_ptr(&k.0.root));
    key
}

/// The remembered union of `sets`, if there is one.
pub(super) fn remembered_union(sets: &[&PermissionSet]) -> Option<PermissionSet> {
    read(&memo().unions).entries.get(&union_key(sets)).cloned()
}

/// The union of `sets`, computed by `union` when not remembered.
pub(super) fn union(
    sets: &[&PermissionSet],
    union: impl FnOnce(&[&PermissionSet]) -> PermissionSet,
) -> PermissionSet {
    let key = union_key(sets);
    if let Some(hit) = read(&memo().unions).entries.get(&key) {
        return hit.clone();
    }
    let set = union(sets);
    let members = set.len + sets.iter().map(|s| s.len).sum::<usize>();
    write(&memo().unions).put(key, set.clone(), members);
    set
}

/// Intersection is symmetric: one key for either order.
fn meet_key(a: &PermissionSet, b: &PermissionSet) -> (ById, ById) {
    let (a, b) = (ById(a.clone()), ById(b.clone()));
    if Arc::as_ptr(&a.0.root) <= Arc::as_ptr(&b.0.root) {
        (a, b)
    } else {
        (b, a)
    }
}

/// The remembered intersection of `a` and `b`, if there is one.
pub(super) fn remembered_meet(
    a: &PermissionSet,
    b: &PermissionSet,
) -> Option<Result<PermissionSet, SetTooLarge>> {
    read(&memo().meets).entries.get(&meet_key(a, b)).cloned()
}

/// The intersection of `a` and `b`, computed by `meet` when not remembered. A refusal is
/// remembered too, so asking again costs nothing.
pub(super) fn meet(
    a: &PermissionSet,
    b: &PermissionSet,
    meet: impl FnOnce() -> Result<PermissionSet, SetTooLarge>,
) -> Result<PermissionSet, SetTooLarge> {
    if let Some(hit) = remembered_meet(a, b) {
        return hit;
    }
    let result = meet();
    let members = a.len + b.len + result.as_ref().map_or(0, |s| s.len);
    write(&memo().meets).put(meet_key(a, b), result.clone(), members);
    result
}
