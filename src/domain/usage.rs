//! `last_used_at`, written behind: checks note the time in memory, a background task writes
//! the batch in one transaction. No check ever waits on a store write.

use std::collections::HashMap;
use std::sync::Mutex;

use super::clock::Millis;

/// Pending `last_used_at` values by token id.
#[derive(Debug, Default)]
pub struct UsageTracker {
    pending: Mutex<HashMap<String, Millis>>,
}

impl UsageTracker {
    /// Notes a use; keeps the latest time per token.
    pub fn record(&self, token_id: &str, at: Millis) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match pending.get_mut(token_id) {
            Some(t) => *t = (*t).max(at),
            None => {
                pending.insert(token_id.to_owned(), at);
            }
        }
    }

    /// A use not yet written, so listings show it before the next flush.
    pub fn pending(&self, token_id: &str) -> Option<Millis> {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.get(token_id).copied()
    }

    /// Takes everything pending, for one batched write.
    pub fn take(&self) -> Vec<(String, Millis)> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.drain().collect()
    }

    /// Puts a batch back after a failed write, without losing newer uses.
    pub fn restore(&self, batch: Vec<(String, Millis)>) {
        for (id, at) in batch {
            self.record(&id, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_latest_and_drains() {
        let t = UsageTracker::default();
        t.record("a", 5);
        t.record("a", 3);
        t.record("b", 1);
        assert_eq!(t.pending("a"), Some(5));
        let mut batch = t.take();
        batch.sort();
        assert_eq!(batch, vec![("a".to_owned(), 5), ("b".to_owned(), 1)]);
        assert_eq!(t.pending("a"), None);
        t.record("a", 7);
        t.restore(batch);
        assert_eq!(t.pending("a"), Some(7));
        assert_eq!(t.pending("b"), Some(1));
    }
}
