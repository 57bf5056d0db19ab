//! What the server counts, for Prometheus: one [`Metrics`] per server, recorded where the work
//! happens (the check use case, the cache, the store decorator, the change feed, logins, the
//! token endpoint) and encoded in one place ([`Metrics::encode`], served by
//! `server::metrics` on its own listener).
//!
//! A leaf module: it knows nothing of the domain, so every layer may record into it. Every
//! label value is a `&'static str` that callers take from a closed set (an enum's name, an
//! RFC 6749 error code, a port method's name), so no label can ever carry a token, a user
//! id or any other value a request chooses.

mod families;

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use families::{
    DecisionLabels, GrantLabels, Kind, LoginLabels, Reason, Rpc, StoreLabels, StoreOp, Table,
    latency,
};

/// The `Content-Type` of what [`Metrics::encode`] writes: the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Every series the server exports, and the registry that names them.
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    check_latency: Family<Rpc, Histogram, fn() -> Histogram>,
    cache_hits: Counter,
    cache_misses: Counter,
    cache_evictions: Counter,
    cache_entries: Gauge,
    store_calls: Family<StoreLabels, Counter>,
    store_latency: Family<StoreOp, Histogram, fn() -> Histogram>,
    feed_reconnects: Counter,
    feed_flushes: Counter,
    feed_notice_age: Gauge<f64, AtomicU64>,
    feed_last_notice: Mutex<Option<Instant>>,
    tokens_issued: Family<Kind, Counter>,
    revocations: Family<Reason, Counter>,
    logins: Family<LoginLabels, Counter>,
    lockouts: Counter,
    oauth_grants: Family<GrantLabels, Counter>,
    pruned: Family<Table, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("tessera"),
            decisions: Family::default(),
            check_latency: Family::new_with_constructor(latency),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            cache_evictions: Counter::default(),
            cache_entries: Gauge::default(),
            store_calls: Family::default(),
            store_latency: Family::new_with_constructor(latency),
            feed_reconnects: Counter::default(),
            feed_flushes: Counter::default(),
            feed_notice_age: Gauge::default(),
            feed_last_notice: Mutex::new(None),
            tokens_issued: Family::default(),
            revocations: Family::default(),
            logins: Family::default(),
            lockouts: Counter::default(),
            oauth_grants: Family::default(),
            pruned: Family::default(),
        };
        m.register();
        m
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "decisions",
            "Check decisions, by RPC, decision (allow, unauthenticated, permission_denied, invalid_request, error) and token kind",
            self.decisions.clone(),
        );
        r.register(
            "check_duration_seconds",
            "Time to decide a check, from the decoded request to the decision, by RPC",
            self.check_latency.clone(),
        );
        r.register(
            "cache_hits",
            "Token lookups answered from the cache (the token checked, the caller's own credential, a derived token's parents; a known absence included)",
            self.cache_hits.clone(),
        );
        r.register(
            "cache_misses",
            "Token lookups that read the store because the cache held nothing current",
            self.cache_misses.clone(),
        );
        r.register(
            "cache_evictions",
            "Cache entries dropped to stay within --cache-capacity",
            self.cache_evictions.clone(),
        );
        r.register(
            "cache_entries",
            "Tokens the cache holds now",
            self.cache_entries.clone(),
        );
        r.register(
            "store_calls",
            "Store calls, by operation and result (ok, or the error's class)",
            self.store_calls.clone(),
        );
        r.register(
            "store_call_duration_seconds",
            "Store call latency, by operation, the deadline included",
            self.store_latency.clone(),
        );
        r.register(
            "change_feed_reconnects",
            "Times the Postgres change listener connected again after losing its connection or notices",
            self.feed_reconnects.clone(),
        );
        r.register(
            "change_feed_flushes",
            "Whole-cache flushes, because changes may have been missed (or a notice asked for one)",
            self.feed_flushes.clone(),
        );
        r.register(
            "change_feed_last_notice_age_seconds",
            "Seconds since the last change notice was heard; NaN until one is (always on SQLite, which needs no feed)",
            self.feed_notice_age.clone(),
        );
        r.register(
            "tokens_issued",
            "Tokens written to the store, by kind",
            self.tokens_issued.clone(),
        );
        r.register(
            "revocations",
            "Tokens revoked, by what revoked them",
            self.revocations.clone(),
        );
        r.register(
            "logins",
            "Password logins, by result (success, failed, locked, throttled, invalid, error)",
            self.logins.clone(),
        );
        r.register(
            "login_lockouts",
            "Failed logins that locked their username",
            self.lockouts.clone(),
        );
        r.register(
            "oauth_grants",
            "Token endpoint requests, by grant type and RFC 6749 error (none on success)",
            self.oauth_grants.clone(),
        );
        r.register(
            "pruned_rows",
            "Rows the retention pass deleted, by table (tokens, grants, codes, login failures)",
            self.pruned.clone(),
        );
    }

    /// The text Prometheus scrapes. `cache_entries` is read now, as it is cheaper to count
    /// at a scrape than on every insert and removal.
    pub fn encode(&self, cache_entries: usize) -> String {
        self.cache_entries
            .set(i64::try_from(cache_entries).unwrap_or(i64::MAX));
        let last = *self
            .feed_last_notice
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.feed_notice_age
            .set(last.map_or(f64::NAN, |at| at.elapsed().as_secs_f64()));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }

    /// One check decided (`decision` is `error` when the check failed).
    pub fn decision(
        &self,
        rpc: &'static str,
        decision: &'static str,
        kind: &'static str,
        took: Duration,
    ) {
        self.decisions
            .get_or_create(&DecisionLabels {
                rpc,
                decision,
                kind,
            })
            .inc();
        self.check_latency
            .get_or_create(&Rpc { rpc })
            .observe(took.as_secs_f64());
    }

    pub fn cache_hit(&self) {
        self.cache_hits.inc();
    }

    pub fn cache_miss(&self) {
        self.cache_misses.inc();
    }

    pub fn cache_eviction(&self) {
        self.cache_evictions.inc();
    }

    /// One store call; `result` is `ok` or the error's class.
    pub fn store_call(&self, operation: &'static str, result: &'static str, took: Duration) {
        self.store_calls
            .get_or_create(&StoreLabels { operation, result })
            .inc();
        self.store_latency
            .get_or_create(&StoreOp { operation })
            .observe(took.as_secs_f64());
    }

    pub fn tokens_issued(&self, kind: &'static str, n: u64) {
        self.tokens_issued.get_or_create(&Kind { kind }).inc_by(n);
    }

    pub fn revoked(&self, reason: &'static str, n: u64) {
        if n > 0 {
            self.revocations.get_or_create(&Reason { reason }).inc_by(n);
        }
    }

    pub fn feed_reconnect(&self) {
        self.feed_reconnects.inc();
    }

    pub fn feed_flush(&self) {
        self.feed_flushes.inc();
    }

    pub fn feed_notice(&self) {
        *self
            .feed_last_notice
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    pub fn login(&self, result: &'static str) {
        self.logins.get_or_create(&LoginLabels { result }).inc();
    }

    pub fn lockout(&self) {
        self.lockouts.inc();
    }

    /// Rows a retention pass deleted from `table`.
    pub fn pruned(&self, table: &'static str, n: u64) {
        if n > 0 {
            self.pruned.get_or_create(&Table { table }).inc_by(n);
        }
    }

    /// One token endpoint request; `error` is `none` on success.
    pub fn oauth_grant(&self, grant_type: &'static str, error: &'static str) {
        self.oauth_grants
            .get_or_create(&GrantLabels { grant_type, error })
            .inc();
    }
}
