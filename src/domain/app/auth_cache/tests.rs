//! The cache's promises: TTL, invalidation, races, bounds.
use super::*;
use crate::domain::token_format::TokenKind;

fn resolved(id: &str) -> Arc<ResolvedToken> {
    owned_by(id, "u", &[])
}

/// Token `id` of user `subject`, computed from `roles`.
fn owned_by(id: &str, subject: &str, roles: &[&str]) -> Arc<ResolvedToken> {
    derived(id, subject, roles, None)
}

/// Token `id` of user `subject`, computed from `roles` and minted by `parent`.
fn derived(
    id: &str,
    subject: &str,
    roles: &[&str],
    parent: Option<Arc<ResolvedToken>>,
) -> Arc<ResolvedToken> {
    Arc::new(ResolvedToken {
        record: TokenRecord {
            id: id.into(),
            kind: TokenKind::ApiKey,
            name: "n".into(),
            subject: subject.into(),
            role: None,
            role_id: None,
            secret_hash: vec![0; 32],
            scopes: PermissionSet::empty(),
            cap: None,
            read_only: false,
            issued_at: 0,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            created_by: None,
            client_id: None,
            grant_id: None,
        },
        owner: OwnerState::Active,
        effective: PermissionSet::empty(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        parent,
        source_active: true,
        expires_at: None,
        read_at: 0,
        signature: Default::default(),
    })
}

fn put(c: &AuthCache, token: Arc<ResolvedToken>) {
    let id = token.record.id.clone();
    let snap = c.snapshot(&id);
    c.put(&id, Some(token), snap, 1_000);
}

fn hit(c: &AuthCache, id: &str) -> bool {
    matches!(c.get(id, 1_001), Lookup::Hit(_))
}

#[test]
fn a_role_change_makes_stale_only_what_depends_on_it() {
    let c = cache(1000);
    put(&c, owned_by("holder", "u1", &["admin", "reader"]));
    put(&c, owned_by("other", "u2", &["reader"]));
    c.invalidate(Changed::Role("admin".into()));
    assert!(!hit(&c, "holder"));
    assert!(hit(&c, "other"));
    // Validated once, the untouched entry stays a hit through more unrelated changes.
    for i in 0..10 {
        c.invalidate(Changed::Role(format!("r{i}").into_boxed_str()));
        assert!(hit(&c, "other"));
    }
    c.invalidate(Changed::Role("reader".into()));
    assert!(!hit(&c, "other"));
}

#[test]
fn a_user_change_makes_stale_only_that_users_tokens() {
    let c = cache(1000);
    put(&c, owned_by("a1", "alice", &["reader"]));
    put(&c, owned_by("a2", "alice", &[]));
    put(&c, owned_by("b1", "bob", &["reader"]));
    c.invalidate(Changed::User("alice".into()));
    assert!(!hit(&c, "a1"));
    assert!(!hit(&c, "a2"));
    assert!(hit(&c, "b1"));
}

#[test]
fn a_change_to_any_credential_up_the_chain_makes_the_child_stale() {
    let c = cache(1000);
    let root = owned_by("root", "admin", &["admin"]);
    let minter = derived("minter", "svc", &["minting"], Some(root.clone()));
    put(
        &c,
        derived("child", "bob", &["reader"], Some(minter.clone())),
    );
    put(&c, owned_by("other", "bob", &["reader"]));
    for change in [
        Changed::Token("root".into()),
        Changed::Token("minter".into()),
        Changed::User("admin".into()),
        Changed::Role("minting".into()),
    ] {
        c.invalidate(change.clone());
        assert!(!hit(&c, "child"), "{change:?}");
        assert!(hit(&c, "other"), "{change:?}");
        put(
            &c,
            derived("child", "bob", &["reader"], Some(minter.clone())),
        );
    }
    // Unrelated tokens and users leave the chain alone.
    c.invalidate(Changed::Token("elsewhere".into()));
    c.invalidate(Changed::User("carol".into()));
    assert!(hit(&c, "child"));
}

#[test]
fn a_load_racing_with_a_role_change_lands_stale() {
    let c = cache(1000);
    let snap = c.snapshot("t");
    c.invalidate(Changed::Role("admin".into()));
    c.put("t", Some(owned_by("t", "u", &["admin"])), snap, 1_000);
    assert!(!hit(&c, "t"));
    // A token that does not depend on it is unaffected by the same race.
    let snap = c.snapshot("s");
    c.invalidate(Changed::Role("admin".into()));
    c.put("s", Some(owned_by("s", "u", &["reader"])), snap, 1_000);
    assert!(hit(&c, "s"));
}

#[test]
fn an_entry_older_than_the_change_log_is_a_miss() {
    let c = cache(1000);
    put(&c, owned_by("t", "u", &["reader"]));
    for i in 0..5_000 {
        c.invalidate(Changed::Role(format!("r{i}").into_boxed_str()));
    }
    assert!(!hit(&c, "t"));
}

fn cache(capacity: usize) -> AuthCache {
    AuthCache::new(&CacheConfig {
        capacity,
        ..CacheConfig::default()
    })
    .expect("enabled")
}

#[test]
fn hits_expire_with_the_ttl_and_with_invalidation() {
    let c = cache(1000);
    let snap = c.snapshot("abc");
    c.put("abc", Some(resolved("abc")), snap, 1_000);
    assert!(matches!(c.get("abc", 1_001), Lookup::Hit(_)));
    assert!(matches!(c.get("abc", 6_000), Lookup::Miss));
    c.invalidate_all();
    assert!(matches!(c.get("abc", 1_001), Lookup::Miss));
    let snap = c.snapshot("abc");
    c.put("abc", Some(resolved("abc")), snap, 1_000);
    c.invalidate_token("abc");
    assert!(matches!(c.get("abc", 1_001), Lookup::Miss));
}

#[test]
fn a_load_racing_with_a_change_lands_stale() {
    let c = cache(1000);
    let snap = c.snapshot("abc");
    c.invalidate_token("abc");
    c.put("abc", Some(resolved("abc")), snap, 1_000);
    assert!(matches!(c.get("abc", 1_001), Lookup::Miss));
}

#[test]
fn unknown_ids_are_remembered_briefly() {
    let c = cache(1000);
    let snap = c.snapshot("zzz");
    c.put("zzz", None, snap, 1_000);
    assert!(matches!(c.get("zzz", 5_999), Lookup::Unknown));
    assert!(matches!(c.get("zzz", 6_000), Lookup::Miss));
}

#[test]
fn capacity_is_a_bound() {
    let c = cache(64);
    for i in 0..10_000 {
        let id = format!("{i:022}");
        let snap = c.snapshot(&id);
        c.put(&id, Some(resolved(&id)), snap, 0);
    }
    assert!(c.entries() <= 64, "{}", c.entries());
    assert!(
        AuthCache::new(&CacheConfig {
            capacity: 0,
            ..CacheConfig::default()
        })
        .is_none()
    );
}
