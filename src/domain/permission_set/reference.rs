//! The reference model for the differential tests: the straightforward implementation the
//! trie replaced (a sorted `Vec`, pairwise intersection, linear insert and match). Slow, but
//! obviously right; the trie must agree with it on every input.

use crate::domain::permission::{Pattern, PermissionSyntaxError};

/// A minimal set of granted patterns: no member is contained in another. Members are kept
/// sorted, so equal sets compare equal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferenceSet {
    patterns: Vec<Pattern>,
}

impl ReferenceSet {
    /// The empty set: grants nothing.
    pub fn empty() -> ReferenceSet {
        ReferenceSet::default()
    }

    /// Parses each pattern, reporting the index of the first invalid one.
    pub fn parse<S: AsRef<str>>(
        items: &[S],
    ) -> Result<ReferenceSet, (usize, PermissionSyntaxError)> {
        let mut set = ReferenceSet::empty();
        for (i, item) in items.iter().enumerate() {
            let pattern = Pattern::parse(item.as_ref()).map_err(|e| (i, e))?;
            set.insert(pattern);
        }
        Ok(set)
    }

    /// Adds a pattern, keeping the set minimal.
    pub fn insert(&mut self, pattern: Pattern) {
        if self.patterns.iter().any(|p| pattern.within(p)) {
            return;
        }
        self.patterns.retain(|p| !p.within(&pattern));
        let at = self.patterns.binary_search(&pattern).unwrap_or_else(|i| i);
        self.patterns.insert(at, pattern);
    }

    /// The union of two sets.
    pub fn union(&self, other: &ReferenceSet) -> ReferenceSet {
        let mut out = self.clone();
        for p in &other.patterns {
            out.insert(p.clone());
        }
        out
    }

    /// Exactly the permissions both sets grant.
    pub fn intersect(&self, other: &ReferenceSet) -> ReferenceSet {
        let mut out = ReferenceSet::empty();
        for a in &self.patterns {
            for b in &other.patterns {
                if let Some(p) = a.intersect(b) {
                    out.insert(p);
                }
            }
        }
        out
    }

    /// Whether any member grants the required permission.
    pub fn matches(&self, required: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(required))
    }

    /// Whether everything `pattern` grants is granted by this set through a single member.
    ///
    /// Used to report which requested patterns a cap narrowed or removed.
    pub fn covers(&self, pattern: &Pattern) -> bool {
        self.patterns.iter().any(|p| pattern.within(p))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Pattern> {
        self.patterns.iter()
    }

    /// The members as strings, sorted for stable output.
    pub fn to_strings(&self) -> Vec<String> {
        let mut out: Vec<String> = self.patterns.iter().map(ToString::to_string).collect();
        out.sort();
        out
    }
}
