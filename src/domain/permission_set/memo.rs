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
//! Only sets that came from here (parsed from a stored text, or results of remembered
//! operations) are remembered in unions and intersections: a set built from a request is
//! new every time, so remembering what it met would fill the memo with entries never asked
//! for again (and an attacker's Issue calls would push the useful ones out).
//!
//! Memory is bounded: [`MAX_MEMBERS`] members and [`MAX_ENTRIES`] entries in each map, in
//! two generations (see [`Map`]).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock, RwLock};

use super::{PermissionSet, SetTooLarge};

/// Members (of keys and values) each map may hold: at most about 100 MiB at about 100 bytes
/// each, shared with the cache entries that hold the same sets.
const MAX_MEMBERS: usize = 1 << 20;
/// Entries each map may hold.
const MAX_ENTRIES: usize = 1 << 16;

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

/// One memo in two generations, a cheap stand-in for least-recently-used: entries go into
/// `young`; when it is full it becomes `old` (the previous `old` is dropped), and a hit in
/// `old` moves back to `young`. An entry in use survives; one unused for a generation goes.
struct Map<K, V> {
    young: Generation<K, V>,
    old: Generation<K, V>,
}

struct Generation<K, V> {
    entries: HashMap<K, V, foldhash::quality::RandomState>,
    members: usize,
}

impl<K, V> Default for Generation<K, V> {
    fn default() -> Self {
        Generation {
            entries: HashMap::default(),
            members: 0,
        }
    }
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Map {
            young: Generation::default(),
            old: Generation::default(),
        }
    }
}

impl<K: Hash + Eq, V: Clone> Map<K, V> {
    /// A hit in the young generation (found under a read lock).
    fn young<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.young.entries.get(key).cloned()
    }

    /// A hit in the old generation, moved back to the young one (under the write lock).
    fn revive<Q>(&mut self, key: &Q, members: impl Fn(&K, &V) -> usize) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (k, v) = self.old.entries.remove_entry(key)?;
        let m = members(&k, &v);
        self.old.members -= m.min(self.old.members);
        let found = v.clone();
        self.put(k, v, m);
        Some(found)
    }

    fn put(&mut self, key: K, value: V, members: usize) {
        if members > MAX_MEMBERS / 2 {
            return;
        }
        if self.young.entries.len() >= MAX_ENTRIES / 2
            || self.young.members + members > MAX_MEMBERS / 2
        {
            self.old = std::mem::take(&mut self.young);
        }
        if self.young.entries.insert(key, value).is_none() {
            self.young.members += members;
        }
    }
}

/// Looks `key` up in `lock`'s map: the young generation under a read lock, then the old one.
fn find<K, V, Q>(lock: &RwLock<Map<K, V>>, key: &Q, members: impl Fn(&K, &V) -> usize) -> Option<V>
where
    K: Hash + Eq + std::borrow::Borrow<Q>,
    V: Clone,
    Q: Hash + Eq + ?Sized,
{
    {
        let map = read(lock);
        if let Some(hit) = map.young(key) {
            return Some(hit);
        }
        if !map.old.entries.contains_key(key) {
            return None;
        }
    }
    write(lock).revive(key, members)
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

fn set_members(_: &impl Sized, set: &PermissionSet) -> usize {
    set.len
}

/// The set a stored text parses into.
pub(super) fn parse(text: &str, parse: impl FnOnce(&str) -> PermissionSet) -> PermissionSet {
    if let Some(hit) = find(&memo().parsed, text, set_members) {
        return hit;
    }
    let set = parse(text).interned();
    write(&memo().parsed).put(text.into(), set.clone(), set.len);
    set
}

/// The key of a union: the same sets in any order.
fn union_key(sets: &[&PermissionSet]) -> Vec<ById> {
    let mut key: Vec<ById> = sets.iter().map(|s| ById((*s).clone())).collect();
    key.sort_by_key(|k| Arc::as_ptr(&k.0.root));
    key
}

fn union_members(key: &[ById], set: &PermissionSet) -> usize {
    set.len + key.iter().map(|k| k.0.len).sum::<usize>()
}

/// The remembered union of `sets`, if there is one.
pub(super) fn remembered_union(sets: &[&PermissionSet]) -> Option<PermissionSet> {
    find(&memo().unions, &union_key(sets), |k, v| union_members(k, v))
}

/// The union of `sets`, computed by `union` when not remembered.
pub(super) fn union(
    sets: &[&PermissionSet],
    union: impl FnOnce(&[&PermissionSet]) -> PermissionSet,
) -> PermissionSet {
    let key = union_key(sets);
    if let Some(hit) = find(&memo().unions, &key, |k, v| union_members(k, v)) {
        return hit;
    }
    let set = union(sets).interned();
    let members = union_members(&key, &set);
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

type MeetResult = Result<PermissionSet, SetTooLarge>;

fn meet_members(key: &(ById, ById), result: &MeetResult) -> usize {
    key.0.0.len + key.1.0.len + result.as_ref().map_or(0, |s| s.len)
}

/// The remembered intersection of `a` and `b`, if there is one.
pub(super) fn remembered_meet(a: &PermissionSet, b: &PermissionSet) -> Option<MeetResult> {
    find(&memo().meets, &meet_key(a, b), meet_members)
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
    let result = meet().map(PermissionSet::interned);
    let key = meet_key(a, b);
    let members = meet_members(&key, &result);
    write(&memo().meets).put(key, result.clone(), members);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_in_use_survives_generations_and_unused_ones_go() {
        let lock: RwLock<Map<u32, u32>> = RwLock::default();
        let one = |_: &u32, _: &u32| 1;
        write(&lock).put(0, 0, 1);
        // Fill the young generation twice over; the first entry is used in between.
        let half = u32::try_from(MAX_ENTRIES / 2).expect("small");
        for round in 0..2 {
            for k in 1..=half {
                write(&lock).put(round * half + k, k, 1);
            }
            assert_eq!(find(&lock, &0, one), Some(0), "round {round}");
        }
        // An entry of the first round, never used, is gone after two generations.
        assert_eq!(find(&lock, &1, one), None);
    }

    #[test]
    fn a_set_larger_than_a_generation_is_not_kept() {
        let mut map: Map<u32, u32> = Map::default();
        map.put(1, 1, MAX_MEMBERS);
        assert!(map.young(&1).is_none());
    }
}
