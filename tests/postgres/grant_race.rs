//! A grant revoked while one of its refresh tokens rotates on another connection: whichever
//! commits first, no token of the grant is left live. (On SQLite the writers are serial; on
//! Postgres, under READ COMMITTED, a revocation that read the tokens before the rotation's
//! new pair committed would miss it, were the grant not locked first by both.)

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor};
use tessera::domain::ports::{OAuthStore, TokenStore};
use tessera::domain::token_format::TokenKind;

use super::shared::oauth_tokens::{app_token, client, redeemed};
use crate::helpers::*;

/// Until `n` backends of this database wait on a lock.
async fn until_waiting(probe: &mut sqlx::PgConnection, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut *probe)
        .await
        .expect("pg_stat_activity");
        if waiting >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} of {n} backends waiting"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_racing_a_rotation_leaves_no_token_of_the_grant_live() {
    let t = spawn_app().await;
    let user = t.create_user("bob", &[]).await;
    let app = client(&t, &["read:*"]).await;
    let (grant, refresh) = redeemed(&t, &app, &user.id, 1).await;
    let (access, _) = app_token(
        TokenKind::OAuthAccess,
        &user.id,
        &app,
        Some(&grant.id),
        "read:*",
    );
    let (next, _) = app_token(
        TokenKind::OAuthRefresh,
        &user.id,
        &app,
        Some(&grant.id),
        "read:*",
    );

    // A third connection holds the old refresh token's row, so the rotation stops at it
    // with its other statements done, and the revocation starts meanwhile.
    let mut blocker = sqlx::PgConnection::connect(&t.db.url)
        .await
        .expect("connect");
    let mut probe = sqlx::PgConnection::connect(&t.db.url)
        .await
        .expect("connect");
    blocker.execute("BEGIN").await.expect("begin");
    sqlx::query("SELECT id FROM tokens WHERE id = $1 FOR UPDATE")
        .bind(&refresh.id)
        .fetch_one(&mut blocker)
        .await
        .expect("lock the old token");
    let rotation = {
        let (store, grant, old) = (t.store.clone(), grant.id.clone(), refresh.id.clone());
        let tokens = vec![access.clone(), next.clone()];
        tokio::spawn(async move { store.rotate_refresh(&grant, Some(&old), 9, &tokens).await })
    };
    until_waiting(&mut probe, 1).await;
    let revocation = {
        let (store, grant) = (t.store.clone(), grant.id.clone());
        tokio::spawn(async move { store.revoke_grant(&grant, 10).await })
    };
    until_waiting(&mut probe, 2).await;
    blocker.execute("COMMIT").await.expect("release");

    let rotated = rotation.await.expect("task").expect("rotation");
    revocation.await.expect("task").expect("revocation");
    for id in [&refresh.id, &access.id, &next.id] {
        let stored = t.store.get_token(id).await.expect("read");
        if let Some(token) = stored {
            assert!(token.revoked_at.is_some(), "{id} live (rotated: {rotated})");
        }
    }
    assert!(
        t.store
            .get_grant(&grant.id)
            .await
            .expect("read")
            .expect("grant")
            .revoked_at
            .is_some()
    );
}
