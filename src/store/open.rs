//! Choosing a backend from the database URL: `sqlite://…` or `postgres://…`.

use std::sync::Arc;
use std::time::Duration;

use super::postgres::{
    ChangeFeed, ChangeFeedOptions, PostgresSettings, PostgresStore, follow_changes,
};
use super::sqlite::SqliteStore;
use super::{ChangeSink, Store, StoreError, StoreResult};

/// Connection settings that apply to whichever backend the URL names.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub pool_size: u32,
    /// Postgres only: the server-side statement timeout and the longest wait for a connection.
    pub statement_timeout: Duration,
}

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

impl Backend {
    /// Opens the store a URL names. SQLite opens its file now; Postgres connects lazily, on
    /// first use.
    pub async fn open(url: &str, settings: &StoreSettings) -> Result<Backend, OpenError> {
        if url.starts_with("sqlite:") {
            let store = SqliteStore::connect_with_pool(url, settings.pool_size).await?;
            Ok(Backend::Sqlite(Arc::new(store)))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pg = PostgresSettings {
                pool_size: settings.pool_size,
                statement_timeout: settings.statement_timeout,
            };
            Ok(Backend::Postgres(Arc::new(PostgresStore::connect(
                url, &pg,
            )?)))
        } else {
            Err(OpenError::UnsupportedUrl(crate::config::redact_url(url)))
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
    /// feed is dropped. `None` for SQLite, which has one replica only.
    pub fn follow_changes(
        &self,
        sink: Arc<dyn ChangeSink>,
        options: &ChangeFeedOptions,
    ) -> Option<ChangeFeed> {
        match self {
            Backend::Postgres(pg) => Some(follow_changes(pg, sink, options)),
            Backend::Sqlite(_) => None,
        }
    }
}
