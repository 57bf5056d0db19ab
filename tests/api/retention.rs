//! Retention: what ended long ago leaves the store, in batches; nothing live goes, a
//! source goes only after its last child, an OAuth grant's tokens stay while they could
//! still be presented, and deleting changes no decision.

use std::time::Duration;

use tessera::domain::app::retention::{PRUNE_BATCH, Retention};
use tessera::domain::clock::Clock;
use tessera::domain::ports::{OAuthStore, Prunable, TokenStore};
use tessera::domain::token_format::TokenKind;
use tessera::proto::v1 as pb;

use super::oauth_tokens::{app_token, client, code_and_grant};
use crate::accounts::PASSWORD;
use crate::helpers::*;

const DAY: Duration = Duration::from_secs(86_400);

fn deleted(done: &[(Prunable, u32); 5], what: Prunable) -> u32 {
    done.iter().find(|(w, _)| *w == what).map_or(0, |(_, n)| *n)
}

async fn exists(t: &TestApp, id: &str) -> bool {
    t.store.get_token(id).await.expect("read").is_some()
}

#[tokio::test]
async fn what_ended_long_ago_goes_and_nothing_that_could_still_grant() {
    let t = spawn_app().await;
    t.create_role("reader", &["read:*", "tessera:tokens:issue"])
        .await;
    let ann = t.user_with_password("ann", &["reader"]).await;
    let live = t.key_for(&ann, &["read:contacts"]).await;
    let revoked = t.key_for(&ann, &["read:contacts"]).await;
    let revoke = pb::revoke_request::Target::TokenId(revoked.token_id.clone());
    assert_eq!(t.revoke(&t.admin_key, revoke).await.expect("revoke"), 1);
    // A parent and the child minted from it, revoked together.
    let parent = t.key_for(&ann, &["read:*", "tessera:tokens:issue"]).await;
    let child = t
        .issue(&parent.token, api_key(&["read:deals"], &ann))
        .await
        .expect("child");
    let revoke = pb::revoke_request::Target::TokenId(parent.token_id.clone());
    assert_eq!(t.revoke(&t.admin_key, revoke).await.expect("revoke"), 2);
    // A session (60 minutes) and a PAT it minted, which outlives it: a session is never
    // a parent.
    let session = t.login("ann", PASSWORD, "").await.expect("login");
    let pat = t.pat(&session.token, "reader").await.expect("pat");
    // A source that expired while a token minted from it still lives (made by hand: issue
    // caps a child's expiry by its source's).
    let now = t.clock.now();
    let (mut source, _) = app_token(TokenKind::ApiKey, &ann, "-", None, "read:*");
    (source.client_id, source.expires_at) = (None, Some(now + 1_000));
    t.store.insert_token(&source).await.expect("source");
    let (mut minted, _) = app_token(TokenKind::ApiKey, &ann, "-", None, "read:*");
    (minted.client_id, minted.created_by) = (None, Some(source.id.clone()));
    t.store.insert_token(&minted).await.expect("minted");
    // A failed login for a name no one has: a row keyed by its hash.
    assert!(t.login("nobody", "not the password", "").await.is_err());

    // An OAuth grant, revoked, whose access token expires in an hour and refresh token in
    // 30 days, and its code (expired a minute after issue).
    let app = client(&t, &["read:*"]).await;
    let (mut code, grant) = code_and_grant(&app, &ann);
    code.expires_at = now + 60_000;
    t.store.insert_code(&code).await.expect("code");
    let mut pair = [TokenKind::OAuthAccess, TokenKind::OAuthRefresh]
        .map(|kind| app_token(kind, &ann, &app, Some(&grant.id), "read:*").0);
    pair[0].expires_at = Some(now + 3_600_000);
    pair[1].expires_at = Some(now + 30 * 86_400_000);
    assert!(
        t.store
            .redeem_code(&code.code_hash, now, &grant, &pair)
            .await
            .expect("redeem")
    );
    assert_eq!(
        t.store.revoke_grant(&grant.id, now).await.expect("revoke"),
        2
    );

    // Within the retention only the day-old login failure goes.
    t.clock.advance(29 * DAY);
    let done = t.app.prune(&Retention::default()).await.expect("prune");
    assert_eq!(done.map(|(_, n)| n), [0, 0, 0, 1, 0], "{done:?}");

    // Past it: the revoked key, the revoked pair, the session, the expired access token
    // and the expired code. The expired source stays under its live child; the refresh
    // token (expired 30 days after issue) and so its grant stay.
    t.clock.advance(2 * DAY);
    let done = t.app.prune(&Retention::default()).await.expect("prune");
    for kept in [
        &live.token_id,
        &pat.token_id,
        &source.id,
        &minted.id,
        &pair[1].id,
    ] {
        assert!(exists(&t, kept).await, "{kept} is kept");
    }
    assert_eq!(deleted(&done, Prunable::Tokens), 5, "{done:?}");
    assert_eq!(deleted(&done, Prunable::Codes), 1, "{done:?}");
    assert_eq!(deleted(&done, Prunable::Grants), 0, "{done:?}");
    for gone in [
        &revoked.token_id,
        &parent.token_id,
        &child.token_id,
        &session.token_id,
        &pair[0].id,
    ] {
        assert!(!exists(&t, gone).await, "{gone} is deleted");
    }
    assert!(
        t.store
            .get_code(&code.code_hash)
            .await
            .expect("read")
            .is_none()
    );
    // No decision changed: what lives still grants, what was deleted is refused as before.
    assert_allow(&t.check(&live.token, &["read:contacts"]).await);
    assert_allow(&t.check(&pat.token, &["read:contacts"]).await);
    assert_unauthenticated(&t.check(&revoked.token, &["read:contacts"]).await);
    assert_unauthenticated(&t.check(&child.token, &["read:deals"]).await);

    // Once the refresh token is 30 days past its expiry, it goes, and then its grant.
    t.clock.advance(30 * DAY);
    let done = t.app.prune(&Retention::default()).await.expect("prune");
    assert_eq!(done.map(|(_, n)| n), [1, 1, 0, 0, 0], "{done:?}");
    assert!(t.store.get_grant(&grant.id).await.expect("read").is_none());
    assert_allow(&t.check(&pat.token, &["read:contacts"]).await);
    let again = t.app.prune(&Retention::default()).await.expect("prune");
    assert_eq!(again.map(|(_, n)| n), [0, 0, 0, 0, 0], "nothing twice");
}

