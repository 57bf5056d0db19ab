//! The benchmark scenarios, set up through the public API with an admin key.

use std::sync::Arc;
use std::time::Duration;

use tonic::Request;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::load::{self, Samples};
use super::wide::{self, WideToken};
use super::{BenchError, Row};
use crate::domain::token_format::{self, TokenKind};
use crate::proto::v1 as pb;
use crate::proto::v1::admin_service_client::AdminServiceClient;
use crate::proto::v1::token_service_client::TokenServiceClient;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub addr: String,
    /// A server on the same store with its cache off, for the cold scenario.
    pub cold_addr: Option<String>,
    pub admin_key: String,
    pub concurrency: Vec<usize>,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Slices per cell, each paired with a slice of the empty call (see `run_bench`).
    pub rounds: u32,
    /// Scenario names to run (empty: all).
    pub only: Vec<String>,
}

/// What the scenarios share: the caller's header and the tokens they check.
struct Fixture {
    auth: MetadataValue<tonic::metadata::Ascii>,
    pat: String,
    garbage: String,
    unknown: Vec<String>,
    user_id: String,
    /// A user holding 40 roles of 250 permissions (10,000), and one holding half as many.
    wide: Option<(WideToken, WideToken)>,
    /// The role the churn scenario edits.
    churn_role: Option<String>,
    /// The key that issues the 128 × 128 product.
    product_key: Option<MetadataValue<tonic::metadata::Ascii>>,
}

pub(super) fn request<T>(auth: &MetadataValue<tonic::metadata::Ascii>, message: T) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut().insert("authorization", auth.clone());
    req
}

/// The `authorization` value for a token.
pub(super) fn bearer(token: &str) -> Result<MetadataValue<tonic::metadata::Ascii>, BenchError> {
    format!("Bearer {token}")
        .parse()
        .map_err(|_| BenchError::Setup("a token is not a valid header value".to_owned()))
}

fn with_auth<T>(fx: &Fixture, message: T) -> Request<T> {
    request(&fx.auth, message)
}

/// Creates a role with wildcards, a user holding it, an API key for that user and a PAT the
/// user mints for itself — the shape gateways check most.
async fn setup(channel: Channel, admin_key: &str, o: &BenchOptions) -> Result<Fixture, BenchError> {
    let auth = bearer(admin_key)?;
    let suffix = token_format::random_base62(8)?.to_lowercase();
    let role = format!("bench-{suffix}");
    let mut admin = AdminServiceClient::new(channel.clone());
    let (tokens_channel, channel_for_churn) = (channel.clone(), channel.clone());
    let mut tokens = TokenServiceClient::new(channel);
    admin
        .create_role(request(
            &auth,
            pb::CreateRoleRequest {
                name: role.clone(),
                permissions: [
                    "contacts:*",
                    "deals:read",
                    "webhook:manage:*",
                    "reports:*:view",
                ]
                .map(String::from)
                .to_vec(),
                description: "benchmark".to_owned(),
            },
        ))
        .await?;
    let user = admin
        .create_user(request(
            &auth,
            pb::CreateUserRequest {
                name: format!("bench-{suffix}"),
                roles: vec![role.clone()],
            },
        ))
        .await?
        .into_inner();
    let key = tokens
        .issue(request(
            &auth,
            pb::IssueRequest {
                grant: Some(pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
                    name: "bench".to_owned(),
                    scopes: vec!["*".to_owned()],
                    subject: user.id.clone(),
                    ..Default::default()
                })),
            },
        ))
        .await?
        .into_inner();
    let as_user = request(
        &bearer(&key.token)?,
        pb::IssueRequest {
            grant: Some(pb::issue_request::Grant::Pat(pb::PatGrant {
                name: "bench".to_owned(),
                role,
                ..Default::default()
            })),
        },
    );
    let pat = tokens.issue(as_user).await?.into_inner().token;
    let garbage = {
        let (head, last) = pat.split_at(pat.len() - 1);
        format!("{head}{}", if last == "x" { "y" } else { "x" })
    };
    let unknown = (0..1000)
        .map(|_| token_format::generate(TokenKind::Pat).map(|t| t.secret))
        .collect::<Result<Vec<_>, _>>()?;
    let wide = if o.selected(&WIDE) {
        let ch = tokens_channel;
        Some((
            wide::wide_user(ch.clone(), &auth, &format!("wide{suffix}"), 40, 250).await?,
            wide::wide_user(ch, &auth, &format!("half{suffix}"), 20, 250).await?,
        ))
    } else {
        None
    };
    let churn_role = if o.selected(&["authorize_warm_churn"]) {
        Some(wide::churn_setup(channel_for_churn.clone(), &auth, &format!("churn{suffix}")).await?)
    } else {
        None
    };
    let product_key = if o.selected(&PRODUCT) {
        let key = wide::product_setup(channel_for_churn, &auth, &format!("prod{suffix}")).await?;
        Some(bearer(&key)?)
    } else {
        None
    };
    Ok(Fixture {
        auth,
        pat,
        garbage,
        unknown,
        user_id: user.id,
        wide,
        churn_role,
        product_key,
    })
}

