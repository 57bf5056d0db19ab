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

#[tokio::test]
async fn of_two_rotations_at_once_one_wins_and_a_full_quota_still_rotates() {
    let setup = Setup {
        limits: tessera::domain::app::Limits {
            max_tokens_per_user: 2,
        },
        ..Setup::default()
    };
    let t = spawn_app_on(std::sync::Arc::new(crate::db::TestDb::fresh().await), setup).await;
    t.create_role("editor", &["read:contacts", "write:contacts"])
        .await;
    let ann = t.create_user("ann", &["editor"]).await;
    let old = key(&t, &ann.id).await;
    key(&t, &ann.id).await;
    let (a, b) = tokio::join!(
        rotate(&t, &t.admin_key, &old.token_id, None),
        rotate(&t, &t.admin_key, &old.token_id, None)
    );
    let (won, lost) = match (a, b) {
        (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
        other => panic!("expected one winner: {other:?}"),
    };
    assert_eq!(lost.code(), Code::FailedPrecondition, "{lost:?}");
    assert_allow(&t.check(&won.token, &["read:contacts"]).await);
    assert_eq!(
        t.tokens_of(&t.admin_key, &ann.id)
            .await
            .iter()
            .filter(|i| i.revoked_at.is_none())
            .count(),
        2,
        "at the quota, and the rotation replaced one"
    );
}

#[tokio::test]
async fn a_successor_holds_no_more_than_its_predecessor_and_no_child_rotates_its_parent() {
    let t = spawn_app().await;
    let roles = ["read:contacts", "write:contacts", "tessera:tokens:self"];
    t.create_role("editor", &roles).await;
    let ann = t.create_user("ann", &["editor"]).await;
    // Ann's narrow key mints a wider-asking key for herself: capped at the narrow one.
    let narrow = t
        .key_for(&ann.id, &["read:contacts", "tessera:tokens:self"])
        .await;
    let child = t
        .issue(
            &narrow.token,
            api_key(
                &["read:contacts", "write:contacts", "tessera:tokens:self"],
                "",
            ),
        )
        .await
        .expect("child");
    assert_denied(&t.check(&child.token, &["write:contacts"]).await);
    let next = rotate(&t, &t.admin_key, &child.token_id, None)
        .await
        .expect("rotate");
    assert_denied(&t.check(&next.token, &["write:contacts"]).await);
    assert_allow(&t.check(&next.token, &["read:contacts"]).await);
    // A token derived from another does not rotate it: its successor would end with it.
    let grandchild = t
        .issue(
            &next.token,
            api_key(&["read:contacts", "tessera:tokens:self"], ""),
        )
        .await
        .expect("grandchild");
    let err2 = rotate(&t, &grandchild.token, &next.token_id, None)
        .await
        .expect_err("a child rotating its parent");
    assert_eq!(err2.code(), Code::FailedPrecondition, "{err2:?}");
    assert_allow(&t.check(&next.token, &["read:contacts"]).await);
}