#[tokio::test]
async fn a_backlog_larger_than_a_batch_goes_in_one_pass() {
    let t = spawn_app().await;
    t.create_role("reader", &["read:*"]).await;
    let ann = t.create_user("ann", &["reader"]).await;
    let now = t.clock.now();
    let count = PRUNE_BATCH * 2 + 7;
    for _ in 0..count {
        let (mut rec, _) = app_token(TokenKind::ApiKey, &ann.id, "unused", None, "read:*");
        rec.client_id = None;
        rec.expires_at = Some(now + 1_000);
        t.store.insert_token(&rec).await.expect("insert");
    }
    let keep = t.key_for(&ann.id, &["read:*"]).await;
    t.clock.advance(Duration::from_secs(3600));
    let short = Retention {
        ended_for: Duration::from_secs(60),
        ..Retention::default()
    };
    let done = t.app.prune(&short).await.expect("prune");
    assert_eq!(deleted(&done, Prunable::Tokens), count);
    assert!(exists(&t, &keep.token_id).await);
}

#[tokio::test]
async fn audit_events_go_after_their_retention_and_stay_without_one() {
    let t = spawn_app().await;
    t.create_role("reader", &["read:*"]).await;
    t.create_user("ann", &["reader"]).await;
    // Bootstrap's three (the admin role, user and key), and these two.
    assert_eq!(t.audit_events().await.len(), 5);
    t.clock.advance(89 * DAY);
    let done = t.app.prune(&Retention::default()).await.expect("prune");
    assert_eq!(deleted(&done, Prunable::AuditEvents), 0, "kept 90 days");
    t.create_role("later", &["read:*"]).await;
    t.clock.advance(2 * DAY);
    let forever = Retention {
        audit_for: None,
        ..Retention::default()
    };
    let done = t.app.prune(&forever).await.expect("prune");
    assert_eq!(
        deleted(&done, Prunable::AuditEvents),
        0,
        "`0` keeps every event"
    );
    let done = t.app.prune(&Retention::default()).await.expect("prune");
    assert_eq!(deleted(&done, Prunable::AuditEvents), 5);
    let left: Vec<String> = t
        .audit_events()
        .await
        .into_iter()
        .map(|e| e.target_id)
        .collect();
    assert_eq!(left, ["later"]);
}
