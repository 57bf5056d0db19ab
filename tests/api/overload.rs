//! Overload is shed, not queued, and a call cannot hold the server forever: past
//! `--max-concurrent-requests` a call is answered RESOURCE_EXHAUSTED at once (health still
//! answers), and a request body that never finishes is ended by `--request-timeout`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera::server::ServeOptions;
use tonic::Code;

use crate::helpers::*;
use crate::raw::held_call;

async fn with_options(serve: ServeOptions) -> TestApp {
    let setup = Setup {
        serve,
        ..Setup::default()
    };
    spawn_app_on(Arc::new(crate::db::TestDb::fresh().await), setup).await
}

/// An Authorize of the admin key by the admin key: its outcome, as a gRPC status.
async fn try_check(t: &TestApp) -> Result<(), tonic::Status> {
    t.tokens
        .clone()
        .authorize(authed(
            &t.admin_key,
            tessera::proto::v1::AuthorizeRequest {
                token: t.admin_key.clone(),
                required_scopes: strings(&["read:x"]),
                ..Default::default()
            },
        ))
        .await
        .map(|_| ())
}

/// Calls `try_check` until `done` says so; fails after 10 s (the held call's timeout).
async fn until(t: &TestApp, done: impl Fn(&Result<(), tonic::Status>) -> bool) {
    let started = Instant::now();
    loop {
        let outcome = try_check(t).await;
        if done(&outcome) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{outcome:?}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_limit_calls_are_shed_at_once_and_health_still_answers() {
    let t = with_options(ServeOptions {
        max_concurrent_requests: 1,
        ..ServeOptions::default()
    })
    .await;
    try_check(&t).await.expect("admitted while idle");
    let hold = || {
        held_call(
            t.channel.clone(),
            &t.admin_key,
            "/tessera.v1.TokenService/Authorize",
        )
    };
    let mut held = hold();
    let started = Instant::now();
    loop {
        let outcome = try_check(&t).await;
        if matches!(&outcome, Err(s) if s.code() == Code::ResourceExhausted) {
            break;
        }
        // The held call raced a check for the one slot and was shed itself: hold again.
        if held.is_finished() {
            held = hold();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{outcome:?}");
        tokio::task::yield_now().await;
    }
    let shed = try_check(&t).await.expect_err("still shed");
    assert!(
        shed.message().contains("--max-concurrent-requests"),
        "{shed:?}"
    );
    // Health is never shed.
    let health = tonic_health::pb::health_client::HealthClient::new(t.channel.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: "tessera.v1.TokenService".into(),
        })
        .await;
    assert!(health.is_ok(), "{health:?}");
    held.abort();
    until(&t, Result::is_ok).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_finishes_is_ended_by_the_request_timeout() {
    let t = with_options(ServeOptions {
        request_timeout: Duration::from_millis(300),
        ..ServeOptions::default()
    })
    .await;
    let started = Instant::now();
    let outcome = held_call(
        t.channel.clone(),
        &t.admin_key,
        "/tessera.v1.TokenService/Authorize",
    )
    .await
    .expect("task");
    let status = outcome.expect_err("ended");
    assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    try_check(&t).await.expect("the server serves on");
}

/// The caller is known before the body is read: a call with no valid credential is answered
/// UNAUTHENTICATED as soon as its headers arrive, even while its body is still coming, so
/// a client without a credential pins no request buffer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_a_valid_credential_is_refused_before_its_body_is_read() {
    let t = spawn_app().await;
    for credential in ["", "tsk_not-a-token", &tamper(&t.admin_key)] {
        let outcome = tokio::time::timeout(
            Duration::from_secs(5),
            held_call(
                t.channel.clone(),
                credential,
                "/tessera.v1.TokenService/Authorize",
            ),
        )
        .await
        .expect("answered without waiting for the body (or the request timeout)")
        .expect("task");
        let status = outcome.expect_err("refused");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
    // With a valid credential the same call waits for its body, as it must.
    let held = held_call(
        t.channel.clone(),
        &t.admin_key,
        "/tessera.v1.TokenService/Authorize",
    );
    let waited = tokio::time::timeout(Duration::from_millis(300), held).await;
    assert!(waited.is_err(), "an authenticated call waits for its body");
}
