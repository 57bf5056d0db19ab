//! Two `tessera serve` processes on one Postgres database, as two replicas would run: a
//! revocation made on A is obeyed by B within a second, even while B's listener connection
//! is being killed, and a revocation A acknowledged survives A's death.

use std::process::Command;
use std::time::{Duration, Instant};

use tessera::proto::v1 as pb;
use tessera::proto::v1::token_service_client::TokenServiceClient;
use tonic::transport::Channel;

use crate::db::TestDb;
use crate::helpers::report;
use crate::helpers::*;
use crate::serve_process::{BIN, ServeProcess};

const REVOCATIONS: usize = 200;

/// The replica tests run one at a time: each drives two servers flat out, and measuring lag
/// while another does the same on two cores would measure the contention.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// The bound the issue sets for the 99th percentile.
const BOUND: Duration = Duration::from_secs(1);

/// `tessera bootstrap` on the database: the admin key it prints.
pub fn bootstrap(url: &str) -> String {
    let out = Command::new(BIN)
        .args(["bootstrap", "--database-url", url])
        .output()
        .expect("run tessera bootstrap");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned()
}

fn replica(url: &str) -> ServeProcess {
    ServeProcess::start(url, &[("RUST_LOG", "info")])
}

async fn decide(
    client: &mut TokenServiceClient<Channel>,
    admin: &str,
    token: &str,
) -> pb::Decision {
    let r = client
        .authorize(authed(
            admin,
            pb::AuthorizeRequest {
                token: token.into(),
                required_scopes: strings(&["read:x"]),
                ..Default::default()
            },
        ))
        .await
        .expect("authorize")
        .into_inner();
    decision(&r)
}

/// Revokes token `id` and what it minted; how many tokens that revoked.
pub(crate) async fn revoke(client: &mut TokenServiceClient<Channel>, admin: &str, id: &str) -> u32 {
    client
        .revoke(authed(
            admin,
            pb::RevokeRequest {
                target: Some(pb::revoke_request::Target::TokenId(id.into())),
            },
        ))
        .await
        .expect("revoke")
        .into_inner()
        .revoked
}

/// Ends every change-listener connection on the database (both replicas'), as a network
/// blip or a failover would. Returns how many it ended.
pub(crate) async fn kill_listeners(url: &str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'tessera-listener'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("terminate listeners")
}

/// Two `serve` processes on one fresh database, and the admin key.
pub(crate) struct Replicas {
    pub db: TestDb,
    pub admin: String,
    pub a: ServeProcess,
    pub b: ServeProcess,
    pub on_a: TokenServiceClient<Channel>,
    pub on_b: TokenServiceClient<Channel>,
}

pub(crate) async fn two_replicas() -> Replicas {
    let db = TestDb::fresh().await;
    let admin = bootstrap(&db.url);
    let (a, b) = (replica(&db.url), replica(&db.url));
    let (on_a, on_b) = (a.client().await, b.client().await);
    Replicas {
        db,
        admin,
        a,
        b,
        on_a,
        on_b,
    }
}

