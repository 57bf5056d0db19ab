//! The caller's own credential, presented in request metadata, and what it may do.

use super::App;
use crate::domain::clock::Millis;
use crate::domain::error::{Error, Result};
use crate::domain::permission_set::PermissionSet;

/// An authenticated caller of tessera's own API.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: String,
    pub user_id: String,
    /// The credential's effective permissions at the time of the call.
    pub permissions: PermissionSet,
    pub read_only: bool,
    /// When the credential expires; tokens it mints for its own user expire no later.
    pub expires_at: Option<Millis>,
}

impl Caller {
    pub fn has(&self, permission: &str) -> bool {
        self.permissions.matches(permission)
    }

    /// PERMISSION_DENIED unless the caller holds `permission`.
    pub fn require(&self, permission: &str) -> Result<()> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(Error::denied(format!("caller lacks {permission}")))
        }
    }

    /// PERMISSION_DENIED for read-only credentials: they never pass a mutating call.
    pub fn require_writable(&self) -> Result<()> {
        if self.read_only {
            Err(Error::denied("caller's token is read-only"))
        } else {
            Ok(())
        }
    }

    /// A mutating call that needs `permission`.
    pub fn require_write(&self, permission: &str) -> Result<()> {
        self.require_writable()?;
        self.require(permission)
    }
}

impl App {
    /// Authenticates the credential from the `authorization` metadata entry
    /// (`Bearer <token>`); UNAUTHENTICATED when it is missing or not active.
    pub async fn authenticate(&self, credential: Option<&str>) -> Result<Caller> {
        let Some(credential) = credential else {
            return Err(Error::Unauthenticated);
        };
        let Some(active) = self.resolve(credential).await? else {
            return Err(Error::Unauthenticated);
        };
        Ok(Caller {
            token_id: active.record.id,
            user_id: active.record.subject,
            permissions: active.effective,
            read_only: active.record.read_only,
            expires_at: active.record.expires_at,
        })
    }
}
