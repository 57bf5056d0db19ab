//! What `tessera bench` is asked to run: the options and the scenario names.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub addr: String,
    /// A server on the same store with its cache off, for the cold scenario.
    pub cold_addr: Option<String>,
    /// The server's OAuth HTTP endpoints, for the OAuth scenarios.
    pub http_addr: Option<String>,
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

pub const SCENARIOS: [&str; 23] = [
    "health",
    "authorize_warm",
    "envoy_check_warm",
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
    "authorize_session_warm",
    "authorize_session_garbage",
    "login",
    "authorize_warm_under_logins",
    "authorize_oauth_warm",
    "oauth_client_credentials",
    "oauth_refresh",
    "oauth_approve_exchange",
];

/// The scenarios that need the product key.
pub(super) const PRODUCT: [&str; 2] = ["issue_product", "health_under_products"];

/// The scenarios that need the wide users.
pub(super) const WIDE: [&str; 4] = [
    "authorize_wide_warm",
    "authorize_wide_cold",
    "authorize_half_wide_cold",
    "introspect_wide_cold",
];

/// The scenarios that need the server with its cache off.
pub(super) const COLD: [&str; 4] = [
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
    pub(super) fn selected(&self, names: &[&str]) -> bool {
        names
            .iter()
            .any(|n| self.only.is_empty() || self.only.iter().any(|s| s == n))
    }

    /// Measured time of one slice.
    pub(super) fn slice(&self) -> Duration {
        self.duration / self.rounds()
    }
}
