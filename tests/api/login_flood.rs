//! Password hashing never runs on the async workers: while 200 logins (good and bad) run
//! against a real `tessera serve`, warm checks keep their latency. SQLite only (the server
//! process is the subject, not the store).

use std::time::{Duration, Instant};

use tessera::proto::v1 as pb;
use tessera::proto::v1::admin_service_client::AdminServiceClient;
use tessera::proto::v1::token_service_client::TokenServiceClient;

use crate::floods::{channel, honest_check, serve};
use crate::helpers::*;

const FLOOD: usize = 200;
const CHECKS: usize = 300;
const PASSWORD: &str = "flooded password, long enough";

async fn check_latencies(ch: &tonic::transport::Channel, key: &str) -> Vec<Duration> {
    let mut took = Vec::with_capacity(CHECKS);
    for _ in 0..CHECKS {
        took.push(honest_check(ch, key).await);
    }
    took.sort();
    took
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[(sorted.len() * 99).div_ceil(100) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_checks_keep_their_latency_while_200_logins_run() {
    let server = serve(&[], None);
    let ch = channel(&server.process.addr).await;
    let mut admin = AdminServiceClient::new(ch.clone());
    let user = admin
        .create_user(authed(
            &server.key,
            pb::CreateUserRequest {
                name: "flooded".into(),
                roles: vec![],
            },
        ))
        .await
        .expect("user")
        .into_inner();
    admin
        .set_user_password(authed(
            &server.key,
            pb::SetUserPasswordRequest {
                id: user.id,
                password: PASSWORD.into(),
            },
        ))
        .await
        .expect("password");
    let idle = check_latencies(&ch, &server.key).await;

    let logins_ch = channel(&server.process.addr).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let flood: Vec<_> = (0..FLOOD)
        .map(|i| {
            let (ch, done) = (logins_ch.clone(), done.clone());
            tokio::spawn(async move {
                let mut tokens = TokenServiceClient::new(ch);
                loop {
                    // Half good, half for a fresh unknown name: each costs a full hash.
                    let username = match i % 2 {
                        0 => "flooded".to_owned(),
                        _ => format!(
                            "nobody-{i}-{}",
                            done.load(std::sync::atomic::Ordering::Relaxed)
                        ),
                    };
                    let grant = pb::issue_request::Grant::Password(pb::PasswordGrant {
                        username,
                        password: PASSWORD.into(),
                        totp_code: String::new(),
                        ttl: Some(prost_types::Duration {
                            seconds: 1,
                            nanos: 0,
                        }),
                    });
                    let _ = tokens
                        .issue(tonic::Request::new(pb::IssueRequest { grant: Some(grant) }))
                        .await;
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Wait until the flood is under way: logins are being answered.
    let started = Instant::now();
    while done.load(std::sync::atomic::Ordering::Relaxed) < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no login answered"
        );
        tokio::task::yield_now().await;
        honest_check(&ch, &server.key).await;
    }
    let before = done.load(std::sync::atomic::Ordering::Relaxed);
    let t0 = Instant::now();
    let flooded = check_latencies(&ch, &server.key).await;
    let logins = done.load(std::sync::atomic::Ordering::Relaxed) - before;
    let rate = logins as f64 / t0.elapsed().as_secs_f64();
    for task in &flood {
        task.abort();
    }
    report(&format!(
        "warm check p99 {:?} idle, {:?} while {FLOOD} logins ran ({rate:.0} logins/s answered; debug build)",
        p99(&idle),
        p99(&flooded)
    ));
    assert!(logins > 0, "the flood ran during the measurement");
    // Were hashes on the async workers, a check would wait behind whole queues of them
    // (200 × 17 ms); on their bounded pool it waits, at worst, for a core.
    assert!(
        p99(&flooded) < Duration::from_millis(100),
        "p99 {:?} under the login flood",
        p99(&flooded)
    );
    server.process.stop("-TERM").await;
}
