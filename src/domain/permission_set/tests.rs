//! The algebra's promises, and a differential test against the reference model.
use super::reference::ReferenceSet;
use super::*;
use proptest::prelude::*;

fn set(items: &[&str]) -> PermissionSet {
    PermissionSet::parse(items).expect("valid set")
}

fn meet(a: &PermissionSet, b: &PermissionSet) -> PermissionSet {
    a.intersect(b).expect("within the bounds")
}

#[test]
fn spec_example_is_exact() {
    let role = set(&["webhook:*"]);
    let user = set(&["webhook:manage:team", "read:*"]);
    assert_eq!(meet(&role, &user).to_strings(), vec!["webhook:manage:team"]);
}

#[test]
fn minimal_form() {
    let s = set(&["read:contacts", "read:*", "write:x", "*:x"]);
    assert_eq!(s.to_strings(), vec!["*:x", "read:*"]);
    assert_eq!(s.len(), 2);
    assert_eq!(set(&["a", "*"]).to_strings(), vec!["*"]);
    assert!(meet(&set(&["a:*"]), &set(&["b:*"])).is_empty());
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

/// tessera's own permissions are granted only by `tessera:…` patterns or the lone `*`.
#[test]
fn the_tessera_namespace_is_reserved() {
    let apps = set(&["*:*:write", "*:users:*", "*:*"]);
    for own in [
        "tessera:users:write",
        "tessera:roles:write",
        "tessera:introspect",
    ] {
        assert!(!apps.matches(own), "{own}");
        assert!(set(&["*"]).matches(own), "{own}");
        assert!(set(&["tessera:*"]).matches(own), "{own}");
    }
    assert!(apps.matches("crm:users:write"));
    // The algebra agrees: nothing of tessera's is in what `*:…` patterns share with it.
    assert!(meet(&apps, &set(&["tessera:*"])).is_empty());
    assert_eq!(
        meet(&set(&["*"]), &set(&["tessera:users:write"])).to_strings(),
        vec!["tessera:users:write"]
    );
    let p = Pattern::parse("tessera:users:write").expect("valid");
    assert!(!apps.covers(&p));
    assert!(!p.within(&Pattern::parse("*:users:write").expect("valid")));
    // `*:x` and `tessera:x` are both kept: neither contains the other.
    assert_eq!(set(&["*:x", "tessera:x"]).len(), 2);
    // Deeper `*` segments are not reserved.
    assert!(set(&["tessera:*:write"]).matches("tessera:users:write"));
}

#[test]
fn parse_reports_index() {
    let err = PermissionSet::parse(&["ok", "Nope"]).expect_err("invalid");
    assert_eq!(err.0, 1);
}

/// The crafted product of the issue: 128 × 128 is computed (16,384 members, the bound),
/// 129 × 128 is refused.
#[test]
fn a_product_is_bounded() {
    let side = |n: usize, f: &dyn Fn(usize) -> String| {
        PermissionSet::parse(&(0..n).map(f).collect::<Vec<_>>()).expect("valid")
    };
    let a = side(128, &|i| format!("read:a{i}:*"));
    let b = side(128, &|i| format!("read:*:b{i}"));
    let product = meet(&a, &b);
    assert_eq!(product.len(), MAX_PATTERNS);
    assert!(product.matches("read:a127:b0"));
    assert!(!product.matches("read:a128:b0"));
    let wider = side(129, &|i| format!("read:a{i}:*"));
    assert_eq!(wider.intersect(&b), Err(SetTooLarge::Patterns));
}

/// Work that produces nothing is bounded too: every `*:aI:x` meets every `bJ:*:y` down to
/// the last segment, where nothing is left.
#[test]
fn dead_end_work_is_bounded() {
    let a: Vec<String> = (0..256).map(|i| format!("*:a{i}:x")).collect();
    let b: Vec<String> = (0..16_384).map(|j| format!("b{j}:*:y")).collect();
    let (a, b) = (set_of(&a), set_of(&b));
    assert_eq!(a.intersect(&b), Err(SetTooLarge::Steps));
    // Within the budget, the same shape is computed (and is empty).
    let few: Vec<String> = (0..16).map(|j| format!("b{j}:*:y")).collect();
    assert!(meet(&a, &set_of(&few)).is_empty());
}

fn set_of(items: &[String]) -> PermissionSet {
    PermissionSet::parse(items).expect("valid")
}

#[test]
fn matching_is_independent_of_the_size() {
    let many: Vec<String> = (0..10_000).map(|i| format!("svc{i}:read")).collect();
    let s = set_of(&many);
    assert_eq!(s.len(), 10_000);
    assert!(s.matches("svc9999:read"));
    assert!(!s.matches("svc9999:write"));
    assert!(!s.matches("svc10000:read"));
}

// Small alphabets so that grants and requests collide often; `tessera` is the reserved
// first segment.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c"), Just("*"), Just("tessera")].prop_map(String::from)
}

