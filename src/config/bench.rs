//! The settings of `tessera bench` and `tessera bench-seed`: the load generator's, apart from
//! the server's own.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{HashArgs, StoreArgs, parse_duration};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The server to load.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: String,
    /// A second server on the same store started with `--cache-capacity 0`, for the cold case.
    #[arg(long)]
    pub cold_addr: Option<String>,
    /// The warm server's OAuth HTTP endpoints (`--http-listen`), for the OAuth scenarios;
    /// without it they are skipped.
    #[arg(long)]
    pub http_addr: Option<String>,
    /// File holding an admin API key (as written by `serve` or `bootstrap`).
    #[arg(long)]
    pub admin_key_file: PathBuf,
    /// Concurrent in-flight calls, one run per value.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub concurrency: Vec<usize>,
    /// HTTP/2 connections the calls share.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Measured time per scenario and concurrency.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Unmeasured time before each measured slice.
    #[arg(long, default_value = "300ms", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Slices each cell is measured in. Every slice of a scenario is paired with a slice of
    /// the empty call, run just before or after it, and its ratio is to those slices only, so a machine that speeds up or
    /// slows down during the run (other tenants, frequency changes) moves both alike.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// Run only these scenarios (health always runs as the baseline).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Instead of benchmarking, check every token in this file once (to fill the cache).
    #[arg(long)]
    pub fill_from: Option<PathBuf>,
    /// Instead of the scenarios, warm Authorize at each `--concurrency` against a server
    /// started with a lower `--max-concurrent-requests`: admitted latency and share shed.
    #[arg(long)]
    pub overload: bool,
}

#[derive(Debug, Args)]
pub struct BenchSeedArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The same key the server will use, or the seeded tokens will not verify.
    #[command(flatten)]
    pub hashing: HashArgs,
    /// How many API keys to add.
    #[arg(long, default_value_t = 100_000)]
    pub tokens: usize,
    /// Where to write the seeded keys' secrets, one per line.
    #[arg(long)]
    pub secrets_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  tessera soak --addr 127.0.0.1:50051,127.0.0.1:50052 --admin-key-file admin-key --duration 10m\n  (scripts/soak.sh starts two replicas and kills one on a schedule)"
)]
pub struct SoakArgs {
    /// The replicas' gRPC addresses; calls alternate between them.
    #[arg(long, value_delimiter = ',', required = true)]
    pub addr: Vec<String>,
    /// File holding an admin API key.
    #[arg(long)]
    pub admin_key_file: PathBuf,
    /// How long the mixed load runs.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub duration: Duration,
    /// Report window: calls, errors and the Authorize p99 per window.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub window: Duration,
    /// Concurrent in-flight calls.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}
