//! Rotate: a new secret for an API key or a PAT with what the old one had, the old one
//! working on for the overlap and no longer, and the rights it takes.

use std::time::Duration;

use tessera::proto::v1 as pb;
use tonic::Code;

use crate::helpers::*;

async fn rotate(
    t: &TestApp,
    caller: &str,
    token_id: &str,
    overlap: Option<Duration>,
) -> Result<pb::IssueResponse, tonic::Status> {
    let overlap = overlap.map(|d| prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).expect("seconds"),
        nanos: 0,
    });
    t.tokens
        .clone()
        .rotate(authed(
            caller,
            pb::RotateRequest {
                token_id: token_id.into(),
                overlap,
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// An API key for `user` with a lifetime of two hours, read-only.
async fn key(t: &TestApp, user: &str) -> pb::IssueResponse {
    t.issue(
        &t.admin_key,
        pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
            name: "deploy bot".into(),
            scopes: strings(&["read:contacts", "write:contacts"]),
            read_only: true,
            ttl: Some(prost_types::Duration {
                seconds: 7200,
                nanos: 0,
            }),
            subject: user.into(),
        }),
    )
    .await
    .expect("issue")
}

#[tokio::test]
async fn a_rotated_key_keeps_everything_but_its_secret_and_the_old_one_ends_at_once() {
    let t = spawn_app().await;
    t.create_role("editor", &["read:contacts", "write:contacts"])
        .await;
    let ann = t.create_user("ann", &["editor"]).await;
    let old = key(&t, &ann.id).await;
    assert_allow(&t.check(&old.token, &["read:contacts"]).await);
    let new = rotate(&t, &t.admin_key, &old.token_id, None)
        .await
        .expect("rotate");
    assert_ne!(new.token_id, old.token_id);
    assert_ne!(new.token, old.token);
    assert_eq!((new.kind.as_str(), &new.scopes), ("api_key", &old.scopes));
    assert_eq!(new.expires_at, old.expires_at, "the same expiry");
    assert_unauthenticated(&t.check(&old.token, &["read:contacts"]).await);
    assert_allow(&t.check(&new.token, &["read:contacts"]).await);
    let seen = t.introspect(&new.token).await;
    assert_eq!(
        (seen.subject.as_str(), seen.read_only),
        (ann.id.as_str(), true)
    );
    let listed = t.tokens_of(&t.admin_key, &ann.id).await;
    let listed = listed
        .iter()
        .find(|i| i.token_id == new.token_id)
        .expect("listed");
    assert_eq!(listed.name, "deploy bot");
}

#[tokio::test]
async fn the_old_secret_works_for_the_overlap_and_then_ends() {
    let t = spawn_app().await;
    t.create_role("editor", &["read:contacts", "write:contacts"])
        .await;
    let ann = t.create_user("ann", &["editor"]).await;
    let old = key(&t, &ann.id).await;
    let hour = Duration::from_secs(3600);
    let new = rotate(&t, &t.admin_key, &old.token_id, Some(hour))
        .await
        .expect("rotate");
    assert_allow(&t.check(&old.token, &["read:contacts"]).await);
    t.clock.advance(hour - Duration::from_secs(1));
    assert_allow(&t.check(&old.token, &["read:contacts"]).await);
    t.clock.advance(Duration::from_secs(2));
    assert_unauthenticated(&t.check(&old.token, &["read:contacts"]).await);
    assert_allow(&t.check(&new.token, &["read:contacts"]).await);
    // Rotating the old one again is refused: it is no longer active.
    let err = rotate(&t, &t.admin_key, &old.token_id, None)
        .await
        .expect_err("ended");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
}

#[tokio::test]
async fn a_pat_rotates_itself_and_its_successor_outlives_it() {
    let t = spawn_app().await;
    t.create_role("editor", &["read:contacts", "write:contacts"])
        .await;
    let ann = t.create_user("ann", &["editor"]).await;
    let key = t
        .key_for(
            &ann.id,
            &["read:contacts", "write:contacts", "tessera:tokens:self"],
        )
        .await;
    let pat = t.pat(&key.token, "editor").await.expect("pat");
    let new = rotate(&t, &pat.token, &pat.token_id, None)
        .await
        .expect("rotate itself");
    assert_unauthenticated(&t.check(&pat.token, &["read:contacts"]).await);
    assert_allow(&t.check(&new.token, &["write:contacts"]).await);
    assert_eq!(t.introspect(&new.token).await.kind, "pat");
}

#[tokio::test]
async fn rotation_takes_the_rights_to_revoke_and_to_issue() {
    let t = spawn_app().await;
    let roles = ["read:contacts", "write:contacts", "tessera:tokens:self"];
    t.create_role("editor", &roles).await;
    let ann = t.create_user("ann", &["editor"]).await;
    let bob = t.create_user("bob", &["editor"]).await;
    let anns = key(&t, &ann.id).await;
    // Bob's key, even with tokens:self, sees no token of Ann's.
    let bobs = t
        .key_for(&bob.id, &["read:contacts", "tessera:tokens:self"])
        .await;
    let err = rotate(&t, &bobs.token, &anns.token_id, None)
        .await
        .expect_err("not his");
    assert_eq!(err.code(), Code::NotFound);
    let err = rotate(&t, &t.admin_key, "NoSuchToken0000000000a", None)
        .await
        .expect_err("none");
    assert_eq!(err.code(), Code::NotFound);
    // Ann's own key that may manage her tokens but holds less than the one it rotates.
    let narrow = t
        .key_for(&ann.id, &["read:contacts", "tessera:tokens:self"])
        .await;
    let err = rotate(&t, &narrow.token, &anns.token_id, None)
        .await
        .expect_err("narrower");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_allow(&t.check(&anns.token, &["read:contacts"]).await);
    let err = rotate(
        &t,
        &t.admin_key,
        &anns.token_id,
        Some(Duration::from_secs(8 * 86400)),
    )
    .await
    .expect_err("overlap");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("overlap"));
    // A session ends and an OAuth token is refreshed: neither rotates.
    t.user_with_password("cy", &["editor"]).await;
    let session = t
        .login("cy", crate::accounts::PASSWORD, "")
        .await
        .expect("login");
    let err = rotate(&t, &t.admin_key, &session.token_id, None)
        .await
        .expect_err("a session");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
}
