//! `/metrics` as Prometheus reads it: a real `tessera serve`, scraped while it works, and
//! the text parsed by an exposition-format parser nobody here wrote (prometheus-parse).

use oauth2::reqwest;
use prometheus_parse::{Sample, Scrape, Value};
use tessera::proto::v1 as pb;
use tessera::proto::v1::token_service_client::TokenServiceClient;
use tonic::transport::Channel;

use crate::db::TestDb;
use crate::requests::*;
use crate::serve_process::{BIN, ServeProcess};

/// `tessera bootstrap` on the database: the admin key it prints.
fn bootstrap(url: &str) -> String {
    let out = std::process::Command::new(BIN)
        .args(["bootstrap", "--database-url", url])
        .output()
        .expect("run tessera bootstrap");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned()
}

/// One scrape of `addr`, parsed; panics unless it answers 200 in the 0.0.4 text format.
pub async fn scrape(addr: &str) -> (Scrape, String) {
    let answer = reqwest::Client::new()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(answer.status(), 200);
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let text = answer.text().await.expect("body");
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    (Scrape::parse(lines).expect("exposition format"), text)
}

fn matches(sample: &Sample, name: &str, labels: &[(&str, &str)]) -> bool {
    sample.metric == name && labels.iter().all(|(k, v)| sample.labels.get(k) == Some(*v))
}

/// The sum of every sample of `name` whose labels include `labels` (counters and gauges).
pub fn total(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| matches(s, name, labels))
        .map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => panic!("{name} is not a single value: {s:?}"),
        })
        .sum()
}

/// Whether a series of `name` is exported at all.
pub fn exported(scrape: &Scrape, name: &str) -> bool {
    scrape.samples.iter().any(|s| s.metric == name)
}

async fn authorize(c: &mut TokenServiceClient<Channel>, key: &str, token: &str, scope: &str) {
    c.authorize(authed(
        key,
        pb::AuthorizeRequest {
            token: token.to_owned(),
            required_scopes: strings(&[scope]),
            ..Default::default()
        },
    ))
    .await
    .expect("authorize");
}

const WORK: usize = 40;
/// Tokens checked once each against a 128-entry cache.
const EVICTING: usize = 160;

async fn c_admin(
    server: &ServeProcess,
) -> tessera::proto::v1::admin_service_client::AdminServiceClient<Channel> {
    let addr = format!("http://{}", server.addr);
    tessera::proto::v1::admin_service_client::AdminServiceClient::connect(addr)
        .await
        .expect("connect")
}

