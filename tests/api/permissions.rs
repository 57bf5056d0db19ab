//! Effective permissions: PAT intersections, API key caps, ALL vs ANY, read-only, 401 vs 403.

use tessera::proto::v1 as pb;

use crate::helpers::*;

#[tokio::test]
async fn pat_is_role_intersected_with_creator_exactly() {
    let t = spawn_app().await;
    t.create_role("hooks", &["webhook:*"]).await;
    // Alice may read roles, so she may bind a PAT to one she does not hold (and is told
    // what it stripped): without tessera:roles:read, binding a role not held is refused
    // like an unknown one (no role oracle).
    t.create_role(
        "team",
        &["webhook:manage:team", "read:*", "tessera:roles:read"],
    )
    .await;
    let user = t.create_user("alice", &["team"]).await;
    let key = t.key_for(&user.id, &["*"]).await;
    assert_eq!(
        key.scopes,
        vec!["read:*", "tessera:roles:read", "webhook:manage:team"]
    );

    let pat = t.pat(&key.token, "hooks").await.expect("issue pat");
    assert_eq!(pat.kind, "pat");
    assert!(pat.token.starts_with("tsp_"));
    assert_eq!(pat.scopes, vec!["webhook:manage:team"]);
    assert_eq!(pat.stripped_scopes, vec!["webhook:*"]);

    let intro = t.introspect(&pat.token).await;
    assert!(intro.active);
    assert_eq!(intro.scopes, vec!["webhook:manage:team"]);
    assert_eq!(intro.role, "hooks");
    assert_eq!(intro.subject, user.id);

    assert_allow(&t.check(&pat.token, &["webhook:manage:team"]).await);
    // The role grants webhook:manage:other, but the creator does not hold it.
    let r = t.check(&pat.token, &["webhook:manage:other"]).await;
    assert_denied(&r);
    assert_eq!(r.missing_scopes, vec!["webhook:manage:other"]);
    // read:* is the creator's, but not the role's.
    assert_denied(&t.check(&pat.token, &["read:contacts"]).await);
}

#[tokio::test]
async fn narrow_creating_credential_caps_the_pat() {
    let t = spawn_app().await;
    t.create_role("broad", &["read:*", "write:*"]).await;
    let user = t.create_user("bob", &["broad"]).await;
    // Bob's own permissions are broad, but this key only carries read:contacts.
    let narrow = t.key_for(&user.id, &["read:contacts"]).await;
    let pat = t.pat(&narrow.token, "broad").await.expect("issue pat");
    assert_eq!(pat.scopes, vec!["read:contacts"]);
    // The narrow key may not read roles: what was stripped names nothing it does not hold.
    assert!(pat.stripped_scopes.is_empty(), "{:?}", pat.stripped_scopes);
    assert_allow(&t.check(&pat.token, &["read:contacts"]).await);
    assert_denied(&t.check(&pat.token, &["write:contacts"]).await);
    assert_denied(&t.check(&pat.token, &["read:deals"]).await);

    // The same holds for an API key the user mints for itself.
    let key = t
        .issue(&narrow.token, api_key(&["read:*", "write:contacts"], ""))
        .await
        .expect("self-issued key");
    assert_eq!(key.scopes, vec!["read:contacts"]);
    assert_eq!(key.stripped_scopes, vec!["read:*", "write:contacts"]);
    assert_denied(&t.check(&key.token, &["write:contacts"]).await);

    // Nothing in common: refused rather than minting a token that grants nothing.
    let none = t.issue(&narrow.token, api_key(&["admin:*"], "")).await;
    assert_code(none, tonic::Code::PermissionDenied);
}

#[tokio::test]
async fn api_key_is_capped_by_subject_now() {
    let t = spawn_app().await;
    t.create_role("reader", &["read:contacts"]).await;
    let user = t.create_user("carol", &["reader"]).await;
    let key = t
        .key_for(&user.id, &["read:contacts", "write:contacts"])
        .await;
    assert_eq!(key.kind, "api_key");
    assert!(key.token.starts_with("tsk_"));
    assert_eq!(key.scopes, vec!["read:contacts"]);
    assert_eq!(key.stripped_scopes, vec!["write:contacts"]);
    assert_allow(&t.check(&key.token, &["read:contacts"]).await);
    assert_denied(&t.check(&key.token, &["write:contacts"]).await);
    // Granting the subject more later widens the key up to its fixed scopes, never beyond.
    t.set_role(
        "reader",
        &["read:contacts", "write:contacts", "delete:contacts"],
    )
    .await;
    assert_allow(&t.check(&key.token, &["write:contacts"]).await);
    assert_denied(&t.check(&key.token, &["delete:contacts"]).await);
}