const REQUIRED: [&str; 3] = ["contacts:read", "deals:read", "webhook:manage:team"];

fn authorize_request(token: &str) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        token: token.to_owned(),
        required_scopes: REQUIRED.map(String::from).to_vec(),
        r#match: pb::Match::All.into(),
        mutating: false,
    }
}

async fn authorize(fx: &Fixture, ch: Channel, token: &str, expect: pb::Decision) -> bool {
    authorize_for(fx, ch, authorize_request(token), expect).await
}

async fn authorize_for(
    fx: &Fixture,
    ch: Channel,
    req: pb::AuthorizeRequest,
    expect: pb::Decision,
) -> bool {
    let mut client = TokenServiceClient::new(ch);
    match client.authorize(with_auth(fx, req)).await {
        Ok(r) => r.into_inner().decision == i32::from(expect),
        Err(_) => false,
    }
}

/// Runs one slice of one named scenario at one concurrency.
async fn scenario(
    name: &str,
    fx: Arc<Fixture>,
    chans: &[Channel],
    cold: &[Channel],
    c: usize,
    o: &BenchOptions,
) -> Samples {
    let (w, d) = (o.warmup, o.slice());
    match name {
        "health" => {
            load::run(chans, c, w, d, |ch, _| async move {
                let req = HealthCheckRequest { service: String::new() };
                matches!(HealthClient::new(ch).check(req).await,
                    Ok(r) if r.get_ref().status() == ServingStatus::Serving)
            })
            .await
        }
        "authorize_warm" | "authorize_cold" => {
            let target = if name == "authorize_cold" { cold } else { chans };
            load::run(target, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move { authorize(&fx, ch, &fx.pat, pb::Decision::Allow).await }
            })
            .await
        }
        "authorize_wide_warm" | "authorize_wide_cold" | "authorize_half_wide_cold" => {
            let target = if name == "authorize_wide_warm" { chans } else { cold };
            let half_wide = name == "authorize_half_wide_cold";
            load::run(target, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move {
                    let Some((wide, half)) = &fx.wide else { return false };
                    let t = if half_wide { half } else { wide };
                    let req = pb::AuthorizeRequest {
                        token: t.pat.clone(),
                        required_scopes: vec![t.required.clone()],
                        r#match: pb::Match::All.into(),
                        mutating: false,
                    };
                    authorize_for(&fx, ch, req, pb::Decision::Allow).await
                }
            })
            .await
        }
        "introspect_wide_cold" => {
            load::run(cold, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move {
                    let Some((wide, _)) = &fx.wide else { return false };
                    let req = with_auth(&fx, pb::IntrospectRequest { token: wide.pat.clone() });
                    matches!(TokenServiceClient::new(ch).introspect(req).await, Ok(r) if r.get_ref().active)
                }
            })
            .await
        }
        "authorize_warm_churn" => {
            let Some(role) = fx.churn_role.clone() else {
                return Samples::default();
            };
            let _churn = wide::churn(chans[0].clone(), Arc::new(fx.auth.clone()), role);
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move { authorize(&fx, ch, &fx.pat, pb::Decision::Allow).await }
            })
            .await
        }
        "issue_product" => {
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move {
                    let Some(key) = &fx.product_key else { return false };
                    wide::issue_product(ch, key).await
                }
            })
            .await
        }
        "health_under_products" => {
            let Some(key) = fx.product_key.clone() else {
                return Samples::default();
            };
            let _busy = wide::products(chans, Arc::new(key), 4);
            load::run(chans, c, w, d, |ch, _| async move {
                let req = HealthCheckRequest { service: String::new() };
                matches!(HealthClient::new(ch).check(req).await,
                    Ok(r) if r.get_ref().status() == ServingStatus::Serving)
            })
            .await
        }
        "authorize_garbage" => {
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move { authorize(&fx, ch, &fx.garbage, pb::Decision::Unauthenticated).await }
            })
            .await
        }
        "authorize_unknown" => {
            load::run(chans, c, w, d, move |ch, i| {
                let fx = fx.clone();
                async move {
                    let token = &fx.unknown[(i % fx.unknown.len() as u64) as usize];
                    authorize(&fx, ch, token, pb::Decision::Unauthenticated).await
                }
            })
            .await
        }
        "introspect_warm" => {
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move {
                    let req = with_auth(&fx, pb::IntrospectRequest { token: fx.pat.clone() });
                    matches!(TokenServiceClient::new(ch).introspect(req).await, Ok(r) if r.get_ref().active)
                }
            })
            .await
        }
        _ => {
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move {
                    let req = with_auth(&fx, pb::IssueRequest {
                        grant: Some(pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
                            name: "bench issue".to_owned(),
                            scopes: vec!["contacts:read".to_owned()],
                            subject: fx.user_id.clone(),
                            ..Default::default()
                        })),
                    });
                    matches!(TokenServiceClient::new(ch).issue(req).await, Ok(r) if !r.get_ref().token.is_empty())
                }
            })
            .await
        }
    }
}

