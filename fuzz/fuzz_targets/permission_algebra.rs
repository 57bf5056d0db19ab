//! Permission and permission-set parsing and the algebra's laws, on sets the fuzzer writes:
//! for every valid required permission r (the fuzzer's, and each member instantiated),
//! - A∩B grants r exactly when A and B both do; A∪B when either does;
//! - ∩ and ∪ commute; A∩A and A∪A grant what A does;
//! - the stored form reads back to a set granting the same;
//! - a pattern's intersection with another grants exactly what both do, and `within`
//!   holds only when everything the first grants the second grants too.
//!
//! Input: `A members | B members | probes`, space-separated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::domain::permission::{self, Pattern};
use tessera::domain::permission_set::PermissionSet;

/// Required permissions a member can meet: its `*`s replaced by literals, and open tails
/// extended.
fn instances(member: &str) -> Vec<String> {
    let mut out = Vec::new();
    for fill in ["x", "read", "tessera"] {
        let filled = member.replace('*', fill);
        out.push(filled.clone());
        out.push(format!("{filled}:{fill}"));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '|');
    let members = |s: Option<&str>| -> Vec<String> {
        s.unwrap_or("")
            .split(' ')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (a_text, b_text, probe_text) = (
        members(parts.next()),
        members(parts.next()),
        members(parts.next()),
    );
    let (Ok(a), Ok(b)) = (PermissionSet::parse(&a_text), PermissionSet::parse(&b_text)) else {
        return;
    };
    let mut probes: Vec<String> = probe_text;
    for m in a_text.iter().chain(&b_text) {
        probes.extend(instances(m));
    }
    probes.retain(|p| permission::validate_required(p).is_ok());

    let (Ok(ab), Ok(ba)) = (a.intersect(&b), b.intersect(&a)) else {
        return; // past the set-size bounds: refused, not wrong
    };
    let (union, union_ba) = (a.union(&b), b.union(&a));
    let a_again = PermissionSet::from_stored(&a.to_stored());
    let aa = a.intersect(&a).expect("A∩A is no larger than A");
    for r in &probes {
        let (in_a, in_b) = (a.matches(r), b.matches(r));
        assert_eq!(
            ab.matches(r),
            in_a && in_b,
            "A∩B on {r:?}: A={a_text:?} B={b_text:?}"
        );
        assert_eq!(ba.matches(r), ab.matches(r), "∩ commutes on {r:?}");
        assert_eq!(union.matches(r), in_a || in_b, "A∪B on {r:?}");
        assert_eq!(union_ba.matches(r), union.matches(r), "∪ commutes on {r:?}");
        assert_eq!(a_again.matches(r), in_a, "stored form on {r:?}");
        assert_eq!(aa.matches(r), in_a, "A∩A on {r:?}");
    }

    let patterns: Vec<Pattern> = a_text
        .iter()
        .chain(&b_text)
        .filter_map(|m| Pattern::parse(m).ok())
        .collect();
    for p in patterns.iter().take(4) {
        for q in patterns.iter().take(4) {
            let met = p.intersect(q);
            for r in &probes {
                let both = p.matches(r) && q.matches(r);
                assert_eq!(
                    met.as_ref().is_some_and(|m| m.matches(r)),
                    both,
                    "{p:?}∩{q:?} on {r:?}"
                );
                if p.within(q) && p.matches(r) {
                    assert!(q.matches(r), "{p:?} within {q:?} but {r:?}");
                }
            }
        }
    }
});