/// Runs the futures at once, each on its own task; their answers in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_server_did_with_bounded_labels_and_no_secrets() {
    let db = TestDb::fresh().await;
    let key = bootstrap(&db.url);
    let secret = ("TESSERA_SECRET_KEY", "a server secret only this test knows");
    // Two entries a cache shard: 128 in all, so the checks of EVICTING tokens below must
    // evict.
    let cache = ("TESSERA_CACHE_CAPACITY", "128");
    let server = ServeProcess::start(&db.url, &[("RUST_LOG", "info"), secret, cache]);
    let mut c = server.client().await;
    let issued = c
        .issue(authed(
            &key,
            pb::IssueRequest {
                grant: Some(api_key(&["read:*"], "")),
            },
        ))
        .await
        .expect("issue")
        .into_inner();

    // Scrapes while checks run: each parses, and counters only grow.
    let worker = {
        let (mut c, key, token) = (c.clone(), key.clone(), issued.token.clone());
        tokio::spawn(async move {
            for _ in 0..WORK {
                authorize(&mut c, &key, &token, "read:x").await;
            }
        })
    };
    let mut seen = 0.0;
    let mut scrapes = 0;
    while !worker.is_finished() || scrapes < 2 {
        let (s, _) = scrape(&server.metrics_addr).await;
        let now = total(&s, "tessera_decisions_total", &[("decision", "allow")]);
        assert!(now >= seen, "a counter went down: {seen} then {now}");
        seen = now;
        scrapes += 1;
    }
    worker.await.expect("worker");

    authorize(&mut c, &key, &issued.token, "write:x").await;
    authorize(&mut c, &key, "tsk_not_a_token_at_all", "read:x").await;
    c.revoke(authed(
        &key,
        pb::RevokeRequest {
            target: Some(pb::revoke_request::Target::TokenId(issued.token_id.clone())),
        },
    ))
    .await
    .expect("revoke");
    let login = c
        .issue(tonic::Request::new(pb::IssueRequest {
            grant: Some(pb::issue_request::Grant::Password(pb::PasswordGrant {
                username: "nobody".into(),
                password: "not the password".into(),
                ..Default::default()
            })),
        }))
        .await;
    assert_eq!(
        login.expect_err("no such user").code(),
        tonic::Code::Unauthenticated
    );
    // A burst of wrong passwords for one name, in parallel, then one at a time until five
    // have failed: the fifth failure locks it, counted once however they interleaved (an
    // attempt that started after others finished may be turned away, RESOURCE_EXHAUSTED).
    let guess = |c: &mut TokenServiceClient<Channel>| {
        let mut c = c.clone();
        async move {
            c.issue(tonic::Request::new(pb::IssueRequest {
                grant: Some(pb::issue_request::Grant::Password(pb::PasswordGrant {
                    username: "mallory".into(),
                    password: "guess".into(),
                    ..Default::default()
                })),
            }))
            .await
        }
    };
    /// 1 for a failed login, 0 for one turned away.
    fn failure(answer: Result<tonic::Response<pb::IssueResponse>, tonic::Status>) -> u32 {
        match answer.expect_err("wrong").code() {
            tonic::Code::Unauthenticated => 1,
            tonic::Code::ResourceExhausted => 0,
            other => panic!("{other:?}"),
        }
    }
    let mut failed: u32 = futures_join((0..5).map(|_| guess(&mut c)))
        .await
        .into_iter()
        .map(failure)
        .sum();
    for _ in 0..10 {
        if failed == 5 {
            break;
        }
        failed += failure(guess(&mut c).await);
    }
    assert_eq!(failed, 5, "five failures reach the lock");
    // A rotation without overlap revokes the old token at once.
    let rotating = issue_read_key(&mut c, &key).await;
    c.rotate(authed(
        &key,
        pb::RotateRequest {
            token_id: rotating.token_id,
            overlap: None,
        },
    ))
    .await
    .expect("rotate");
    // An app's client credentials grant, once over HTTP and once over gRPC.
    let app = c_admin(&server)
        .await
        .create_client(authed(
            &key,
            pb::CreateClientRequest {
                name: "metrics app".into(),
                r#type: pb::ClientType::Confidential.into(),
                scopes: strings(&["read:contacts"]),
                grant_types: strings(&["client_credentials"]),
                ..Default::default()
            },
        ))
        .await
        .expect("create client")
        .into_inner();
    let app_id = app.client.expect("client").client_id;
    // Tokens enough that a 128-entry cache must evict while checking them.
    for _ in 0..EVICTING {
        let t = issue_read_key(&mut c, &key).await;
        authorize(&mut c, &key, &t.token, "read:x").await;
    }
    let http = reqwest::Client::new();
    let granted = http
        .post(format!("http://{}/oauth/token", server.http_addr))
        .basic_auth(&app_id, Some(&app.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "read:contacts"),
        ])
        .send()
        .await
        .expect("token endpoint");
    assert_eq!(granted.status(), 200);
    c.issue(tonic::Request::new(pb::IssueRequest {
        grant: Some(pb::issue_request::Grant::ClientCredentials(
            pb::ClientCredentialsGrant {
                client_id: app_id.clone(),
                client_secret: app.client_secret.clone(),
                scopes: strings(&["read:contacts"]),
            },
        )),
    }))
    .await
    .expect("client credentials over gRPC");
    let refused = http
        .post(format!("http://{}/oauth/token", server.http_addr))
        .form(&[("grant_type", "password"), ("client_id", "some-app")])
        .send()
        .await
        .expect("token endpoint");
    assert_eq!(refused.status(), 400);

    let (s, text) = scrape(&server.metrics_addr).await;
    let allow = [
        ("rpc", "authorize"),
        ("decision", "allow"),
        ("kind", "api_key"),
    ];
    assert!(total(&s, "tessera_decisions_total", &allow) >= WORK as f64);
    let denied = [("decision", "permission_denied"), ("kind", "api_key")];
    assert_eq!(total(&s, "tessera_decisions_total", &denied), 1.0);
    let unknown = [("decision", "unauthenticated"), ("kind", "none")];
    assert_eq!(total(&s, "tessera_decisions_total", &unknown), 1.0);
    assert_eq!(
        total(
            &s,
            "tessera_check_duration_seconds_count",
            &[("rpc", "authorize")]
        ),
        total(&s, "tessera_decisions_total", &[("rpc", "authorize")]),
        "every decision is timed"
    );
    assert!(total(&s, "tessera_cache_hits_total", &[]) >= (WORK - 1) as f64);
    assert!(total(&s, "tessera_cache_misses_total", &[]) >= 1.0);
    assert!(total(&s, "tessera_cache_entries", &[]) >= 1.0);
    assert!(exported(&s, "tessera_cache_evictions_total"));
    // The ones issued here (`bootstrap` ran in its own process): the first, the rotated one
    // and its successor, and the evicting ones; the app's two access tokens.
    let keys = (3 + EVICTING) as f64;
    assert_eq!(
        total(&s, "tessera_tokens_issued_total", &[("kind", "api_key")]),
        keys
    );
    assert_eq!(
        total(
            &s,
            "tessera_tokens_issued_total",
            &[("kind", "oauth_access")]
        ),
        2.0
    );
    assert_eq!(
        total(&s, "tessera_revocations_total", &[("reason", "token")]),
        1.0
    );
    assert_eq!(
        total(&s, "tessera_logins_total", &[("result", "failed")]),
        6.0
    );
    assert_eq!(
        total(&s, "tessera_login_lockouts_total", &[]),
        1.0,
        "one lock"
    );
    assert_eq!(
        total(&s, "tessera_revocations_total", &[("reason", "rotated")]),
        1.0
    );
    let minted = [("grant_type", "client_credentials"), ("error", "none")];
    assert_eq!(
        total(&s, "tessera_oauth_grants_total", &minted),
        2.0,
        "counted once each"
    );
    assert!(total(&s, "tessera_cache_evictions_total", &[]) >= (EVICTING - 128) as f64);
    let grant = [
        ("grant_type", "unsupported"),
        ("error", "unsupported_grant_type"),
    ];
    assert_eq!(total(&s, "tessera_oauth_grants_total", &grant), 1.0);
    let reads = [("operation", "token_access"), ("result", "ok")];
    assert!(total(&s, "tessera_store_calls_total", &reads) >= 1.0);
    let timed = [("operation", "token_access")];
    assert!(total(&s, "tessera_store_call_duration_seconds_count", &timed) >= 1.0);
    assert_eq!(total(&s, "tessera_change_feed_reconnects_total", &[]), 0.0);
    assert!(exported(&s, "tessera_change_feed_flushes_total"));
    assert!(exported(&s, "tessera_change_feed_last_notice_age_seconds"));

    // No secret and no unbounded value: no token, no token id, no user, in any label.
    for secret in [key.as_str(), &issued.token, &issued.token[4..24]] {
        assert!(!text.contains(secret), "a secret in /metrics");
    }
    for sample in &s.samples {
        for (name, value) in sample.labels.iter() {
            assert!(
                value.len() <= 32 && !value.contains(&issued.token_id),
                "{} has {name}={value:?}",
                sample.metric
            );
        }
    }

    // Only /metrics, and only on its own listener.
    let other = http
        .get(format!("http://{}/", server.metrics_addr))
        .send()
        .await
        .expect("get /");
    assert_eq!(other.status(), 404);
    let on_oauth = http
        .get(format!("http://{}/metrics", server.http_addr))
        .send()
        .await
        .expect("get oauth /metrics");
    assert_eq!(on_oauth.status(), 404);
    drop(c);
    server.stop("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_metrics_listen_turns_the_endpoint_off() {
    let db = TestDb::fresh().await;
    let server = ServeProcess::start(&db.url, &[("TESSERA_METRICS_LISTEN", "")]);
    assert_eq!(server.metrics_addr, "off");
    server.stop("-TERM").await;
}
