//! Revocation by secret, by id and by subject; RFC 7009: unknown targets answer 0.

use tessera::proto::v1::revoke_request::Target;

use crate::helpers::*;

#[tokio::test]
async fn revoke_by_token_secret() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*"]).await;
    let alice = t.create_user("alice", &["r"]).await;
    let bob = t.create_user("bob", &["r"]).await;
    let a = t.key_for(&alice.id, &["read:*"]).await;
    let b = t.key_for(&bob.id, &["read:*"]).await;
    // Whoever presents a secret may revoke it, even someone else's (a leaked token).
    assert_eq!(
        t.revoke(&b.token, Target::Token(format!("Bearer {}", a.token)))
            .await
            .expect("revoke answers"),
        1
    );
    assert_unauthenticated(&t.check(&a.token, &["read:x"]).await);
    let intro = t.introspect(&a.token).await;
    assert!(!intro.active && intro.token_id.is_empty() && intro.scopes.is_empty());
    // Again, or a forged one: 0, no error.
    assert_eq!(
        t.revoke(&b.token, Target::Token(a.token.clone()))
            .await
            .expect("revoke answers"),
        0
    );
    assert_eq!(
        t.revoke(&b.token, Target::Token(tamper(&b.token)))
            .await
            .expect("revoke answers"),
        0
    );
    assert_eq!(
        t.revoke(&b.token, Target::Token("garbage".into()))
            .await
            .expect("revoke answers"),
        0
    );
    assert_allow(&t.check(&b.token, &["read:x"]).await);
}

#[tokio::test]
async fn revoke_by_id_own_or_with_permission() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*"]).await;
    // Managing one's other tokens takes tessera:tokens:self (a narrow key must not lock
    // its owner out); before, any key of the user could.
    t.create_role("self-service", &["tessera:tokens:self"])
        .await;
    let alice = t.create_user("alice", &["r", "self-service"]).await;
    let bob = t.create_user("bob", &["r"]).await;
    let a1 = t.key_for(&alice.id, &["read:*"]).await;
    let a2 = t
        .key_for(&alice.id, &["read:*", "tessera:tokens:self"])
        .await;
    let b = t.key_for(&bob.id, &["read:*"]).await;

    // Bob holds neither tessera:tokens:revoke nor tessera:tokens:self: Alice's id and an
    // unknown id get the same refusal, which says nothing of either.
    let theirs = t
        .revoke(&b.token, Target::TokenId(a1.token_id.clone()))
        .await;
    let unknown = t
        .revoke(&b.token, Target::TokenId("unknownid".into()))
        .await;
    assert_code(theirs, tonic::Code::PermissionDenied);
    assert_code(unknown, tonic::Code::PermissionDenied);
    assert_allow(&t.check(&a1.token, &["read:x"]).await);
    // A narrow key of Alice's cannot revoke her other keys either.
    let sibling = t
        .revoke(&a1.token, Target::TokenId(a2.token_id.clone()))
        .await;
    assert_code(sibling, tonic::Code::PermissionDenied);

    // With tessera:tokens:self, Alice revokes her own token by id; someone else's id
    // answers 0, exactly like an unknown one.
    let c = t
        .key_for(&alice.id, &["tessera:tokens:self", "read:*"])
        .await;
    assert_eq!(
        t.revoke(&c.token, Target::TokenId(b.token_id.clone()))
            .await
            .expect("revoke answers"),
        0
    );
    assert_eq!(
        t.revoke(&a2.token, Target::TokenId(a1.token_id.clone()))
            .await
            .expect("revoke answers"),
        1
    );
    assert_unauthenticated(&t.check(&a1.token, &["read:x"]).await);
    assert_eq!(
        t.revoke(&a2.token, Target::TokenId(a1.token_id.clone()))
            .await
            .expect("revoke answers"),
        0
    );

    // Any token may revoke itself.
    let b2 = t.key_for(&bob.id, &["read:*"]).await;
    assert_eq!(
        t.revoke(&b2.token, Target::TokenId(b2.token_id.clone()))
            .await
            .expect("itself"),
        1
    );
    assert_unauthenticated(&t.check(&b2.token, &["read:x"]).await);

    // The admin holds tessera:tokens:revoke.
    assert_eq!(
        t.revoke(&t.admin_key, Target::TokenId(b.token_id.clone()))
            .await
            .expect("revoke answers"),
        1
    );
    assert_unauthenticated(&t.check(&b.token, &["read:x"]).await);
}

#[tokio::test]
async fn revoke_by_subject() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*"]).await;
    t.create_role("self-service", &["tessera:tokens:self"])
        .await;
    let alice = t.create_user("alice", &["r"]).await;
    let bob = t.create_user("bob", &["r", "self-service"]).await;
    let a1 = t.key_for(&alice.id, &["read:*"]).await;
    let a2 = t.pat(&a1.token, "r").await.expect("pat");
    let b = t.key_for(&bob.id, &["read:*", "tessera:tokens:self"]).await;

    let other = t.revoke(&b.token, Target::Subject(alice.id.clone())).await;
    assert_code(other, tonic::Code::PermissionDenied);
    assert_allow(&t.check(&a1.token, &["read:x"]).await);

    assert_eq!(
        t.revoke(&t.admin_key, Target::Subject(alice.id.clone()))
            .await
            .expect("revoke answers"),
        2
    );
    assert_unauthenticated(&t.check(&a1.token, &["read:x"]).await);
    assert_unauthenticated(&t.check(&a2.token, &["read:x"]).await);
    assert_allow(&t.check(&b.token, &["read:x"]).await);
    assert_eq!(
        t.revoke(&t.admin_key, Target::Subject(alice.id.clone()))
            .await
            .expect("revoke answers"),
        0
    );

    // Revoking all of one's own tokens takes tessera:tokens:self: a narrow key of Bob's
    // cannot (before, any key could).
    let narrow = t.key_for(&bob.id, &["read:*"]).await;
    let refused = t
        .revoke(&narrow.token, Target::Subject(bob.id.clone()))
        .await;
    assert_code(refused, tonic::Code::PermissionDenied);
    assert_eq!(
        t.revoke(&b.token, Target::Subject(bob.id.clone()))
            .await
            .expect("revoke answers"),
        2
    );
    assert_unauthenticated(&t.check(&b.token, &["read:x"]).await);

    let listed = t.tokens_of(&t.admin_key, &alice.id).await;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|i| i.revoked_at.is_some()));
}