/// Asks `client` in a tight loop until it denies `token`; how long that took.
pub(crate) async fn until_denied(
    client: &mut TokenServiceClient<Channel>,
    admin: &str,
    token: &str,
) -> Duration {
    let started = Instant::now();
    loop {
        match decide(client, admin, token).await {
            pb::Decision::Unauthenticated => return started.elapsed(),
            pb::Decision::Allow => assert!(
                started.elapsed() < Duration::from_secs(10),
                "still allowed 10 s after its revocation"
            ),
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Issues a token on A and has B allow it once, so B holds it, valid, in its cache.
pub(crate) async fn issued_on_a_cached_on_b(
    on_a: &mut TokenServiceClient<Channel>,
    on_b: &mut TokenServiceClient<Channel>,
    admin: &str,
) -> pb::IssueResponse {
    let token = issue_read_key(on_a, admin).await;
    assert_eq!(decide(on_b, admin, &token.token).await, pb::Decision::Allow);
    token
}

/// Revokes on A, then asks B in a tight loop until it denies; returns the lags, sorted.
async fn revocation_lags(kill_every: Option<usize>) -> Vec<Duration> {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Replicas {
        db,
        admin,
        a,
        b,
        mut on_a,
        mut on_b,
    } = two_replicas().await;
    let mut lags = Vec::with_capacity(REVOCATIONS);
    let mut killed = 0;
    for round in 0..REVOCATIONS {
        let token = issued_on_a_cached_on_b(&mut on_a, &mut on_b, &admin).await;
        if kill_every.is_some_and(|n| round % n == 0) {
            killed += kill_listeners(&db.url).await;
        }
        assert_eq!(revoke(&mut on_a, &admin, &token.token_id).await, 1);
        lags.push(until_denied(&mut on_b, &admin, &token.token).await);
    }
    if kill_every.is_some() {
        assert!(killed > 0, "no listener connection was ever killed");
    }
    a.stop("-TERM").await;
    b.stop("-TERM").await;
    lags.sort();
    lags
}

fn assert_bounded(what: &str, lags: &[Duration]) {
    let (p50, p99, max) = (
        percentile(lags, 0.50),
        percentile(lags, 0.99),
        lags[lags.len() - 1],
    );
    report(&format!(
        "{what}: {} revocations, lag on the other replica p50 {p50:?}, p99 {p99:?}, max {max:?}",
        lags.len()
    ));
    assert!(p99 < BOUND, "p99 {p99:?} over {BOUND:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_replica_is_obeyed_by_the_other_within_a_second() {
    let lags = revocation_lags(None).await;
    assert_bounded("replicas", &lags);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bound_holds_while_listener_connections_are_killed() {
    let lags = revocation_lags(Some(10)).await;
    assert_bounded("replicas, listeners killed every 10th revocation", &lags);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_revocation_survives_the_replica_that_made_it() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Replicas {
        db,
        admin,
        a,
        b,
        mut on_a,
        mut on_b,
    } = two_replicas().await;
    let token = issued_on_a_cached_on_b(&mut on_a, &mut on_b, &admin).await;
    assert_eq!(revoke(&mut on_a, &admin, &token.token_id).await, 1);
    a.kill();
    let stored = crate::db::open(&db.url)
        .await
        .store()
        .get_token(&token.token_id)
        .await
        .expect("read")
        .expect("token");
    assert!(stored.revoked_at.is_some(), "the revocation was lost");
    // A fresh replica, and B, both deny it.
    let c = replica(&db.url);
    assert_eq!(
        decide(&mut c.client().await, &admin, &token.token).await,
        pb::Decision::Unauthenticated
    );
    until_denied(&mut on_b, &admin, &token.token).await;
    b.stop("-TERM").await;
    c.stop("-TERM").await;
}

/// Derived tokens follow their source across replicas: revoking a parent on A ends, on B,
/// the grandchild B holds in its cache, within the same bound as any revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_parent_on_one_replica_ends_its_descendants_on_the_other() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Replicas {
        db: _db,
        admin,
        a,
        b,
        mut on_a,
        mut on_b,
    } = two_replicas().await;
    let parent = issue_read_key(&mut on_a, &admin).await;
    let child = issue_read_key(&mut on_a, &parent.token).await;
    let grandchild = issue_read_key(&mut on_a, &child.token).await;
    assert_eq!(
        decide(&mut on_b, &admin, &grandchild.token).await,
        pb::Decision::Allow,
        "B holds the grandchild, and its parents, in its cache"
    );
    assert_eq!(revoke(&mut on_a, &admin, &parent.token_id).await, 3);
    let lag = until_denied(&mut on_b, &admin, &grandchild.token).await;
    report(&format!(
        "a grandchild denied on the other replica after {lag:?}"
    ));
    assert!(lag < BOUND, "{lag:?}");
    a.stop("-TERM").await;
    b.stop("-TERM").await;
}

/// The server secret both replicas share, so either verifies the other's sessions' keys.
const SECRET: &str = "replica test secret, at least 32 bytes long";

/// A session made on A and checked once on B, then revoked on A (a logout) and asked of B
/// until refused: the same bound as for any revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_revoked_on_one_replica_is_refused_by_the_other_within_a_second() {
    const SESSIONS: usize = 100;
    let _alone = ONE_AT_A_TIME.lock().await;
    let db = TestDb::fresh().await;
    let admin = bootstrap(&db.url);
    let env = [("RUST_LOG", "info"), ("TESSERA_SECRET_KEY", SECRET)];
    let (a, b) = (
        ServeProcess::start(&db.url, &env),
        ServeProcess::start(&db.url, &env),
    );
    let (mut on_a, mut on_b) = (a.client().await, b.client().await);
    let channel = Channel::from_shared(format!("http://{}", a.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut admin_a = tessera::proto::v1::admin_service_client::AdminServiceClient::new(channel);
    let user = admin_a
        .create_user(authed(
            &admin,
            pb::CreateUserRequest {
                name: "roamer".into(),
                roles: strings(&["admin"]),
            },
        ))
        .await
        .expect("user")
        .into_inner();
    let password = "replicated password, long enough";
    admin_a
        .set_user_password(authed(
            &admin,
            pb::SetUserPasswordRequest {
                id: user.id,
                password: password.into(),
            },
        ))
        .await
        .expect("password");
    let mut lags = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        let grant = pb::issue_request::Grant::Password(pb::PasswordGrant {
            username: "roamer".into(),
            password: password.into(),
            ..Default::default()
        });
        let session = on_a
            .issue(tonic::Request::new(pb::IssueRequest { grant: Some(grant) }))
            .await
            .expect("login on A")
            .into_inner();
        assert_eq!(
            decide(&mut on_b, &admin, &session.token).await,
            pb::Decision::Allow
        );
        // Logging out: the session revokes itself.
        assert_eq!(
            revoke(&mut on_a, &session.token, &session.token_id).await,
            1
        );
        lags.push(until_denied(&mut on_b, &admin, &session.token).await);
    }
    a.stop("-TERM").await;
    b.stop("-TERM").await;
    lags.sort();
    assert_bounded("session logouts across replicas", &lags);
}
