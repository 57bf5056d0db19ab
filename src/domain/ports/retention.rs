//! The port for deleting what ended long ago, so that the tables every check and listing
//! reads stay the size of what is live plus a bounded tail, not of everything ever issued.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::clock::Millis;

/// What a pass deletes, in this order: tokens first, because a grant goes only once no
/// token names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prunable {
    /// Tokens revoked or expired before the cutoff that no other token was minted from (a
    /// child is refused once its source's row is gone, so a source goes after its last
    /// child). A token of an OAuth grant goes by its expiry only: a refresh token consumed
    /// by a rotation stays while it could still be presented, so its reuse is still seen
    /// and still ends the family.
    Tokens,
    /// Grants revoked or expired before the cutoff, once none of their tokens is left.
    Grants,
    /// Authorization codes that expired before the cutoff (used or not).
    Codes,
    /// Runs of failed logins whose last failure (and lock) ended before the cutoff.
    LoginFailures,
    /// Audit events kept longer than `--audit-retention`.
    AuditEvents,
}

impl Prunable {
    pub const ALL: [Prunable; 5] = [
        Prunable::Tokens,
        Prunable::Grants,
        Prunable::Codes,
        Prunable::LoginFailures,
        Prunable::AuditEvents,
    ];

    /// The `table` label and the log's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Prunable::Tokens => "tokens",
            Prunable::Grants => "oauth_grants",
            Prunable::Codes => "oauth_codes",
            Prunable::LoginFailures => "login_failures",
            Prunable::AuditEvents => "audit_events",
        }
    }
}

#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes at most `limit` rows of `what` that ended before `before` (see [`Prunable`]
    /// for what "ended" means of each); how many it deleted. Idempotent, so every replica
    /// may run it: two passes at once delete each row once.
    async fn prune(&self, what: Prunable, before: Millis, limit: u32) -> StoreResult<u32>;
}
