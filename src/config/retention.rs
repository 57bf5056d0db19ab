//! How long what has ended stays in the store (see `domain::app::retention`).

use std::time::Duration;

use clap::Args;

use super::parse_duration;
use crate::domain::app::retention::Retention;

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// How long a revoked or expired token (and an ended OAuth grant, an expired
    /// authorization code) stays in the store, listed with its state, before it is deleted.
    #[arg(long, env = "TESSERA_ENDED_TOKEN_RETENTION", default_value = "30d", value_parser = parse_duration)]
    pub ended_token_retention: Duration,
    /// How often the retention pass runs, in batches of 100 rows; `0` turns it off (run it
    /// on one replica only, or on none, if you prune by other means).
    #[arg(long, env = "TESSERA_PRUNE_INTERVAL", default_value = "10m", value_parser = parse_interval)]
    pub prune_interval: Duration,
    /// How long an audit event stays in the store before the retention pass deletes it;
    /// `0` keeps every event for ever.
    #[arg(long, env = "TESSERA_AUDIT_RETENTION", default_value = "90d", value_parser = parse_interval)]
    pub audit_retention: Duration,
}

impl RetentionArgs {
    pub fn retention(&self) -> Retention {
        Retention {
            ended_for: self.ended_token_retention,
            audit_for: (!self.audit_retention.is_zero()).then_some(self.audit_retention),
        }
    }

    /// `None` when turned off.
    pub fn interval(&self) -> Option<Duration> {
        (!self.prune_interval.is_zero()).then_some(self.prune_interval)
    }
}

/// A duration, or `0` for off.
fn parse_interval(text: &str) -> Result<Duration, String> {
    match text.trim() {
        "0" => Ok(Duration::ZERO),
        _ => parse_duration(text),
    }
}
