//! Choosing a backend from the database URL: `sqlite://…` or `postgres://…`.

use std::sync::Arc;

use super::StoreSettings;
use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use crate::domain::ports::{ChangeSink, Store, StoreError, StoreResult};
use crate::metrics::Metrics;

/// An open store, by backend: the parts only one backend has (a file path, a change feed)
/// stay reachable.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reports changes other replicas commit until dropped (see `postgres::changes`).
#[derive(Debug)]
pub enum ChangeFeed {
    /// SQLite has one replica: every change goes through this process, nothing to follow.
    Local,
    Postgres(super::postgres::ChangeFeed),
}

impl ChangeFeed {
    /// Returns once every change committed before this call has reached the sink.
    pub async fn settled(&self) -> StoreResult<()> {
        match self {
            ChangeFeed::Local => Ok(()),
            ChangeFeed::Postgres(feed) => feed.settled().await,
        }
    }
}

impl Backend {
    /// Opens the store the settings' URL names. SQLite opens its file now; Postgres connects
    /// lazily, on first use.
    pub async fn open(settings: &StoreSettings) -> Result<Backend, OpenError> {
        let url = settings.database_url.as_str();
        if url.starts_with("sqlite:") {
            let store = SqliteStore::connect_with_pool(url, settings.pool_size).await?;
            Ok(Backend::Sqlite(Arc::new(store)))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres(Arc::new(PostgresStore::connect(
                settings,
            )?)))
        } else {
            Err(OpenError::UnsupportedUrl(settings.redacted_url()))
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(s) => s.clone(),
            Backend::Postgres(s) => s.clone(),
        }
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Backend::Sqlite(s) => s.migrate().await,
            Backend::Postgres(s) => s.migrate().await,
        }
    }

    pub async fn close(&self) {
        match self {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(s) => s.close().await,
        }
    }

    /// Starts reporting changes committed by other replicas into `sink`, until the returned
    /// feed is dropped.
    pub fn follow_changes(&self, sink: Arc<dyn ChangeSink>, metrics: Arc<Metrics>) -> ChangeFeed {
        match self {
            Backend::Postgres(pg) => {
                ChangeFeed::Postgres(super::postgres::follow_changes(pg, sink, metrics))
            }
            Backend::Sqlite(_) => ChangeFeed::Local,
        }
    }
}
