//! The store as the application sees it, counted: every port call by operation (the port
//! method's name), result and latency, and, from what the calls wrote, tokens issued by
//! kind and tokens revoked by what revoked them. One decorator over any [`Store`], so both
//! backends and every caller are counted the same way, and no statement knows of metrics.

mod accounts;
mod tokens;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use crate::domain::audit::{AuditQuery, Event, StoredEvent};
use crate::domain::clock::Millis;
use crate::domain::model::TokenRecord;
use crate::domain::ports::{
    AuditStore, Prunable, RetentionStore, Store, StoreError, StoreHealth, StoreResult,
};
use crate::metrics::Metrics;

/// `store`, counted into `metrics`.
pub fn metered(store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Arc<dyn Store> {
    Arc::new(Metered {
        inner: store,
        metrics,
    })
}

struct Metered {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

/// The `result` label: `ok`, or the class of the error (never its text).
fn result_of<T>(outcome: &StoreResult<T>) -> &'static str {
    match outcome {
        Ok(_) => "ok",
        Err(StoreError::NotFound { .. }) => "not_found",
        Err(StoreError::Conflict { .. }) => "conflict",
        Err(StoreError::InUse { .. }) => "in_use",
        Err(StoreError::OverQuota { .. }) => "over_quota",
        Err(StoreError::InvalidCursor) => "invalid_cursor",
        Err(StoreError::Unavailable(_)) => "unavailable",
        Err(StoreError::Internal(_)) => "internal",
    }
}

impl Metered {
    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let started = Instant::now();
        let outcome = call.await;
        self.metrics
            .store_call(operation, result_of(&outcome), started.elapsed());
        outcome
    }

    /// Tokens a committed write added.
    fn issued(&self, tokens: &[TokenRecord]) {
        for token in tokens {
            self.metrics.tokens_issued(token.kind.as_str(), 1);
        }
    }

    /// Tokens a committed write revoked.
    fn revoked<T>(&self, reason: &'static str, outcome: &StoreResult<T>, n: impl Fn(&T) -> u32) {
        if let Ok(value) = outcome {
            self.metrics.revoked(reason, u64::from(n(value)));
        }
    }
}

#[async_trait]
impl StoreHealth for Metered {
    async fn probe_reads(&self) -> StoreResult<()> {
        self.timed("probe_reads", self.inner.probe_reads()).await
    }

    async fn probe_writes(&self, now: Millis) -> StoreResult<()> {
        self.timed("probe_writes", self.inner.probe_writes(now))
            .await
    }
}

#[async_trait]
impl RetentionStore for Metered {
    async fn prune(&self, what: Prunable, before: Millis, limit: u32) -> StoreResult<u32> {
        let outcome = self
            .timed("prune", self.inner.prune(what, before, limit))
            .await;
        if let Ok(n) = &outcome {
            self.metrics.pruned(what.as_str(), u64::from(*n));
        }
        outcome
    }
}

#[async_trait]
impl AuditStore for Metered {
    async fn append_event(&self, event: &Event) -> StoreResult<()> {
        self.timed("append_event", self.inner.append_event(event))
            .await
    }

    async fn list_events(&self, query: &AuditQuery) -> StoreResult<Vec<StoredEvent>> {
        self.timed("list_events", self.inner.list_events(query))
            .await
    }
}
