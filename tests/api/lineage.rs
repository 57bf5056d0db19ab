//! Derived tokens follow their source: revoked with it, narrowed with it, inactive while it
//! is, never outliving it, and at most 8 generations deep.

use std::sync::Arc;

use tessera::domain::ports::Store;
use tessera::domain::token_format::TokenKind;
use tessera::proto::v1 as pb;
use tessera::proto::v1::revoke_request::Target;
use tonic::Code;

use crate::helpers::*;

/// An API key that `caller` mints for its own user.
async fn own_key(t: &TestApp, caller: &str, scopes: &[&str]) -> pb::IssueResponse {
    t.issue(caller, api_key(scopes, "")).await.expect("own key")
}

async fn set_disabled(t: &TestApp, id: &str, disabled: bool) {
    let mut admin = t.admin.clone();
    let outcome = if disabled {
        admin
            .disable_user(authed(
                &t.admin_key,
                pb::DisableUserRequest { id: id.into() },
            ))
            .await
    } else {
        admin
            .enable_user(authed(
                &t.admin_key,
                pb::EnableUserRequest { id: id.into() },
            ))
            .await
    };
    outcome.expect("user state");
}

fn parent_of(listed: &[pb::TokenInfo], id: &str) -> String {
    listed
        .iter()
        .find(|i| i.token_id == id)
        .map(|i| i.parent_token_id.clone())
        .expect("listed")
}

#[tokio::test]
async fn revoking_a_token_revokes_every_token_derived_from_it() {
    let t = spawn_app().await;
    t.create_role("dev", &["read:*", "write:*"]).await;
    let dev = t.create_user("dev", &["dev"]).await;
    let a = t.key_for(&dev.id, &["*"]).await;
    let b = own_key(&t, &a.token, &["read:*", "write:*"]).await;
    let c = own_key(&t, &b.token, &["read:*"]).await;
    let sibling = t.key_for(&dev.id, &["read:*"]).await;
    assert_allow(&t.check(&c.token, &["read:x"]).await);

    let listed = t.tokens_of(&t.admin_key, &dev.id).await;
    assert_eq!(parent_of(&listed, &b.token_id), a.token_id);
    assert_eq!(parent_of(&listed, &c.token_id), b.token_id);

    let revoked = t
        .revoke(&t.admin_key, Target::TokenId(a.token_id.clone()))
        .await;
    assert_eq!(
        revoked.expect("revoke"),
        3,
        "the key, its child and grandchild"
    );
    for token in [&a.token, &b.token, &c.token] {
        assert_unauthenticated(&t.check(token, &["read:x"]).await);
    }
    assert_allow(&t.check(&sibling.token, &["read:x"]).await);
    let listed = t.tokens_of(&t.admin_key, &dev.id).await;
    for id in [&a.token_id, &b.token_id, &c.token_id] {
        let info = listed.iter().find(|i| i.token_id == *id).expect("listed");
        assert!(
            info.revoked_at.is_some(),
            "{id} is revoked in the store too"
        );
    }

    // Revoking by the secret follows the same tree.
    let d = t.key_for(&dev.id, &["read:*"]).await;
    let e = own_key(&t, &d.token, &["read:*"]).await;
    let revoked = t.revoke(&d.token, Target::Token(d.token.clone())).await;
    assert_eq!(revoked.expect("revoke itself"), 2);
    assert_unauthenticated(&t.check(&e.token, &["read:x"]).await);
}

#[tokio::test]
async fn narrowing_a_parent_narrows_its_children_at_their_next_check() {
    let t = spawn_app().await;
    t.create_role("minting", &["read:*", "write:*"]).await;
    // The user writes through another role too, so only the PAT narrows, not its owner.
    t.create_role("dev", &["read:*", "write:*"]).await;
    let user = t.create_user("pat-user", &["dev", "minting"]).await;
    let login = t.key_for(&user.id, &["*"]).await;
    let pat = t.pat(&login.token, "minting").await.expect("pat");
    let minted = own_key(&t, &pat.token, &["read:x", "write:x"]).await;
    assert_allow(&t.check(&minted.token, &["write:x"]).await);

    // The case found by hand: the PAT's role narrowed, its earlier key still wrote.
    t.set_role("minting", &["read:*"]).await;
    assert_denied(&t.check(&pat.token, &["write:x"]).await);
    assert_denied(&t.check(&minted.token, &["write:x"]).await);
    assert_allow(&t.check(&minted.token, &["read:x"]).await);
    let seen = t.introspect(&minted.token).await;
    assert!(seen.active);
    assert_eq!(seen.scopes, vec!["read:x"]);

    // Widened again, the child gets back what it was issued with, never more.
    t.set_role("minting", &["read:*", "write:*", "admin:*"])
        .await;
    assert_allow(&t.check(&minted.token, &["write:x"]).await);
    assert_denied(&t.check(&minted.token, &["admin:x"]).await);
}

