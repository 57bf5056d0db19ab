//! `tessera bench --overload`: more concurrent checks than the server admits
//! (`--max-concurrent-requests`), to show that the excess is shed at once and the admitted
//! calls keep a bounded latency. Shed calls are counted, never mixed into the latencies.

use std::sync::Arc;
use std::time::Instant;

use tonic::Code;

use super::load::{Samples, connect};
use super::options::BenchOptions;
use super::scenarios::{bearer, request};
use super::{BenchError, Stats};
use crate::proto::v1 as pb;
use crate::proto::v1::token_service_client::TokenServiceClient;

/// One concurrency's outcome.
#[derive(Debug, Clone)]
pub struct OverloadRow {
    pub concurrency: usize,
    /// Latencies of the admitted (answered, ALLOW) checks.
    pub admitted: Stats,
    /// Checks answered RESOURCE_EXHAUSTED.
    pub shed: u64,
    /// Anything else: a failure, never expected.
    pub failed: u64,
}

impl OverloadRow {
    pub fn shed_share(&self) -> f64 {
        let all = self.admitted.calls + self.shed + self.failed;
        if all == 0 {
            0.0
        } else {
            self.shed as f64 / all as f64
        }
    }
}

/// Warm Authorize of the admin key by itself, at each of `o.concurrency`, for `o.duration`
/// after `o.warmup`.
pub async fn overload(o: &BenchOptions) -> Result<Vec<OverloadRow>, BenchError> {
    let channels = connect(&o.addr, o.connections).await?;
    let auth = bearer(&o.admin_key)?;
    let mut rows = Vec::new();
    for &concurrency in &o.concurrency {
        let start = Instant::now();
        let (measure_from, end) = (start + o.warmup, start + o.warmup + o.duration);
        let mut tasks = Vec::with_capacity(concurrency);
        for worker in 0..concurrency.max(1) {
            let channel = channels[worker % channels.len()].clone();
            let (auth, token) = (auth.clone(), Arc::new(o.admin_key.clone()));
            tasks.push(tokio::spawn(async move {
                let mut client = TokenServiceClient::new(channel);
                let (mut admitted, mut shed, mut failed) = (Vec::new(), 0u64, 0u64);
                loop {
                    let began = Instant::now();
                    if began >= end {
                        break;
                    }
                    let req = request(
                        &auth,
                        pb::AuthorizeRequest {
                            token: token.to_string(),
                            required_scopes: vec!["read:x".to_owned()],
                            ..Default::default()
                        },
                    );
                    let answer = client.authorize(req).await;
                    if began < measure_from {
                        continue;
                    }
                    match answer {
                        Ok(r) if r.get_ref().decision == pb::Decision::Allow as i32 => {
                            let us = began.elapsed().as_micros();
                            admitted.push(u32::try_from(us).unwrap_or(u32::MAX));
                        }
                        Err(s) if s.code() == Code::ResourceExhausted => shed += 1,
                        _ => failed += 1,
                    }
                }
                (admitted, shed, failed)
            }));
        }
        let (mut all, mut shed, mut failed) = (Vec::new(), 0, 0);
        for task in tasks {
            if let Ok((a, s, f)) = task.await {
                all.extend(a);
                shed += s;
                failed += f;
            }
        }
        rows.push(OverloadRow {
            concurrency,
            admitted: Samples::from_latencies(all, o.duration.as_secs_f64()).stats(),
            shed,
            failed,
        });
    }
    Ok(rows)
}

/// The rows as a markdown table.
pub fn overload_markdown(rows: &[OverloadRow]) -> String {
    let mut out = String::from(
        "| concurrency | admitted calls/s | admitted p50 | admitted p99 | shed | failed |\n|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {:.0} | {:.0} µs | {:.0} µs | {:.1} % | {} |\n",
            r.concurrency,
            r.admitted.rps(),
            r.admitted.p50_us,
            r.admitted.p99_us,
            r.shed_share() * 100.0,
            r.failed
        ));
    }
    out
}
