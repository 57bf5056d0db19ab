//! `tessera bench`: a load generator against a running server, and `tessera bench-seed`,
//! which fills a store with tokens through the store itself (not one RPC per token).
//!
//! Every scenario is reported next to the empty call (`grpc.health.v1.Health/Check`) measured
//! against the same server in the same run, because absolute figures on a shared machine say
//! little; ratios to the empty call say what tessera itself costs.

mod envoy;
mod http;
mod load;
mod oauth;
mod options;
mod overload;
mod run;
mod scenarios;
mod seed;
mod sessions;
mod soak;
mod soak_report;
mod subjects;
mod wide;

pub use load::Stats;
pub use options::{BenchOptions, SCENARIOS};
pub use overload::{OverloadRow, overload, overload_markdown};
pub use run::{fill, run_bench};
pub use seed::seed;
pub use soak::{SoakOptions, soak};
pub use soak_report::SoakReport;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("bad server address {0:?}")]
    Address(String),
    #[error("connecting")]
    Transport(#[from] tonic::transport::Error),
    #[error("setting up the benchmark: {0}")]
    Setup(String),
    #[error(transparent)]
    Domain(#[from] crate::domain::error::Error),
}

impl From<crate::domain::token_format::RandomError> for BenchError {
    fn from(e: crate::domain::token_format::RandomError) -> BenchError {
        BenchError::Setup(e.to_string())
    }
}

impl From<tonic::Status> for BenchError {
    fn from(s: tonic::Status) -> BenchError {
        BenchError::Setup(format!("{:?}: {}", s.code(), s.message()))
    }
}

/// One row of the results table.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: &'static str,
    pub concurrency: usize,
    pub stats: Stats,
    /// The empty call's stats at the same concurrency.
    pub baseline: Stats,
}

/// The results as a markdown table, with ratios to the empty call.
pub fn markdown(rows: &[Row], o: &BenchOptions) -> String {
    let mut out = format!(
        "{} s per cell in {} slices, each after a {} ms warm-up and paired with a slice of the empty call (taking turns to go first); {} HTTP/2 connections; ratios are to the empty-call slices paired with the cell, and the health row merges all of them\n\n",
        o.duration.as_secs_f64(),
        o.rounds(),
        o.warmup.as_millis(),
        o.connections,
    );
    out.push_str("| scenario | conc | calls/s | × empty | p50 µs | × empty | p99 µs | × empty | p99.9 µs | errors |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.2} | {:.0} | {:.2} | {:.0} | {:.2} | {:.0} | {} |\n",
            r.scenario,
            r.concurrency,
            r.stats.rps(),
            ratio(r.stats.rps(), r.baseline.rps()),
            r.stats.p50_us,
            ratio(r.stats.p50_us, r.baseline.p50_us),
            r.stats.p99_us,
            ratio(r.stats.p99_us, r.baseline.p99_us),
            r.stats.p999_us,
            r.stats.errors,
        ));
    }
    out
}
