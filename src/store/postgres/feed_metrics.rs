//! The change feed, counted: every notice heard (for the age of the last one) and every
//! whole-cache flush, on their way to the application's sink.

use std::sync::Arc;

use crate::domain::ports::ChangeSink;
use crate::metrics::Metrics;

pub(super) struct MeteredSink {
    pub inner: Arc<dyn ChangeSink>,
    pub metrics: Arc<Metrics>,
}

impl ChangeSink for MeteredSink {
    fn token_changed(&self, id: &str) {
        self.metrics.feed_notice();
        self.inner.token_changed(id);
    }

    fn role_changed(&self, name: &str) {
        self.metrics.feed_notice();
        self.inner.role_changed(name);
    }

    fn user_changed(&self, id: &str) {
        self.metrics.feed_notice();
        self.inner.user_changed(id);
    }

    fn client_changed(&self, id: &str) {
        self.metrics.feed_notice();
        self.inner.client_changed(id);
    }

    fn everything_changed(&self) {
        self.metrics.feed_flush();
        self.inner.everything_changed();
    }
}
