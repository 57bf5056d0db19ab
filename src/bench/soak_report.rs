//! What `tessera soak` reports: per window, calls, errors, failovers and the Authorize
//! p50/p99; per kind of operation over the run, its latency; at the end, the revoked
//! tokens' state.

use std::time::Duration;

/// One report window.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub calls: u64,
    pub errors: u64,
    pub failovers: u64,
    pub authorize_us: Vec<u32>,
    /// Every timed operation's latency, by [`Op`].
    pub by_op: [Vec<u32>; Op::ALL.len()],
}

/// The kinds of operation in the mix, timed apart: a tail in Authorize's p99 is told apart
/// from the writes' by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    AuthorizeWarm,
    AuthorizeCold,
    AuthorizeSession,
    AuthorizeOAuth,
    AuthorizeRevoked,
    Issue,
    Revoke,
    Grant,
    Admin,
}

impl Op {
    pub const ALL: [Op; 9] = [
        Op::AuthorizeWarm,
        Op::AuthorizeCold,
        Op::AuthorizeSession,
        Op::AuthorizeOAuth,
        Op::AuthorizeRevoked,
        Op::Issue,
        Op::Revoke,
        Op::Grant,
        Op::Admin,
    ];

    pub fn is_authorize(self) -> bool {
        (self as usize) <= Op::AuthorizeRevoked as usize
    }

    fn name(self) -> &'static str {
        match self {
            Op::AuthorizeWarm => "Authorize, warm key",
            Op::AuthorizeCold => "Authorize, key never checked",
            Op::AuthorizeSession => "Authorize, session",
            Op::AuthorizeOAuth => "Authorize, OAuth access token",
            Op::AuthorizeRevoked => "Authorize, revoked token",
            Op::Issue => "Issue (API key)",
            Op::Revoke => "Revoke (by id)",
            Op::Grant => "client-credentials grant",
            Op::Admin => "ListUsers",
        }
    }
}

/// The `p` quantile of sorted `us`.
fn quantile(us: &[u32], p: f64) -> u32 {
    us.get(((us.len() as f64 * p) as usize).min(us.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0)
}

#[derive(Debug, Default)]
pub struct SoakReport {
    pub windows: Vec<Window>,
    pub window: Duration,
    pub revoked: usize,
    pub revoked_allowed_at_end: usize,
    pub late_allows: u64,
    pub error_samples: Vec<String>,
}

impl SoakReport {
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| window | calls | calls/s | errors | failovers | Authorize p50 µs | p99 µs |\n|---|---:|---:|---:|---:|---:|---:|\n",
        );
        let secs = self.window.as_secs_f64().max(1.0);
        let (mut calls, mut errors, mut failovers) = (0, 0, 0);
        for (i, w) in self.windows.iter().enumerate() {
            let mut us = w.authorize_us.clone();
            us.sort_unstable();
            let q = |p: f64| quantile(&us, p);
            out.push_str(&format!(
                "| {} | {} | {:.0} | {} | {} | {} | {} |\n",
                i + 1,
                w.calls,
                w.calls as f64 / secs,
                w.errors,
                w.failovers,
                q(0.50),
                q(0.99)
            ));
            (calls, errors, failovers) =
                (calls + w.calls, errors + w.errors, failovers + w.failovers);
        }
        out.push_str(&format!(
            "\ncalls {calls}, errors {errors}, failovers (a replica's in-flight calls retried on the other) {failovers}\nrevoked tokens {}: allowed at the end {}, allowed more than 1 s after their revocation during the run {}\n",
            self.revoked, self.revoked_allowed_at_end, self.late_allows
        ));
        out.push_str(
            "\n| operation (whole run) | count | p50 µs | p99 µs | p99.9 µs | max µs |\n|---|---:|---:|---:|---:|---:|\n",
        );
        for op in Op::ALL {
            let mut us: Vec<u32> = self
                .windows
                .iter()
                .flat_map(|w| w.by_op[op as usize].iter().copied())
                .collect();
            us.sort_unstable();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                op.name(),
                us.len(),
                quantile(&us, 0.50),
                quantile(&us, 0.99),
                quantile(&us, 0.999),
                us.last().copied().unwrap_or(0)
            ));
        }
        for e in &self.error_samples {
            out.push_str(&format!("error: {e}\n"));
        }
        out
    }
}
