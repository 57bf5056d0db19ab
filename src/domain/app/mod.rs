//! The use cases: what each RPC means, independent of gRPC and of the store behind it.
//!
//! Every check reads token, user and role state through `App::resolve`, the one place where
//! the cache (`auth_cache`) sits in front of the store.

mod account;
mod admin;
mod audit_trail;
mod auth_cache;
mod authorize;
mod bootstrap;
mod caller;
mod clients;
mod effective;
mod escalation;
mod issue;
mod lineage;
mod login;
mod logins;
pub mod oauth;
mod resolve;
pub mod retention;
mod revoke;
mod rotate;
mod session_check;
mod token_listing;

use std::sync::Arc;

pub use account::TotpEnrollment;
pub use audit_trail::AuditListing;
pub use auth_cache::CacheConfig;
pub use authorize::{AuthorizeInput, AuthorizeOutcome, CheckVia, Decision, Introspection};
pub use bootstrap::Bootstrapped;
pub use caller::Caller;
pub use clients::{ClientChange, ClientSpec, ClientUpdate, NewClientSecret};
pub use issue::{Issued, TokenSpec};
pub use login::LoginInput;
pub use logins::{LoginConfig, PatIssuers, PublicJwk, SECRET_SETTING};
pub use revoke::RevokeTarget;
pub use rotate::MAX_ROTATION_OVERLAP;

use super::clock::Clock;
use super::error::Result;
use super::ports::Store;
use super::secret_hash::SecretHasher;
use super::usage::UsageTracker;

/// The permissions tessera checks on its own callers.
pub mod perms {
    pub const INTROSPECT: &str = "tessera:introspect";
    pub const TOKENS_ISSUE: &str = "tessera:tokens:issue";
    pub const TOKENS_REVOKE: &str = "tessera:tokens:revoke";
    pub const TOKENS_READ: &str = "tessera:tokens:read";
    /// Listing and revoking the caller's own user's other tokens. A narrow credential (a
    /// CI key scoped `read:contacts`) must not be able to lock its owner out.
    pub const TOKENS_SELF: &str = "tessera:tokens:self";
    pub const ROLES_READ: &str = "tessera:roles:read";
    pub const ROLES_WRITE: &str = "tessera:roles:write";
    pub const USERS_READ: &str = "tessera:users:read";
    pub const USERS_WRITE: &str = "tessera:users:write";
    /// Lifts the escalation rule for role contents (see `escalation`).
    pub const ROLES_ESCALATE: &str = "tessera:roles:escalate";
    /// Lifts the escalation rule for role assignments (see `escalation`).
    pub const USERS_BIND: &str = "tessera:users:bind";
    /// Rotating the session signing key.
    pub const KEYS_ROTATE: &str = "tessera:keys:rotate";
    /// Reading and editing the app registry (OAuth clients).
    pub const CLIENTS_READ: &str = "tessera:clients:read";
    pub const CLIENTS_WRITE: &str = "tessera:clients:write";
    /// Reading the audit trail.
    pub const AUDIT_READ: &str = "tessera:audit:read";
}

/// Bounds on what one caller may accumulate.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most active tokens (neither revoked nor expired) one user may hold: Issue beyond it
    /// answers RESOURCE_EXHAUSTED (`--max-tokens-per-user`). Bootstrap and bulk seeding
    /// from the command line are not counted against it.
    pub max_tokens_per_user: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_tokens_per_user: 1000,
        }
    }
}

