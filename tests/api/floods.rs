//! Fault injection against a real `tessera serve` process on loopback, each flood bounded
//! in time, each asserting what must hold: the server's memory, honest clients served,
//! the codes answered. Figures print as `[figures]` lines.

use std::time::{Duration, Instant};

use tessera::proto::v1 as pb;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;

use crate::helpers::*;
use crate::raw::RawCodec;
use crate::serve_process::ServeProcess;

/// The server's resident memory, in MiB.
pub fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kb / 1024
}

/// CPU time the server has used, in seconds (user + system; clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    let after_name = stat.rsplit(')').next().expect("stat fields");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    ticks as f64 / 100.0
}

pub struct Server {
    pub process: ServeProcess,
    pub key: String,
    _dir: tempfile::TempDir,
}

pub fn serve(env: &[(&str, &str)], files: Option<u32>) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("f.db");
    let url = format!("sqlite://{}", db.display());
    let mut env = env.to_vec();
    env.push(("RUST_LOG", "warn,tessera=info"));
    let process = match files {
        Some(n) => ServeProcess::start_limited(&url, &env, n),
        None => ServeProcess::start(&url, &env),
    };
    let key = std::fs::read_to_string(dir.path().join("f.db.admin-key"))
        .expect("admin key file")
        .trim()
        .to_owned();
    Server {
        process,
        key,
        _dir: dir,
    }
}

pub async fn channel(addr: &str) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

/// One honest check; how long it took.
pub async fn honest_check(channel: &tonic::transport::Channel, key: &str) -> Duration {
    let started = Instant::now();
    let answer = pb::token_service_client::TokenServiceClient::new(channel.clone())
        .authorize(authed(
            key,
            pb::AuthorizeRequest {
                token: key.to_owned(),
                required_scopes: strings(&["read:x"]),
                ..Default::default()
            },
        ))
        .await
        .expect("an honest check is answered");
    assert_allow(answer.get_ref());
    started.elapsed()
}

/// The attack found by hand: one connection, no credential, 500 Authorize streams, each
/// sending 2 MB of its message and never finishing. Every stream is refused before its body
/// is read; the server stays under 100 MiB and an honest client on another connection is
/// served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_half_sent_streams_pin_no_memory() {
    const STREAMS: usize = 500;
    let server = serve(&[], None);
    let pid = server.process.pid();
    let honest = channel(&server.process.addr).await;
    honest_check(&honest, &server.key).await;
    let before = rss_mib(pid);
    let attacker = channel(&server.process.addr).await;
    let started = Instant::now();
    let streams: Vec<_> = (0..STREAMS)
        .map(|_| {
            let attacker = attacker.clone();
            tokio::spawn(async move {
                let body = tokio_stream::iter(std::iter::once_with(|| vec![0u8; 2_000_000]))
                    .chain(tokio_stream::pending());
                let mut grpc = tonic::client::Grpc::new(attacker);
                grpc.ready().await.expect("ready");
                grpc.client_streaming(
                    tonic::Request::new(body),
                    PathAndQuery::from_static("/tessera.v1.TokenService/Authorize"),
                    RawCodec,
                )
                .await
            })
        })
        .collect();
    let mut slowest_honest = Duration::ZERO;
    let mut peak = before;
    let mut refused = 0;
    for stream in streams {
        slowest_honest = slowest_honest.max(honest_check(&honest, &server.key).await);
        peak = peak.max(rss_mib(pid));
        match stream.await.expect("task") {
            Err(status) if status.code() == Code::Unauthenticated => refused += 1,
            other => panic!("expected UNAUTHENTICATED: {other:?}"),
        }
    }
    let took = started.elapsed();
    report(&format!(
        "{STREAMS} unauthenticated 2 MB half-sent streams on one connection: all refused in {took:?}; server RSS {before} MiB before, peak {peak} MiB; slowest honest check {slowest_honest:?}"
    ));
    assert_eq!(refused, STREAMS);
    assert!(peak < 100, "RSS peaked at {peak} MiB");
    assert!(
        slowest_honest < Duration::from_secs(1),
        "{slowest_honest:?}"
    );
    server.process.stop("-TERM").await;
}

