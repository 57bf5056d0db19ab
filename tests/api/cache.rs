//! The cache in front of the store: warm checks never read it, changes through this process
//! show in the very next check, changes made elsewhere within the TTL, expiry is exact.

use std::time::Duration;

use tessera::domain::app::CacheConfig;
use tessera::domain::permission_set::PermissionSet;

use crate::helpers::*;

#[tokio::test]
async fn warm_checks_garbage_and_remembered_unknown_ids_never_read_the_store() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("quinn", &["r"]).await;
    let key = t.key_for(&user.id, &["read:*"]).await;
    t.settle().await;
    assert_allow(&t.check(&key.token, &["read:x"]).await);
    let before = t.store.token_reads();
    for _ in 0..50 {
        assert_allow(&t.check(&key.token, &["read:x"]).await);
    }
    assert_eq!(
        t.store.token_reads(),
        before,
        "warm checks are served from memory"
    );

    // Bad checksums, wrong prefixes and oversized tokens are refused unread.
    for garbage in [
        tamper(&key.token),
        key.token.replacen("tsk_", "tsx_", 1),
        "x".repeat(5000),
    ] {
        assert_unauthenticated(&t.check(&garbage, &["read:x"]).await);
    }
    assert_eq!(t.store.token_reads(), before);

    // A well-formed unknown token reaches the store once, then is remembered.
    let other = spawn_app().await;
    let unknown = other.key_for(&other.admin_id, &["*"]).await.token;
    for _ in 0..50 {
        assert_unauthenticated(&t.check(&unknown, &["read:x"]).await);
    }
    assert_eq!(t.store.token_reads(), before + 1);
}

#[tokio::test]
async fn expiry_is_exact_even_while_cached() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("ray", &["r"]).await;
    let key = t
        .issue(
            &t.admin_key,
            api_key_with(&["read:*"], &user.id, Some(2), false),
        )
        .await
        .expect("issue");
    t.settle().await;
    assert_allow(&t.check(&key.token, &["read:x"]).await);
    let reads = t.store.token_reads();
    t.clock.advance(Duration::from_millis(1999));
    assert_allow(&t.check(&key.token, &["read:x"]).await);
    t.clock.advance(Duration::from_millis(1));
    // Well inside the cache TTL, yet denied: expiry is compared on every hit.
    assert_unauthenticated(&t.check(&key.token, &["read:x"]).await);
    assert_eq!(
        t.store.token_reads(),
        reads,
        "decided from the cached entry"
    );
}

#[tokio::test]
async fn changes_made_elsewhere_show_within_the_ttl() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("sam", &["r"]).await;
    let key = t.key_for(&user.id, &["*"]).await;
    let other_key = t.key_for(&user.id, &["*"]).await;
    assert_allow(&t.check(&key.token, &["read:x"]).await);
    assert_allow(&t.check(&other_key.token, &["read:x"]).await);

    // Another writer on the same database (as another replica would be).
    let elsewhere = crate::db::open(&t.db.url).await.store();
    let now = tessera::domain::clock::Clock::now(&*t.clock);
    assert_eq!(
        elsewhere
            .revoke_token(&key.token_id, None, now)
            .await
            .expect("revoke"),
        1
    );
    let narrowed = PermissionSet::parse(&["write:*"]).expect("valid");
    elsewhere
        .set_role_permissions("r", &narrowed, now)
        .await
        .expect("edit role");

    t.clock.advance(t.cache.ttl);
    assert_unauthenticated(&t.check(&key.token, &["read:x"]).await);
    assert_denied(&t.check(&other_key.token, &["read:x"]).await);
    assert_allow(&t.check(&other_key.token, &["write:x"]).await);
}

#[tokio::test]
async fn a_tiny_cache_still_decides_right() {
    let t = spawn_app_with(CacheConfig {
        capacity: 2,
        negative_capacity: 2,
        ..CacheConfig::default()
    })
    .await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("tia", &["r"]).await;
    let mut keys = Vec::new();
    for _ in 0..20 {
        keys.push(t.key_for(&user.id, &["read:*"]).await);
    }
    for round in 0..3 {
        for (i, key) in keys.iter().enumerate() {
            let read = t.check(&key.token, &["read:x"]).await;
            let write = t.check(&key.token, &["write:x"]).await;
            if round > 0 && i % 3 == 0 {
                assert_unauthenticated(&read);
                assert_unauthenticated(&write);
            } else {
                assert_allow(&read);
                assert_denied(&write);
            }
        }
        for key in keys.iter().step_by(3) {
            t.revoke(
                &t.admin_key,
                tessera::proto::v1::revoke_request::Target::TokenId(key.token_id.clone()),
            )
            .await
            .expect("revoke");
        }
    }
    // Capacity is shared out over 64 shards, each holding at least one entry.
    assert!(
        t.app.cached_tokens() <= 64,
        "bounded: {}",
        t.app.cached_tokens()
    );
}

