//! The cache's promises: TTL, invalidation, races, bounds.
use super::*;
use crate::domain::token_format::TokenKind;

fn resolved(id: &str) -> Arc<ResolvedToken> {
    Arc::new(ResolvedToken {
        record: TokenRecord {
            id: id.into(),
            kind: TokenKind::ApiKey,
            name: "n".into(),
            subject: "u".into(),
            role: None,
            secret_hash: vec![0; 32],
            scopes: PermissionSet::empty(),
            cap: None,
            read_only: false,
            issued_at: 0,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            created_by: None,
        },
        owner: OwnerState::Active,
        effective: PermissionSet::empty(),
    })
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
