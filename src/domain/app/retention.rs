//! Retention: what ended long ago is deleted, so that the store holds what is live plus a
//! bounded tail. Revoked and expired tokens stay listed (with their state) for
//! `ended_for`, then go; so do ended grants and authorization codes. A run of failed logins
//! is forgotten a day after its last failure: the lockout answers a burst of guesses, and
//! a table keyed by every username anyone ever typed must not grow without end.
//!
//! Nothing deleted here can grant or deny differently: a deleted token is unknown, which
//! is refused exactly as a revoked or expired one is, and a token that any other was minted
//! from stays while that child does (see `ports::Prunable`).

use std::time::Duration;

use super::App;
use crate::domain::clock::millis;
use crate::domain::error::Result;
use crate::domain::ports::Prunable;

/// How long a run of failed logins is remembered after its last failure (or lock).
pub const LOGIN_FAILURES_FORGOTTEN_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Rows per statement: small enough that SQLite's one writer is never held for long and
/// that a batch of tokens is announced to Postgres replicas by id, not as a flush of every
/// cache (migration 0004 flushes everything past 100 rows).
pub const PRUNE_BATCH: u32 = 100;

/// Most batches of one kind in a pass, so a pass over a huge backlog ends; the next pass
/// carries on.
const MAX_BATCHES: u32 = 500;

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// How long a revoked or expired token, an ended grant and an expired code are kept.
    pub ended_for: Duration,
    /// How long an audit event is kept (`--audit-retention`; `None`: for ever).
    pub audit_for: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            ended_for: Duration::from_secs(30 * 86_400),
            audit_for: Some(Duration::from_secs(90 * 86_400)),
        }
    }
}

impl App {
    /// One pass: for each kind, batches until nothing is left. Returns the rows
    /// deleted per kind, in [`Prunable::ALL`]'s order.
    pub async fn prune(&self, retention: &Retention) -> Result<[(Prunable, u32); 5]> {
        let now = self.clock.now();
        let mut done = Prunable::ALL.map(|what| (what, 0));
        for (what, total) in &mut done {
            let kept = match what {
                Prunable::LoginFailures => LOGIN_FAILURES_FORGOTTEN_AFTER,
                Prunable::AuditEvents => match retention.audit_for {
                    Some(kept) => kept,
                    None => continue,
                },
                _ => retention.ended_for,
            };
            let before = now.saturating_sub(millis(kept));
            for _ in 0..MAX_BATCHES {
                let n = self.store.prune(*what, before, PRUNE_BATCH).await?;
                *total += n;
                // A short batch is the end, except of tokens: deleting a child can free
                // its source for the next statement.
                if n == 0 || (n < PRUNE_BATCH && *what != Prunable::Tokens) {
                    break;
                }
            }
        }
        Ok(done)
    }
}
