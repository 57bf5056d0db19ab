//! Sets of granted patterns: union, exact intersection, and the minimal form shown to users.
//!
//! A token's effective permissions are the intersection of several sets (role, owner, creating
//! credential). The intersection of two single patterns is again a single pattern (or nothing),
//! so the intersection of two sets is the union of the pairwise intersections, kept minimal by
//! dropping every pattern contained in another.

use std::fmt;

use super::permission::{Pattern, PermissionSyntaxError};

/// A minimal set of granted patterns: no member is contained in another. Members are kept
/// sorted, so equal sets compare equal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSet {
    patterns: Vec<Pattern>,
}

impl PermissionSet {
    /// The empty set: grants nothing.
    pub fn empty() -> PermissionSet {
        PermissionSet::default()
    }

    /// Parses each pattern, reporting the index of the first invalid one.
    pub fn parse<S: AsRef<str>>(
        items: &[S],
    ) -> Result<PermissionSet, (usize, PermissionSyntaxError)> {
        let mut set = PermissionSet::empty();
        for (i, item) in items.iter().enumerate() {
            let pattern = Pattern::parse(item.as_ref()).map_err(|e| (i, e))?;
            set.insert(pattern);
        }
        Ok(set)
    }

    /// Parses a stored, space-separated list; stored values were validated when written,
    /// so an invalid member (a hand-edited row) is dropped rather than widening anything.
    pub fn from_stored(text: &str) -> PermissionSet {
        let mut set = PermissionSet::empty();
        for item in text.split_ascii_whitespace() {
            if let Ok(p) = Pattern::parse(item) {
                set.insert(p);
            }
        }
        set
    }

    /// The space-separated form the stores keep.
    pub fn to_stored(&self) -> String {
        self.to_strings().join(" ")
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
    pub fn union(&self, other: &PermissionSet) -> PermissionSet {
        let mut out = self.clone();
        for p in &other.patterns {
            out.insert(p.clone());
        }
        out
    }

    /// Exactly the permissions both sets grant.
    pub fn intersect(&self, other: &PermissionSet) -> PermissionSet {
        let mut out = PermissionSet::empty();
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

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
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

impl fmt::Display for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(items: &[&str]) -> PermissionSet {
        PermissionSet::parse(items).expect("valid set")
    }

    #[test]
    fn spec_example_is_exact() {
        let role = set(&["webhook:*"]);
        let user = set(&["webhook:manage:team", "read:*"]);
        assert_eq!(
            role.intersect(&user).to_strings(),
            vec!["webhook:manage:team"]
        );
    }

    #[test]
    fn minimal_form() {
        let s = set(&["read:contacts", "read:*", "write:x", "*:x"]);
        assert_eq!(s.to_strings(), vec!["*:x", "read:*"]);
        assert_eq!(set(&["a", "*"]).to_strings(), vec!["*"]);
        assert!(set(&["a:*"]).intersect(&set(&["b:*"])).is_empty());
    }

    #[test]
    fn stored_round_trip_drops_garbage() {
        let s = set(&["read:*", "webhook:manage:team"]);
        assert_eq!(PermissionSet::from_stored(&s.to_stored()), s);
        assert_eq!(
            PermissionSet::from_stored("read:x BAD:x").to_strings(),
            vec!["read:x"]
        );
    }

    #[test]
    fn parse_reports_index() {
        let err = PermissionSet::parse(&["ok", "Nope"]).expect_err("invalid");
        assert_eq!(err.0, 1);
    }

    // Small alphabets so that grants and requests collide often.
    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![Just("a"), Just("b"), Just("c"), Just("*")].prop_map(String::from)
    }

    fn permission() -> impl Strategy<Value = String> {
        prop::collection::vec(segment(), 1..=4).prop_map(|v| v.join(":"))
    }

    fn grants() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(permission(), 0..5)
    }

    proptest! {
        #[test]
        fn intersection_matches_exactly_what_both_match(
            a in grants(), b in grants(), required in permission()
        ) {
            let sa = PermissionSet::parse(&a).expect("generated grants are valid");
            let sb = PermissionSet::parse(&b).expect("generated grants are valid");
            let both = sa.matches(&required) && sb.matches(&required);
            prop_assert_eq!(sa.intersect(&sb).matches(&required), both);
        }

        #[test]
        fn stored_intersections_keep_their_meaning(
            a in grants(), b in grants(), required in permission()
        ) {
            // Caps are stored as text: what is read back must grant exactly the same.
            let sa = PermissionSet::parse(&a).expect("valid");
            let sb = PermissionSet::parse(&b).expect("valid");
            let both = sa.intersect(&sb);
            let back = PermissionSet::from_stored(&both.to_stored());
            prop_assert_eq!(back.matches(&required), both.matches(&required));
            prop_assert_eq!(back, both);
        }

        #[test]
        fn union_matches_what_either_matches(
            a in grants(), b in grants(), required in permission()
        ) {
            let sa = PermissionSet::parse(&a).expect("valid");
            let sb = PermissionSet::parse(&b).expect("valid");
            let either = sa.matches(&required) || sb.matches(&required);
            prop_assert_eq!(sa.union(&sb).matches(&required), either);
        }

        #[test]
        fn minimal_form_keeps_meaning_and_drops_contained(
            a in grants(), required in permission()
        ) {
            let raw_match = a.iter().any(|g| Pattern::parse(g).expect("valid").matches(&required));
            let s = PermissionSet::parse(&a).expect("valid");
            prop_assert_eq!(s.matches(&required), raw_match);
            let pats: Vec<&Pattern> = s.iter().collect();
            for (i, p) in pats.iter().enumerate() {
                for (j, q) in pats.iter().enumerate() {
                    prop_assert!(i == j || !p.within(q), "{} within {}", p, q);
                }
            }
            // Round trip through the displayed form keeps the meaning.
            let again = PermissionSet::parse(&s.to_strings()).expect("displayed form parses");
            prop_assert_eq!(again.matches(&required), raw_match);
        }

        #[test]
        fn within_implies_every_match(
            a in permission(), b in permission(), required in permission()
        ) {
            let pa = Pattern::parse(&a).expect("valid");
            let pb = Pattern::parse(&b).expect("valid");
            if pa.within(&pb) && pa.matches(&required) {
                prop_assert!(pb.matches(&required));
            }
        }
    }
}