#[tokio::test]
async fn a_child_is_inactive_while_its_parent_is() {
    let t = spawn_app().await;
    t.create_role("issuer", &["tessera:tokens:issue", "read:*"])
        .await;
    t.create_role("reader", &["read:*"]).await;
    let minter = t.create_user("minter", &["issuer"]).await;
    let bob = t.create_user("bob", &["reader"]).await;
    let service = t.key_for(&minter.id, &["*"]).await;
    let for_bob = t
        .issue(&service.token, api_key(&["read:*"], &bob.id))
        .await
        .expect("minted for bob");
    assert_allow(&t.check(&for_bob.token, &["read:x"]).await);

    // The minting service's owner disabled: the key it minted for Bob stops too.
    set_disabled(&t, &minter.id, true).await;
    assert_unauthenticated(&t.check(&for_bob.token, &["read:x"]).await);
    assert!(!t.introspect(&for_bob.token).await.active);
    set_disabled(&t, &minter.id, false).await;
    assert_allow(&t.check(&for_bob.token, &["read:x"]).await);

    // Revoking the minter's tokens by subject reaches what they minted for others.
    let revoked = t
        .revoke(&t.admin_key, Target::Subject(minter.id.clone()))
        .await
        .expect("revoke subject");
    assert_eq!(revoked, 2);
    assert_unauthenticated(&t.check(&for_bob.token, &["read:x"]).await);
    let listed = t.tokens_of(&t.admin_key, &bob.id).await;
    assert!(listed[0].revoked_at.is_some());
}

#[tokio::test]
async fn a_child_never_outlives_its_parent() {
    let t = spawn_app().await;
    t.create_role("issuer", &["tessera:tokens:issue", "read:*"])
        .await;
    t.create_role("reader", &["read:*"]).await;
    let minter = t.create_user("minter", &["issuer"]).await;
    let bob = t.create_user("bob", &["reader"]).await;
    let service = t
        .issue(
            &t.admin_key,
            api_key_with(&["*"], &minter.id, Some(3600), false),
        )
        .await
        .expect("service key");
    let limit = service.expires_at.expect("expires");
    for subject in ["", bob.id.as_str()] {
        let child = t
            .issue(
                &service.token,
                api_key_with(&["read:*"], subject, None, false),
            )
            .await
            .expect("child");
        let expires = child.expires_at.expect("capped by its parent");
        assert!(
            (expires.seconds, expires.nanos) <= (limit.seconds, limit.nanos),
            "{expires:?} after {limit:?}"
        );
    }
}

#[tokio::test]
async fn chains_are_at_most_eight_tokens_below_their_root() {
    let t = spawn_app().await;
    let mut chain = vec![t.admin_key.clone()];
    let mut first = None;
    for _ in 0..8 {
        let minted = own_key(&t, chain.last().expect("a parent"), &["read:*"]).await;
        first.get_or_insert(minted.token_id.clone());
        chain.push(minted.token);
    }
    let deepest = chain.last().expect("deepest");
    assert_allow(&t.check(deepest, &["read:x"]).await);
    let refused = t.issue(deepest, api_key(&["read:*"], "")).await;
    let status = refused.expect_err("a ninth generation");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("at most 8"), "{status:?}");

    let first = first.expect("first");
    let revoked = t.revoke(&t.admin_key, Target::TokenId(first)).await;
    assert_eq!(revoked.expect("revoke"), 8);
    assert_unauthenticated(&t.check(deepest, &["read:x"]).await);
}

/// The store's half, on every backend: the walk reaches revoked rows' children, counts only
/// what it revoked, and ends on a cycle made by hand.
#[tokio::test]
async fn the_stores_walk_reaches_every_descendant_and_ends_on_cycles() {
    for (kind, s, _keep) in super::store_contract::stores().await {
        eprintln!("lineage contract on {kind}");
        walk(s).await;
    }
}

async fn walk(s: Arc<dyn Store>) {
    s.create_user(&super::store_contract::user("u1", "ann", &[]))
        .await
        .expect("user");
    let child = |id: &str, parent: &str| {
        let mut r = token_record(id, "u1", TokenKind::ApiKey, None);
        r.created_by = Some(parent.into());
        r
    };
    let mut revoked_child = child("b", "a");
    revoked_child.revoked_at = Some(5);
    let records = [
        token_record("a", "u1", TokenKind::ApiKey, None),
        revoked_child,
        child("c", "b"),
        child("d", "a"),
        // A cycle, as only a hand edit could make: x minted y minted x.
        child("x", "y"),
        child("y", "x"),
    ];
    s.insert_tokens(&records).await.expect("tokens");
    assert_eq!(s.revoke_token("a", None, 10).await.expect("revoke"), 3);
    let c = s.get_token("c").await.expect("read").expect("c");
    assert_eq!(c.revoked_at, Some(10), "reached through a revoked child");
    let b = s.get_token("b").await.expect("read").expect("b");
    assert_eq!(b.revoked_at, Some(5), "an earlier revocation's time stays");
    assert_eq!(s.revoke_token("x", None, 11).await.expect("cycle"), 2);
}