/// Out of file descriptors: the server keeps failing to accept, logs it, and backs off
/// instead of spinning at 100 % CPU; once the flood ends it serves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_backs_off_and_recovers() {
    let server = serve(&[], Some(96));
    let pid = server.process.pid();
    let honest = channel(&server.process.addr).await;
    honest_check(&honest, &server.key).await;
    let mut flood = Vec::new();
    for _ in 0..200 {
        match tokio::net::TcpStream::connect(&server.process.addr).await {
            Ok(stream) => flood.push(stream),
            Err(_) => break,
        }
    }
    // A sampling window, not a wait for an event: the CPU used while accepts fail.
    let cpu_before = cpu_seconds(pid);
    let window = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let used = cpu_seconds(pid) - cpu_before;
    let share = used / window.elapsed().as_secs_f64();
    report(&format!(
        "out of descriptors ({} connections against ulimit -n 96): server CPU {:.0} % while accepts failed",
        flood.len(),
        share * 100.0
    ));
    assert!(share < 0.25, "busy loop: {:.0} % CPU", share * 100.0);
    drop(flood);
    // Served again once descriptors are free (a new connection, a fresh check).
    let started = Instant::now();
    loop {
        let fresh =
            tonic::transport::Channel::from_shared(format!("http://{}", server.process.addr))
                .expect("uri")
                .connect()
                .await;
        if let Ok(fresh) = fresh {
            honest_check(&fresh, &server.key).await;
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never recovered"
        );
        tokio::task::yield_now().await;
    }
    let log = server.process.stop("-TERM").await;
    assert!(log.contains("accept failed"), "the failure is logged");
}

/// Opens `n` connections (sending the HTTP/2 preface and nothing more when `speak`), and
/// checks that the server closes every one within 10 s while an honest client is served and
/// RSS stays under 100 MiB. `what` names the flood in the figures.
async fn connection_flood(what: &str, env: &[(&str, &str)], n: usize, speak: bool) {
    let server = serve(env, None);
    let pid = server.process.pid();
    let before = rss_mib(pid);
    let mut flood = Vec::with_capacity(n);
    for _ in 0..n {
        let mut stream = tokio::net::TcpStream::connect(&server.process.addr)
            .await
            .expect("connect");
        if speak {
            tokio::io::AsyncWriteExt::write_all(&mut stream, crate::connections::HELLO)
                .await
                .expect("preface");
        }
        flood.push(stream);
    }
    let peak = rss_mib(pid);
    // The honest client connects when it has a check to make: a connection opened before
    // the flood would itself sit idle past the idle timeout (the flood takes longer than
    // 1 s to open under load) and be closed under its request.
    let honest = channel(&server.process.addr).await;
    let slowest = honest_check(&honest, &server.key).await;
    let started = Instant::now();
    for mut stream in flood {
        crate::connections::closed_by_server(&mut stream, Duration::from_secs(10)).await;
    }
    let took = started.elapsed();
    report(&format!(
        "{n} {what}: all closed {took:?} after the last connect; RSS {before} MiB before, {peak} MiB with them open; an honest check meanwhile took {slowest:?}"
    ));
    assert!(peak < 100, "{peak} MiB");
    honest_check(&channel(&server.process.addr).await, &server.key).await;
    server.process.stop("-TERM").await;
}

/// 2,000 connections that never speak HTTP/2 are all closed by the handshake timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_by_the_handshake_timeout() {
    let env = [("TESSERA_HANDSHAKE_TIMEOUT", "1s")];
    connection_flood(
        "silent connections (handshake timeout 1 s)",
        &env,
        2_000,
        false,
    )
    .await;
}

/// 3,000 connections that speak HTTP/2 and then fall idle are all closed by the idle
/// timeout (they were never closed before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_by_the_idle_timeout() {
    let env = [("TESSERA_IDLE_TIMEOUT", "1s")];
    connection_flood(
        "idle HTTP/2 connections (idle timeout 1 s)",
        &env,
        3_000,
        true,
    )
    .await;
}

