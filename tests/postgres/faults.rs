//! The database going away: every check that is not answered from a young cache entry fails
//! closed with UNAVAILABLE (never ALLOW for an unknown, revoked or expired token), health
//! turns NOT_SERVING, and the service recovers by itself when the database returns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera::proto::v1 as pb;
use tessera::server::ServeOptions;
use tessera::store::StoreSettings;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::db::TestDb;
use crate::helpers::*;
use crate::proxy::{Proxy, server_addr, through};

/// Health probed every 100 ms and statements bounded at 500 ms, so an outage shows fast.
pub fn fast_failing() -> Setup {
    Setup {
        serve: ServeOptions {
            health_interval: Duration::from_millis(100),
            ..ServeOptions::default()
        },
        settings: StoreSettings {
            statement_timeout: Duration::from_millis(500),
            ..crate::db::settings()
        },
        ..Setup::default()
    }
}

/// Authorize must not answer ALLOW; UNAVAILABLE or a denial are both fail-closed.
async fn never_allowed(t: &TestApp, token: &str) -> Result<pb::Decision, Code> {
    let answer = t
        .tokens
        .clone()
        .authorize(authed(
            &t.admin_key,
            pb::AuthorizeRequest {
                token: token.into(),
                required_scopes: strings(&["read:x"]),
                ..Default::default()
            },
        ))
        .await;
    match answer {
        Ok(r) => {
            let d = decision(r.get_ref());
            assert_ne!(d, pb::Decision::Allow, "ALLOW during an outage for {r:?}");
            Ok(d)
        }
        Err(status) => Err(status.code()),
    }
}

#[tokio::test]
async fn an_unreachable_database_fails_closed_and_recovers_alone() {
    let db = Arc::new(TestDb::fresh().await);
    let proxy = Proxy::start(server_addr(&db.url).await).await;
    let t = spawn_app_on(
        db.clone(),
        Setup {
            via: Some(through(&db.url, proxy.addr)),
            ..fast_failing()
        },
    )
    .await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("olga", &["r"]).await;
    let valid = t.key_for(&user.id, &["read:*"]).await;
    let revoked = t.key_for(&user.id, &["read:*"]).await;
    let expiring = t
        .issue(
            &t.admin_key,
            api_key_with(&["read:*"], &user.id, Some(60), false),
        )
        .await
        .expect("issue");
    for key in [&valid, &revoked, &expiring] {
        assert_allow(&t.check(&key.token, &["read:x"]).await);
    }
    t.revoke(
        &t.admin_key,
        pb::revoke_request::Target::TokenId(revoked.token_id.clone()),
    )
    .await
    .expect("revoke");
    t.clock.advance(Duration::from_secs(61));
    let unknown =
        tessera::domain::token_format::generate(tessera::domain::token_format::TokenKind::ApiKey)
            .expect("token")
            .secret;

    proxy.cut().await;
    let outage = Instant::now();
    health_becomes(&t, ServingStatus::NotServing).await;
    let not_serving = outage.elapsed();
    // Unready, not dead: the liveness name does not follow the database.
    let liveness = HealthClient::new(t.channel.clone())
        .check(HealthCheckRequest {
            service: tessera::server::LIVENESS_HEALTH_NAME.into(),
        })
        .await
        .expect("liveness check")
        .into_inner();
    assert_eq!(liveness.status, ServingStatus::Serving as i32);
    for token in [&unknown, &revoked.token, &expiring.token] {
        let answer = never_allowed(&t, token).await;
        assert!(
            matches!(
                answer,
                Err(Code::Unavailable)
                    | Ok(pb::Decision::Unauthenticated | pb::Decision::PermissionDenied)
            ),
            "{answer:?}"
        );
    }
    // Nothing was known about this token: only the database could say, so UNAVAILABLE.
    assert_eq!(never_allowed(&t, &unknown).await, Err(Code::Unavailable));
    let introspect = t
        .tokens
        .clone()
        .introspect(authed(
            &t.admin_key,
            pb::IntrospectRequest {
                token: unknown.clone(),
            },
        ))
        .await;
    assert_eq!(
        introspect.map(|_| ()).map_err(|s| s.code()),
        Err(Code::Unavailable)
    );
    // A revocation that cannot be made durable is not acknowledged.
    let revoke = t
        .revoke(
            &t.admin_key,
            pb::revoke_request::Target::TokenId(valid.token_id.clone()),
        )
        .await;
    assert_eq!(revoke.map_err(|s| s.code()), Err(Code::Unavailable));
    let answered_in = outage.elapsed();

    proxy.restore().await;
    let back = Instant::now();
    health_becomes(&t, ServingStatus::Serving).await;
    let serving = back.elapsed();
    assert_allow(&t.check(&valid.token, &["read:x"]).await);
    assert_unauthenticated(&t.check(&revoked.token, &["read:x"]).await);
    assert_unauthenticated(&t.check(&expiring.token, &["read:x"]).await);
    assert_unauthenticated(&t.check(&unknown, &["read:x"]).await);
    report(&format!(
        "outage: NOT_SERVING {not_serving:?} after the cut; 6 fail-closed answers in {answered_in:?}; \
         SERVING again {serving:?} after the database returned"
    ));
}

#[tokio::test]
async fn a_statement_timeout_answers_unavailable_then_recovers() {
    let db = Arc::new(TestDb::fresh().await);
    let t = spawn_app_on(
        db.clone(),
        Setup {
            // Every check reads the database, so the lock below is in its way.
            cache: tessera::domain::app::CacheConfig {
                capacity: 0,
                ..Default::default()
            },
            ..fast_failing()
        },
    )
    .await;
    let key = t.key_for(&t.admin_id, &["read:*"]).await;
    assert_allow(&t.check(&key.token, &["read:x"]).await);

    // Another session holds the tokens table: reads queue behind it.
    use sqlx::{Connection, Executor};
    let mut locker = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    locker.execute("BEGIN").await.expect("begin");
    locker
        .execute("LOCK TABLE tokens IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let started = Instant::now();
    assert_eq!(never_allowed(&t, &key.token).await, Err(Code::Unavailable));
    let timed_out = started.elapsed();
    assert!(timed_out < Duration::from_secs(3), "{timed_out:?}");
    // Health probes the check path's own read, so the lock shows there too (`SELECT 1`
    // answered SERVING all along).
    health_becomes(&t, ServingStatus::NotServing).await;
    locker.execute("COMMIT").await.expect("commit");
    health_becomes(&t, ServingStatus::Serving).await;
    assert_allow(&t.check(&key.token, &["read:x"]).await);
    report(&format!(
        "statement timeout 500ms: UNAVAILABLE after {timed_out:?}, then ALLOW once released"
    ));
}
