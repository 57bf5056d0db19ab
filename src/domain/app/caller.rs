//! The caller's own credential, presented in request metadata, and what it may do.

use super::App;
use super::auth_cache::{ResolvedToken, Signature};
use crate::domain::clock::Millis;
use crate::domain::error::{Error, Result};
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::TokenKind;

/// An authenticated caller of tessera's own API: its resolved credential, shared with the
/// cache rather than copied.
#[derive(Debug, Clone)]
pub struct Caller {
    credential: std::sync::Arc<ResolvedToken>,
}

impl Caller {
    pub fn token_id(&self) -> &str {
        &self.credential.record.id
    }

    pub fn user_id(&self) -> &str {
        &self.credential.record.subject
    }

    /// The credential's effective permissions at the time of the call.
    pub fn permissions(&self) -> &PermissionSet {
        &self.credential.effective
    }

    pub fn read_only(&self) -> bool {
        self.credential.record.read_only
    }

    /// When the credential expires (the earliest along its chain).
    pub fn expires_at(&self) -> Option<Millis> {
        self.credential.expires_at
    }

    pub fn kind(&self) -> TokenKind {
        self.credential.record.kind
    }

    /// Whether the credential is a session from a login with a second factor.
    pub fn two_factor(&self) -> bool {
        self.kind() == TokenKind::Session
            && matches!(
                self.credential.signature.get(),
                Some(Signature::Valid {
                    two_factor: true,
                    ..
                })
            )
    }

    /// The parent a token minted with this credential records (see `lineage`). A session
    /// is never a parent: it acts with its user's permissions anyway, so what it mints
    /// depends on that user only, and logging out, expiry or a password change never ends
    /// it.
    pub fn parent_of_minted(&self) -> Option<String> {
        (self.kind() != TokenKind::Session).then(|| self.token_id().to_owned())
    }

    /// The latest a token minted with this credential may expire: its own chain's expiry,
    /// except for a session (see [`Self::parent_of_minted`]).
    pub fn expiry_of_minted(&self) -> Option<Millis> {
        (self.kind() != TokenKind::Session)
            .then_some(self.expires_at())
            .flatten()
    }

    /// How many credentials above this one minted it (see `lineage`).
    pub fn depth(&self) -> usize {
        self.credential.depth()
    }

    pub fn has(&self, permission: &str) -> bool {
        self.credential.effective.matches(permission)
    }

    /// Whether the caller's credential was minted, directly or further up, from token `id`.
    pub fn descends_from(&self, id: &str) -> bool {
        let mut parent = self.credential.parent.as_deref();
        while let Some(p) = parent {
            if p.record.id == id {
                return true;
            }
            parent = p.parent.as_deref();
        }
        false
    }

    /// Whether the caller may list and revoke its own user's other tokens: a session may
    /// (it is the user, signed in), any other credential needs `tessera:tokens:self`.
    pub fn manages_own_tokens(&self) -> bool {
        self.kind() == TokenKind::Session || self.has(super::perms::TOKENS_SELF)
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
        if self.read_only() {
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
        Ok(Caller { credential: active })
    }
}