/// A fast Issue loop for one user stops at the quota with RESOURCE_EXHAUSTED, and the store
/// holds no more than the quota for that user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_issue_loop_stops_at_the_quota() {
    let server = serve(&[("TESSERA_MAX_TOKENS_PER_USER", "200")], None);
    let honest = channel(&server.process.addr).await;
    let mut tokens = pb::token_service_client::TokenServiceClient::new(honest.clone());
    let mut issued = 0;
    let started = Instant::now();
    let refusal = loop {
        let answer = tokens
            .issue(authed(
                &server.key,
                pb::IssueRequest {
                    grant: Some(api_key(&["read:*"], "")),
                },
            ))
            .await;
        match answer {
            Ok(_) => issued += 1,
            Err(status) => break status,
        }
        assert!(issued <= 200, "past the quota");
    };
    report(&format!(
        "a fast Issue loop: {issued} issued in {:?}, then {:?}",
        started.elapsed(),
        refusal.code()
    ));
    assert_eq!(refusal.code(), Code::ResourceExhausted, "{refusal:?}");
    // The bootstrap key counts too: 199 more fit beside it.
    assert_eq!(issued, 199);
    honest_check(&honest, &server.key).await;
    server.process.stop("-TERM").await;
}

/// 512 Authorize streams over four connections, each sending a mebibyte of a message it
/// never finishes, from one authenticated caller. Only what the shared 16 MiB budget holds
/// (15 such messages) is read; every other stream is refused RESOURCE_EXHAUSTED at once,
/// while those 15 stay held. RSS stays under 100 MiB and an honest client is served
/// throughout. (Before the budget, the same client could pin 2 MiB per stream: a gibibyte
/// over 512 streams.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticated_client_pins_at_most_the_large_message_budget() {
    const CONNECTIONS: usize = 4;
    const PER_CONNECTION: usize = 128;
    const DECLARED: u32 = 1_100_000;
    // The budget counts KiB: 16,384 of them hold 15 messages of 1,075.
    const FIT: usize = 15;
    // Long enough that no held call ends (and frees its share) during the test.
    let server = serve(&[("TESSERA_REQUEST_TIMEOUT", "60s")], None);
    let pid = server.process.pid();
    let honest = channel(&server.process.addr).await;
    honest_check(&honest, &server.key).await;
    let before = rss_mib(pid);
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let attacker = channel(&server.process.addr).await;
        for _ in 0..PER_CONNECTION {
            let call = crate::raw::half_sent_call(
                attacker.clone(),
                &server.key,
                "/tessera.v1.TokenService/Authorize",
                DECLARED,
                1_000_000,
            );
            calls.spawn(async move { call.await.expect("task") });
        }
    }
    let total = CONNECTIONS * PER_CONNECTION;
    let (mut shed, mut peak) = (0, before);
    let mut slowest_honest = Duration::ZERO;
    // A bound for the failure case (no budget: nothing is refused), not a wait for success.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while shed < total - FIT {
        let answered = tokio::time::timeout_at(deadline, calls.join_next())
            .await
            .unwrap_or_else(|_| panic!("only {shed} of {total} refused within 30 s"))
            .expect("calls left")
            .expect("call task");
        assert_eq!(answered.code(), Code::ResourceExhausted, "{answered:?}");
        shed += 1;
        slowest_honest = slowest_honest.max(honest_check(&honest, &server.key).await);
        peak = peak.max(rss_mib(pid));
    }
    let took = started.elapsed();
    let held = calls.len();
    peak = peak.max(rss_mib(pid));
    report(&format!(
        "{total} authenticated half-sent 1 MB Authorize streams on {CONNECTIONS} connections: {held} held within the 16 MiB budget, {shed} refused RESOURCE_EXHAUSTED in {took:?}; server RSS {before} MiB before, peak {peak} MiB; slowest honest check {slowest_honest:?}"
    ));
    assert_eq!(
        held, FIT,
        "the rest are still being read, within the budget"
    );
    assert!(peak < 100, "RSS peaked at {peak} MiB");
    assert!(
        slowest_honest < Duration::from_secs(1),
        "{slowest_honest:?}"
    );
    honest_check(&honest, &server.key).await;
    calls.abort_all();
    server.process.stop("-TERM").await;
}
