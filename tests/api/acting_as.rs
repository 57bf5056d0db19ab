//! Acting as another user: the one domain check (`App::require_may_act_as`) that every call
//! handing the caller a way in as that user goes through (setting its password, resetting
//! its second factor, minting a session as it). The caller must hold every permission that
//! user holds, or `tessera:users:bind`.

use tessera::domain::app::Caller;
use tessera::domain::error::Error;
use tessera::proto::v1 as pb;

use crate::helpers::*;

/// A user holding `permissions` through a role of its own, and that user's credential.
async fn holder(t: &TestApp, name: &str, permissions: &[&str]) -> (pb::User, Caller) {
    t.create_role(name, permissions).await;
    let user = t.create_user(name, &[name]).await;
    let key = t.key_for(&user.id, &["*"]).await.token;
    let caller = t.app.authenticate(Some(&key)).await.expect("active key");
    (user, caller)
}

fn refused_naming(outcome: Result<(), Error>, missing: &str) {
    match outcome {
        Err(Error::PermissionDenied(message)) => {
            assert!(message.contains(missing), "{message}")
        }
        other => panic!("expected a refusal naming {missing}: {other:?}"),
    }
}

#[tokio::test]
async fn a_caller_acts_only_as_users_it_covers_unless_it_may_bind() {
    let t = spawn_app().await;
    let (_, ops) = holder(&t, "ops", &["tessera:users:write", "read:*"]).await;
    let (peer, _) = holder(&t, "peer", &["read:contacts"]).await;
    let (boss, _) = holder(&t, "boss", &["read:*", "write:*"]).await;

    t.app
        .require_may_act_as(&ops, &peer.id)
        .await
        .expect("ops holds all the peer holds");
    refused_naming(t.app.require_may_act_as(&ops, &boss.id).await, "write:*");
    refused_naming(t.app.require_may_act_as(&ops, &t.admin_id).await, "*");
    // Acting as oneself is no escalation.
    let ops_id = ops.user_id().to_owned();
    t.app.require_may_act_as(&ops, &ops_id).await.expect("self");

    // A disabled user's roles still count: enabling it later must not hand over more.
    t.admin
        .clone()
        .disable_user(authed(
            &t.admin_key,
            pb::DisableUserRequest {
                id: boss.id.clone(),
            },
        ))
        .await
        .expect("disable");
    refused_naming(t.app.require_may_act_as(&ops, &boss.id).await, "write:*");

    // tessera:users:bind lifts the rule; the bootstrap admin holds it through `*`.
    let (_, binder) = holder(&t, "binder", &["tessera:users:bind"]).await;
    t.app
        .require_may_act_as(&binder, &boss.id)
        .await
        .expect("bind lifts it");
    let admin = t.app.authenticate(Some(&t.admin_key)).await.expect("admin");
    t.app
        .require_may_act_as(&admin, &boss.id)
        .await
        .expect("admin");

    let unknown = t.app.require_may_act_as(&ops, "usr_nobody").await;
    assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
}
