//! A database peer gone silent (a dead host, a dropped NAT entry): connections stay open and
//! nothing answers, so no server-side timeout can fire. Every call still ends within the
//! client-side deadline, nothing half-written stays, health turns NOT_SERVING even with a
//! usage flush stuck, and SIGTERM still exits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera::domain::model::{TokenRecord, User};
use tessera::domain::ports::StoreError;
use tessera::domain::token_format::TokenKind;
use tessera::proto::v1 as pb;
use tessera::store::StoreSettings;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::db::TestDb;
use crate::helpers::*;
use crate::proxy::{Proxy, server_addr, through};
use crate::serve_process::ServeProcess;

const STATEMENT_TIMEOUT: Duration = Duration::from_millis(500);
/// The client-side deadline of every call: the statement timeout plus one second.
const DEADLINE: Duration = Duration::from_millis(1_500);

#[tokio::test]
async fn a_transaction_whose_peer_goes_silent_fails_within_the_deadline_and_writes_nothing() {
    let db = TestDb::fresh().await;
    let proxy = Proxy::start(server_addr(&db.url).await).await;
    let settings = StoreSettings {
        statement_timeout: STATEMENT_TIMEOUT,
        ..crate::db::settings()
    };
    let store = crate::db::open_with(&through(&db.url, proxy.addr), &settings)
        .await
        .store();
    let user = User {
        id: "u1".into(),
        name: "ann".into(),
        roles: Vec::new(),
        disabled: false,
        created_at: 1,
        has_password: false,
        totp_enabled: false,
    };
    store.create_user(&user).await.expect("user");
    let tokens: Vec<TokenRecord> = (0..5_000)
        .map(|i| token_record(&format!("t{i}"), "u1", TokenKind::ApiKey, None))
        .collect();
    // Silence after the transaction has begun and sent some of its inserts.
    proxy.freeze_after(64 * 1024);
    let started = Instant::now();
    let outcome = store.insert_tokens(&tokens).await;
    let took = started.elapsed();
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    assert!(
        took < DEADLINE + Duration::from_millis(500),
        "answered after {took:?}"
    );
    // Seen from a connection of its own: none of the batch exists.
    use sqlx::Connection;
    let mut direct = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM tokens WHERE subject = 'u1'")
        .fetch_one(&mut direct)
        .await
        .expect("count");
    assert_eq!(n, 0, "a transaction cut off mid-way left rows behind");
    proxy.cut().await;
    report(&format!(
        "silent peer mid-transaction: UNAVAILABLE after {took:?} (deadline {DEADLINE:?}), nothing written"
    ));
}

// Multi-threaded: starting the server blocks this thread on its log while the proxy, on
// this runtime, must forward its connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_database_turns_health_not_serving_and_sigterm_still_exits() {
    let db = Arc::new(TestDb::fresh().await);
    let admin = crate::replicas::bootstrap(&db.url);
    let proxy = Proxy::start(server_addr(&db.url).await).await;
    let server = ServeProcess::start(
        &through(&db.url, proxy.addr),
        &[
            ("RUST_LOG", "info"),
            ("TESSERA_DATABASE_STATEMENT_TIMEOUT", "500ms"),
            ("TESSERA_HEALTH_INTERVAL", "100ms"),
            ("TESSERA_USAGE_FLUSH_INTERVAL", "100ms"),
        ],
    );
    let mut client = server.client().await;
    // Many tokens in use, so a usage flush is writing when the database goes silent.
    let mut keys = Vec::new();
    for _ in 0..300 {
        let issued = client
            .issue(authed(
                &admin,
                pb::IssueRequest {
                    grant: Some(api_key(&["read:*"], "")),
                },
            ))
            .await
            .expect("issue")
            .into_inner();
        keys.push(issued.token);
    }
    for key in &keys {
        let _ = client
            .authorize(authed(
                &admin,
                pb::AuthorizeRequest {
                    token: key.clone(),
                    required_scopes: strings(&["read:x"]),
                    ..Default::default()
                },
            ))
            .await
            .expect("authorize");
    }
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut health = HealthClient::new(channel);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "tessera.v1.TokenService".into(),
        })
        .await
        .expect("watch")
        .into_inner();

    proxy.freeze();
    let silent = Instant::now();
    loop {
        let update = tokio::time::timeout(Duration::from_secs(10), watch.message())
            .await
            .expect("health changes within 10 s")
            .expect("health stream")
            .expect("an update");
        if update.status == ServingStatus::NotServing as i32 {
            break;
        }
    }
    let unready = silent.elapsed();
    // The documented bound: one deadline (statement timeout + 1 s) plus a health interval.
    assert!(
        unready < DEADLINE + Duration::from_millis(1_000),
        "NOT_SERVING after {unready:?}"
    );
    // No call is left open (a Watch would hold the drain for its whole timeout).
    drop(watch);
    drop(health);
    drop(client);
    let stopping = Instant::now();
    server.stop("-TERM").await;
    let stopped = stopping.elapsed();
    assert!(
        stopped < Duration::from_secs(10),
        "exited after {stopped:?}"
    );
    proxy.cut().await;
    report(&format!(
        "silent database: NOT_SERVING after {unready:?}; SIGTERM exited after {stopped:?}"
    ));
}
