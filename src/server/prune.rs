//! The retention pass in the background (see `domain::app::retention`).

use std::sync::Arc;
use std::time::Duration;

use crate::domain::app::App;
use crate::domain::app::retention::Retention;

/// A pass every `every`, the first one interval after start, so a process that restarts in
/// a loop does not also prune in a loop. A failed pass (the store away) is logged and the
/// next one tries again; what the failed one deleted stays deleted.
pub(super) async fn prune_loop(app: Arc<App>, every: Duration, retention: Retention) {
    let start = tokio::time::Instant::now() + every;
    let mut ticker = tokio::time::interval_at(start, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match app.prune(&retention).await {
            Ok(done) => {
                if done.iter().any(|(_, n)| *n > 0) {
                    let [tokens, grants, codes, login_failures, audit_events] =
                        done.map(|(_, n)| n);
                    tracing::info!(
                        tokens,
                        grants,
                        codes,
                        login_failures,
                        audit_events,
                        "retention pass deleted rows that ended long ago"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(error = %crate::domain::error::chain(&e), "the retention pass failed; the next one retries");
            }
        }
    }
}
