//! Running the scenarios: every cell paired with slices of the empty call, and the cache
//! fill behind the memory figure.

use std::sync::Arc;

use super::load::{self, Samples};
use super::options::{BenchOptions, COLD, SCENARIOS};
use super::scenarios::{bearer, request, scenario, setup};
use super::{BenchError, Row};
use crate::proto::v1 as pb;
use crate::proto::v1::token_service_client::TokenServiceClient;

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
            let no_http = super::oauth::OAUTH_SCENARIOS.contains(&name) && o.http_addr.is_none();
            if !selected || (COLD.contains(&name) && cold.is_empty()) || no_http {
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