fn permission() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..=4).prop_map(|v| v.join(":"))
}

fn grants() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(permission(), 0..5)
}

/// Larger sets for the differential test: more members, more chances to collide.
fn many_grants() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(permission(), 0..24)
}

fn both(items: &[String]) -> (PermissionSet, ReferenceSet) {
    (
        PermissionSet::parse(items).expect("generated grants are valid"),
        ReferenceSet::parse(items).expect("generated grants are valid"),
    )
}

proptest! {
    #[test]
    fn intersection_matches_exactly_what_both_match(
        a in grants(), b in grants(), required in permission()
    ) {
        let sa = PermissionSet::parse(&a).expect("generated grants are valid");
        let sb = PermissionSet::parse(&b).expect("generated grants are valid");
        let both = sa.matches(&required) && sb.matches(&required);
        prop_assert_eq!(meet(&sa, &sb).matches(&required), both);
    }

    #[test]
    fn stored_intersections_keep_their_meaning(
        a in grants(), b in grants(), required in permission()
    ) {
        // Caps are stored as text: what is read back must grant exactly the same.
        let sa = PermissionSet::parse(&a).expect("valid");
        let sb = PermissionSet::parse(&b).expect("valid");
        let both = meet(&sa, &sb);
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
        let pats: Vec<Pattern> = s.iter().collect();
        prop_assert_eq!(pats.len(), s.len());
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

proptest! {
    // More cases than the rest: this is the test that stands for every other input.
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The trie agrees with the reference model member for member: the same minimal form
    /// after parsing, union and intersection, the same matches and the same coverage.
    #[test]
    fn the_trie_agrees_with_the_reference_model(
        a in many_grants(), b in many_grants(), required in permission(), probe in permission()
    ) {
        let (ta, ra) = both(&a);
        let (tb, rb) = both(&b);
        prop_assert_eq!(ta.to_strings(), ra.to_strings());
        prop_assert_eq!(ta.union(&tb).to_strings(), ra.union(&rb).to_strings());
        let (ti, ri) = (meet(&ta, &tb), ra.intersect(&rb));
        prop_assert_eq!(ti.to_strings(), ri.to_strings());
        prop_assert_eq!(ti.len(), ri.iter().count());
        prop_assert_eq!(ti.matches(&required), ri.matches(&required));
        prop_assert_eq!(ta.matches(&required), ra.matches(&required));
        let probe = Pattern::parse(&probe).expect("valid");
        prop_assert_eq!(ta.covers(&probe), ra.covers(&probe));
        prop_assert_eq!(ti.covers(&probe), ri.covers(&probe));
    }
}

#[test]
fn stored_texts_are_shared_and_their_operations_remembered() {
    let a = PermissionSet::from_stored("memo:a:* memo:b");
    let again = PermissionSet::from_stored("memo:a:* memo:b");
    assert!(std::sync::Arc::ptr_eq(&a.root, &again.root));
    let b = PermissionSet::from_stored("memo:*:x");
    let (ab, ba) = (meet(&a, &b), meet(&b, &a));
    assert!(std::sync::Arc::ptr_eq(&ab.root, &ba.root));
    assert_eq!(ab.to_strings(), vec!["memo:a:x"]);
    let union = PermissionSet::union_all([&a, &b]);
    assert!(std::sync::Arc::ptr_eq(
        &union.root,
        &PermissionSet::union_all([&b, &a]).root
    ));
    // A set built from a request is new each time: what it meets is not remembered.
    let fresh = set(&["memo:*:x"]);
    let (f1, f2) = (meet(&a, &fresh), meet(&a, &fresh));
    assert!(!std::sync::Arc::ptr_eq(&f1.root, &f2.root));
    assert_eq!(f1, ab);
}