pub const SCENARIOS: [&str; 14] = [
    "health",
    "authorize_warm",
    "authorize_cold",
    "introspect_warm",
    "authorize_garbage",
    "authorize_unknown",
    "issue",
    "authorize_wide_warm",
    "authorize_wide_cold",
    "authorize_half_wide_cold",
    "introspect_wide_cold",
    "authorize_warm_churn",
    "issue_product",
    "health_under_products",
];

/// The scenarios that need the product key.
const PRODUCT: [&str; 2] = ["issue_product", "health_under_products"];

/// The scenarios that need the wide users.
const WIDE: [&str; 4] = [
    "authorize_wide_warm",
    "authorize_wide_cold",
    "authorize_half_wide_cold",
    "introspect_wide_cold",
];

/// The scenarios that need the server with its cache off.
const COLD: [&str; 4] = [
    "authorize_cold",
    "authorize_wide_cold",
    "authorize_half_wide_cold",
    "introspect_wide_cold",
];

impl BenchOptions {
    /// Slices per cell; at least one, whoever built the options.
    pub(super) fn rounds(&self) -> u32 {
        self.rounds.max(1)
    }

    /// Whether any of `names` is to run.
    fn selected(&self, names: &[&str]) -> bool {
        names
            .iter()
            .any(|n| self.only.is_empty() || self.only.iter().any(|s| s == n))
    }

    /// Measured time of one slice.
    fn slice(&self) -> Duration {
        self.duration / self.rounds()
    }
}

/// Runs every selected scenario at every concurrency.
///
/// A scenario's cell is measured in `rounds` slices, each paired with a slice of the empty
/// call (the two take turns to go first), and compared with those slices only: a ratio then compares two measurements taken
/// together, not one taken minutes after the other on a machine whose speed drifts. The
/// health row merges every empty-call slice at that concurrency.
pub async fn run_bench(o: &BenchOptions) -> Result<Vec<Row>, BenchError> {
    let chans = load::connect(&o.addr, o.connections).await?;
    let cold = match &o.cold_addr {
        Some(addr) => load::connect(addr, o.connections).await?,
        None => Vec::new(),
    };
    let fx = Arc::new(setup(chans[0].clone(), &o.admin_key, o).await?);
    let mut rows = Vec::new();
    for &c in &o.concurrency {
        let mut all_health = Samples::default();
        let mut cells = Vec::new();
        for name in SCENARIOS.into_iter().filter(|&n| n != "health") {
            let selected = o.only.is_empty() || o.only.iter().any(|s| s == name);
            if !selected || (COLD.contains(&name) && cold.is_empty()) {
                continue;
            }
            let (mut health, mut measured) = (Samples::default(), Samples::default());
            for round in 0..o.rounds() {
                // Alternate which goes first, so neither always inherits the other's
                // aftermath (an Issue slice's fsync backlog, say).
                let order = if round % 2 == 0 {
                    ["health", name]
                } else {
                    [name, "health"]
                };
                for run in order {
                    let slice = scenario(run, fx.clone(), &chans, &cold, c, o).await;
                    if run == "health" {
                        &mut health
                    } else {
                        &mut measured
                    }
                    .merge(slice);
                }
            }
            all_health.merge(health.clone());
            cells.push((name, measured.stats(), health.stats()));
        }
        if cells.is_empty() {
            // Only the empty call was asked for.
            for _ in 0..o.rounds() {
                all_health.merge(scenario("health", fx.clone(), &chans, &cold, c, o).await);
            }
        }
        let health = all_health.stats();
        cells.insert(0, ("health", health.clone(), health));
        for (name, stats, baseline) in cells {
            eprintln!(
                "{name} c={c}: {:.0} calls/s, p50 {:.0} µs, p99 {:.0} µs",
                stats.rps(),
                stats.p50_us,
                stats.p99_us
            );
            rows.push(Row {
                scenario: name,
                concurrency: c,
                stats,
                baseline,
            });
        }
    }
    Ok(rows)
}

/// Checks every token in `secrets` once (concurrently), so a server's cache holds them all;
/// returns how many were allowed. Used to measure memory per cached token.
pub async fn fill(o: &BenchOptions, secrets: Vec<String>) -> Result<u64, BenchError> {
    let chans = load::connect(&o.addr, o.connections).await?;
    let auth = bearer(&o.admin_key)?;
    let secrets = Arc::new(secrets);
    let workers = o.concurrency.iter().copied().max().unwrap_or(16).max(1);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (secrets, auth, ch) = (
            secrets.clone(),
            auth.clone(),
            chans[w % chans.len()].clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut client = TokenServiceClient::new(ch);
            let mut allowed = 0u64;
            for token in secrets.iter().skip(w).step_by(workers) {
                let req = request(
                    &auth,
                    pb::AuthorizeRequest {
                        token: token.clone(),
                        required_scopes: vec!["contacts:read".to_owned()],
                        ..Default::default()
                    },
                );
                if matches!(client.authorize(req).await, Ok(r) if r.get_ref().decision == i32::from(pb::Decision::Allow)) {
                    allowed += 1;
                }
            }
            allowed
        }));
    }
    let mut allowed = 0;
    for t in tasks {
        allowed += t.await.unwrap_or(0);
    }
    Ok(allowed)
}