/// The application: store, secret hasher, clock and the write-behind usage tracker.
pub struct App {
    store: Arc<dyn Store>,
    hasher: SecretHasher,
    clock: Arc<dyn Clock>,
    usage: UsageTracker,
    /// In front of the store on the check path; `None` when turned off.
    cache: Option<auth_cache::AuthCache>,
    limits: Limits,
    logins: logins::Logins,
    oauth: oauth::OAuthConfig,
    /// Clients with their secret hashes, for the grants (see `oauth::client_cache`).
    clients: oauth::ClientCache,
    /// The fixed facts of grants, for refreshes (see `oauth::grant_cache`).
    grants: oauth::GrantCache,
    /// Users' names, for introspection's `username` (see `oauth::grant_cache`).
    user_names: oauth::UserNames,
    /// What the use cases count (decisions, cache, logins); the server exports it.
    metrics: Arc<crate::metrics::Metrics>,
    /// Which Authorize decisions go to the audit log.
    audit_decisions: super::audit::DecisionLog,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("hasher", &self.hasher)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl App {
    /// An application with the default cache in front of the store.
    pub fn new(store: Arc<dyn Store>, hasher: SecretHasher, clock: Arc<dyn Clock>) -> App {
        App::with_cache(store, hasher, clock, &CacheConfig::default())
    }

    pub fn with_cache(
        store: Arc<dyn Store>,
        hasher: SecretHasher,
        clock: Arc<dyn Clock>,
        cache: &CacheConfig,
    ) -> App {
        App {
            store,
            hasher,
            clock,
            usage: UsageTracker::default(),
            cache: auth_cache::AuthCache::new(cache),
            limits: Limits::default(),
            logins: logins::Logins::new(LoginConfig::default(), None),
            oauth: oauth::OAuthConfig::default(),
            clients: oauth::ClientCache::new(cache.ttl, cache.capacity > 0),
            grants: oauth::GrantCache::default(),
            user_names: oauth::UserNames::default(),
            metrics: Arc::default(),
            audit_decisions: super::audit::DecisionLog::default(),
        }
    }

    /// The same application counting into `metrics` (shared with the store and the feed).
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> App {
        self.metrics = metrics;
        self
    }

    /// What this application counts, for the metrics endpoint.
    pub fn metrics(&self) -> &Arc<crate::metrics::Metrics> {
        &self.metrics
    }

    /// The same application with other OAuth settings.
    pub fn with_oauth(mut self, oauth: oauth::OAuthConfig) -> App {
        self.oauth = oauth;
        self
    }

    /// The same application with other limits.
    /// The same application logging `decisions` to the audit log (`--audit-decisions`).
    pub fn with_audit_decisions(mut self, decisions: super::audit::DecisionLog) -> App {
        self.audit_decisions = decisions;
        self
    }

    pub fn with_limits(mut self, limits: Limits) -> App {
        self.limits = limits;
        self
    }

    /// The application clock's time, for answers that count down to an expiry.
    pub fn now(&self) -> super::clock::Millis {
        self.clock.now()
    }

    /// How many tokens the cache holds (0 when it is off), for measurements.
    pub fn cached_tokens(&self) -> usize {
        self.cache
            .as_ref()
            .map_or(0, auth_cache::AuthCache::entries)
    }

    /// Whether the store answers a real read of the check path's tables (for health).
    pub async fn ready(&self) -> bool {
        match self.store.probe_reads().await {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %super::error::chain(&e), "store read probe failed");
                false
            }
        }
    }

    /// Whether the store commits a write (for health): a full or read-only disk answers
    /// reads but takes nothing new.
    pub async fn writable(&self) -> bool {
        match self.store.probe_writes(self.clock.now()).await {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %super::error::chain(&e), "store write probe failed");
                false
            }
        }
    }

    /// Writes pending `last_used_at` values in one batch; keeps them for the next try on failure.
    pub async fn flush_usage(&self) -> Result<usize> {
        let batch = self.usage.take();
        let n = batch.len();
        if n == 0 {
            return Ok(0);
        }
        match self.store.record_usage(&batch).await {
            Ok(()) => Ok(n),
            Err(e) => {
                self.usage.restore(batch);
                Err(e.into())
            }
        }
    }
}

pub use admin::page_request;
pub use token_listing::TokenView;
