//! The load driver: C concurrent in-flight unary calls over M HTTP/2 connections for a bounded
//! time, with every call's latency recorded.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tonic::transport::Channel;

use super::BenchError;

/// Every call's latency from one or more measured slices.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    latencies_us: Vec<u32>,
    errors: u64,
    seconds: f64,
}

impl Samples {
    /// Samples of calls that all succeeded, measured over `seconds`.
    pub fn from_latencies(latencies_us: Vec<u32>, seconds: f64) -> Samples {
        Samples {
            latencies_us,
            errors: 0,
            seconds,
        }
    }

    /// Adds another slice of the same scenario.
    pub fn merge(&mut self, other: Samples) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        self.seconds += other.seconds;
    }

    pub fn stats(mut self) -> Stats {
        self.latencies_us.sort_unstable();
        let all = &self.latencies_us;
        Stats {
            calls: all.len() as u64,
            errors: self.errors,
            seconds: self.seconds,
            p50_us: percentile(all, 50.0),
            p99_us: percentile(all, 99.0),
            p999_us: percentile(all, 99.9),
        }
    }
}

/// What a cell measured.
#[derive(Debug, Clone)]
pub struct Stats {
    pub calls: u64,
    pub errors: u64,
    pub seconds: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
}

impl Stats {
    pub fn rps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.calls as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Opens `n` HTTP/2 connections (one per tonic `Channel`).
pub async fn connect(addr: &str, n: usize) -> Result<Vec<Channel>, BenchError> {
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        let endpoint = Channel::from_shared(format!("http://{addr}"))
            .map_err(|_| BenchError::Address(addr.to_owned()))?;
        channels.push(endpoint.connect().await?);
    }
    Ok(channels)
}

/// Percentile of sorted microsecond samples.
fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)])
}

/// Runs `call` from `concurrency` tasks over `channels` for `warmup` (discarded) and then
/// `duration` (measured). `call(channel, i)` makes one RPC and says whether it succeeded
/// (including that its answer was the expected one).
pub async fn run<F, Fut>(
    channels: &[Channel],
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    call: F,
) -> Samples
where
    F: Fn(Channel, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for worker in 0..concurrency.max(1) {
        let channel = channels[worker % channels.len()].clone();
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples: Vec<u32> = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            let mut i = worker as u64;
            loop {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                let ok = call(channel.clone(), i).await;
                i = i.wrapping_add(1_000_003);
                if began >= measure_from {
                    let us = began.elapsed().as_micros();
                    samples.push(u32::try_from(us).unwrap_or(u32::MAX));
                    if !ok {
                        errors += 1;
                    }
                }
            }
            (samples, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((samples, e)) = task.await {
            all.extend(samples);
            errors += e;
        }
    }
    Samples {
        latencies_us: all,
        errors,
        seconds: duration.as_secs_f64(),
    }
}
