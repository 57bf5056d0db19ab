//! What can go wrong behind a port, in terms a use case can act on.
//!
//! Structured rather than textual: a use case decides by the entity and key (a role that
//! vanished between a check and a write, say), never by matching a message.

/// The kinds of record a store keeps. Later entities (workspaces, credentials, clients)
/// become new variants here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    Role,
    User,
    Token,
    SigningKey,
    Client,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Role => "role",
            Entity::User => "user",
            Entity::Token => "token",
            Entity::SigningKey => "signing key",
            Entity::Client => "client",
        }
    }
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record named by `key` does not exist.
    #[error("{entity} {key:?} not found")]
    NotFound { entity: Entity, key: String },
    /// A record with this unique key already exists.
    #[error("{entity} {key:?} already exists")]
    Conflict { entity: Entity, key: String },
    /// The record is still referenced (a role held by a user), so it cannot go.
    #[error("{entity} {key:?} is still in use")]
    InUse { entity: Entity, key: String },
    /// The insert would give user `key` more than `limit` active tokens; nothing written.
    #[error("{entity} {key:?} holds {limit} active tokens, the most allowed")]
    OverQuota {
        entity: Entity,
        key: String,
        limit: u32,
    },
    /// A page token this store did not make.
    #[error("invalid page token")]
    InvalidCursor,
    /// The database cannot be reached, timed out, or cannot store more (a full or read-only
    /// disk): a retry later may succeed. Nothing of the call was committed.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("store error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn not_found(entity: Entity, key: impl Into<String>) -> StoreError {
        StoreError::NotFound {
            entity,
            key: key.into(),
        }
    }

    pub fn conflict(entity: Entity, key: impl Into<String>) -> StoreError {
        StoreError::Conflict {
            entity,
            key: key.into(),
        }
    }

    pub fn in_use(entity: Entity, key: impl Into<String>) -> StoreError {
        StoreError::InUse {
            entity,
            key: key.into(),
        }
    }

    pub fn unavailable(reason: &'static str) -> StoreError {
        StoreError::Unavailable(reason.into())
    }

    pub fn internal(reason: impl Into<String>) -> StoreError {
        StoreError::Internal(reason.into().into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