#[tokio::test]
async fn nothing_implies_anything_else_and_wildcards_are_literal_when_required() {
    let t = spawn_app().await;
    t.create_role("r", &["read:contacts", "webhook:manage:team"])
        .await;
    let user = t.create_user("dave", &["r"]).await;
    let key = t.key_for(&user.id, &["*"]).await;
    assert_denied(&t.check(&key.token, &["write:contacts"]).await);
    assert_denied(&t.check(&key.token, &["read"]).await);
    assert_denied(&t.check(&key.token, &["read:contacts:x"]).await);
    // "all teams" is not satisfied by one team.
    assert_denied(&t.check(&key.token, &["webhook:manage:*"]).await);
    t.set_role("r", &["webhook:manage:*"]).await;
    assert_allow(&t.check(&key.token, &["webhook:manage:*"]).await);
    assert_allow(&t.check(&key.token, &["webhook:manage:team"]).await);
}

#[tokio::test]
async fn match_all_versus_any() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("erin", &["r"]).await;
    let key = t.key_for(&user.id, &["*"]).await;
    let scopes = strings(&["read:a", "write:a"]);
    let all = t
        .authorize_req(pb::AuthorizeRequest {
            token: key.token.clone(),
            required_scopes: scopes.clone(),
            r#match: pb::Match::All.into(),
            mutating: false,
        })
        .await;
    assert_denied(&all);
    assert_eq!(all.missing_scopes, vec!["write:a"]);
    let any = t
        .authorize_req(pb::AuthorizeRequest {
            token: key.token.clone(),
            required_scopes: scopes,
            r#match: pb::Match::Any.into(),
            mutating: false,
        })
        .await;
    assert_allow(&any);
    assert!(any.missing_scopes.is_empty());
    assert_eq!(any.subject, user.id);
    assert_eq!(any.token_id, key.token_id);
    let none = t
        .authorize_req(pb::AuthorizeRequest {
            token: key.token.clone(),
            required_scopes: strings(&["write:a", "write:b"]),
            r#match: pb::Match::Any.into(),
            mutating: false,
        })
        .await;
    assert_denied(&none);
    assert_eq!(none.missing_scopes, vec!["write:a", "write:b"]);
}

#[tokio::test]
async fn read_only_tokens_never_pass_mutating_calls() {
    let t = spawn_app().await;
    t.create_role("rw", &["*"]).await;
    let user = t.create_user("frank", &["rw"]).await;
    let ro = t
        .issue(&t.admin_key, api_key_with(&["*"], &user.id, None, true))
        .await
        .expect("issue read-only key");
    assert_allow(&t.check(&ro.token, &["write:contacts"]).await);
    let r = t
        .authorize_req(pb::AuthorizeRequest {
            token: ro.token.clone(),
            required_scopes: strings(&["read:contacts"]),
            r#match: pb::Match::All.into(),
            mutating: true,
        })
        .await;
    assert_denied(&r);
    assert!(r.reason.contains("read-only"), "{r:?}");
    assert!(t.introspect(&ro.token).await.read_only);

    // A read-only credential cannot call tessera's own mutating RPCs.
    assert_code(
        t.issue(&ro.token, api_key(&["read:x"], "")).await,
        tonic::Code::PermissionDenied,
    );
    let create = t
        .admin
        .clone()
        .create_role(authed(
            &ro.token,
            pb::CreateRoleRequest {
                name: "x".into(),
                permissions: vec![],
                description: String::new(),
            },
        ))
        .await;
    assert_code(create, tonic::Code::PermissionDenied);
    let sibling = t.key_for(&user.id, &["read:*"]).await;
    let revoke = t
        .revoke(
            &ro.token,
            pb::revoke_request::Target::TokenId(sibling.token_id.clone()),
        )
        .await;
    assert_code(revoke, tonic::Code::PermissionDenied);
    assert!(t.introspect(&sibling.token).await.active);
    // Revoking itself is not a mutation it could abuse: a credential may always end
    // itself, read-only or not. (This test once asserted the opposite.)
    let itself = t
        .revoke(
            &ro.token,
            pb::revoke_request::Target::TokenId(ro.token_id.clone()),
        )
        .await
        .expect("a token revokes itself");
    assert_eq!(itself, 1);
    assert!(!t.introspect(&ro.token).await.active);
}

#[tokio::test]
async fn invalid_is_401_and_insufficient_is_403() {
    let t = spawn_app().await;
    t.create_role("r", &["read:x"]).await;
    let user = t.create_user("gina", &["r"]).await;
    let key = t.key_for(&user.id, &["read:x"]).await;
    let ok = t.check(&key.token, &["read:x"]).await;
    assert_allow(&ok);
    assert!(ok.reason.is_empty());
    let denied = t.check(&key.token, &["write:x"]).await;
    assert_denied(&denied);
    assert_eq!(denied.subject, user.id);
    let forged = tamper(&key.token);
    assert_unauthenticated(&t.check(&forged, &["read:x"]).await);
    // The Bearer scheme is accepted in any case.
    assert_allow(&t.check(&format!("bEaReR {}", key.token), &["read:x"]).await);
}