#[tokio::test]
async fn with_the_cache_off_every_check_reads_the_store() {
    let t = spawn_app_with(CacheConfig {
        capacity: 0,
        ..CacheConfig::default()
    })
    .await;
    let key = t.key_for(&t.admin_id, &["*"]).await;
    let before = t.store.token_reads();
    for _ in 0..5 {
        assert_allow(&t.check(&key.token, &["read:x"]).await);
    }
    // Each check resolves the caller's credential (the bootstrap key, a root), the checked
    // token and the checked token's parent (the bootstrap key, which minted it).
    assert_eq!(t.store.token_reads(), before + 15);
    assert_eq!(t.app.cached_tokens(), 0);
}

/// A revocation that changed no row invalidates nothing: 256 random ids (any caller could
/// send them) and an unknown subject used to bump every shard and empty the cache.
#[tokio::test]
async fn revoking_what_does_not_exist_invalidates_nothing() {
    use tessera::proto::v1::revoke_request::Target;
    let t = spawn_app().await;
    let mut keys = Vec::new();
    for _ in 0..64 {
        keys.push(t.key_for(&t.admin_id, &["read:*"]).await.token);
    }
    t.settle().await;
    for key in &keys {
        assert_allow(&t.check(key, &["read:x"]).await);
    }
    for _ in 0..256 {
        let id = tessera::domain::token_format::random_base62(22).expect("random");
        let revoked = t.revoke(&t.admin_key, Target::TokenId(id)).await;
        assert_eq!(revoked.expect("revoke"), 0);
    }
    let nobody = t.revoke(&t.admin_key, Target::Subject("usr_nobody".into()));
    assert_eq!(nobody.await.expect("revoke subject"), 0);
    // The revocations' own lookups aside, the checks after them read nothing.
    let before = t.store.token_reads();
    for key in &keys {
        assert_allow(&t.check(key, &["read:x"]).await);
    }
    assert_eq!(t.store.token_reads(), before, "every entry stayed warm");
}

/// The TTL runs on monotonic time: a wall clock stepped back an hour does not let a cached
/// entry outlive `--cache-ttl`. Here the revocation is made straight in the store, behind
/// the cache's back, as a replica that lost a notice would see one. (On Postgres the
/// store's own notice may reach the cache first; the SQLite run is the one that tells.)
#[tokio::test]
async fn a_wall_clock_stepped_back_never_stretches_the_ttl() {
    use tessera::domain::clock::Clock;
    use tessera::domain::ports::TokenStore;
    let t = spawn_app().await;
    let key = t.key_for(&t.admin_id, &["read:*"]).await;
    assert_allow(&t.check(&key.token, &["read:x"]).await);
    let revoked = t
        .store
        .revoke_token(&key.token_id, None, t.clock.now())
        .await;
    assert_eq!(revoked.expect("revoke in the store"), 1);
    t.clock.step_wall_back(Duration::from_secs(3600));
    t.clock.advance(Duration::from_secs(6));
    assert_unauthenticated(&t.check(&key.token, &["read:x"]).await);
}

/// RFC 7662 introspection over HTTP of a warm token reads nothing: the token from the cache,
/// its user's name (which never changes) remembered after the first answer.
#[tokio::test]
async fn a_warm_http_introspection_reads_nothing_from_the_store() {
    let t = spawn_app().await;
    let session = super::oauth_apps::ann(&t).await;
    let (app, tokens) = super::oauth_apps::connected(&t, &session, &["read:contacts"]).await;
    let access = tokens["access_token"].as_str().expect("access token");
    let url = t.http_url("/oauth/introspect");
    let basic = Some((app.id.as_str(), app.secret.as_str()));
    let form = [("token", access)];
    let introspect = || super::oauth_apps::post_form(&url, basic, &form);
    let (status, first, _) = introspect().await;
    assert_eq!(
        (status, &first["active"]),
        (200, &serde_json::json!(true)),
        "{first}"
    );
    assert_eq!(first["username"], "ann");
    let (tokens_before, users_before) = (t.store.token_reads(), t.store.user_reads());
    let (status, again, _) = introspect().await;
    assert_eq!(status, 200);
    assert_eq!(again, first);
    assert_eq!(
        t.store.token_reads(),
        tokens_before,
        "the token came from the cache"
    );
    assert_eq!(
        t.store.user_reads(),
        users_before,
        "the name was remembered"
    );
}
