//! The tokens a grant hands out: records built here, stored by the use case in the same
//! transaction as the code, the rotation or nothing at all (client credentials).

use super::super::{App, Issued, effective};
use crate::domain::clock::Millis;
use crate::domain::clock::millis;
use crate::domain::error::Result;
use crate::domain::model::TokenRecord;
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::{self, TokenKind};

/// The refresh token of a grant's answer. `token` is the secret: returned once.
pub struct IssuedRefresh {
    pub token: String,
    pub token_id: String,
    pub expires_at: Millis,
}

impl std::fmt::Debug for IssuedRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedRefresh")
            .field("token_id", &self.token_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A record and its secret, before the store has it.
pub(super) struct Minted {
    pub record: TokenRecord,
    pub secret: String,
}

/// What a grant answers: the access token, maybe a refresh token, the scopes it holds now.
pub(super) struct Pair {
    pub access: Minted,
    pub refresh: Option<Minted>,
}

impl App {
    /// A token record for an app: `subject` is the user (or the client itself), `scopes`
    /// what was granted; the check caps it by the client and the user again each time.
    pub(super) fn oauth_record(
        &self,
        kind: TokenKind,
        subject: &str,
        client_id: &str,
        grant_id: Option<&str>,
        scopes: &PermissionSet,
        expires_at: Millis,
    ) -> Result<Minted> {
        let new = token_format::generate(kind)?;
        let now = self.clock.now();
        let record = TokenRecord {
            id: new.id,
            kind,
            name: client_id.to_owned(),
            subject: subject.to_owned(),
            role: None,
            role_id: None,
            secret_hash: self.hasher.hash(&new.secret).to_vec(),
            scopes: scopes.clone(),
            cap: None,
            read_only: false,
            issued_at: now,
            expires_at: Some(expires_at),
            last_used_at: None,
            revoked_at: None,
            created_by: None,
            client_id: Some(client_id.to_owned()),
            grant_id: grant_id.map(str::to_owned),
        };
        Ok(Minted {
            record,
            secret: new.secret,
        })
    }

    /// An access token and, when the client may refresh, a refresh token, for one grant;
    /// neither outlives the grant's family.
    pub(super) fn grant_pair(
        &self,
        subject: &str,
        client_id: &str,
        grant_id: &str,
        access_scopes: &PermissionSet,
        refresh_scopes: Option<&PermissionSet>,
        family_end: Millis,
    ) -> Result<Pair> {
        let now = self.clock.now();
        let access_end = now
            .saturating_add(millis(self.oauth.access_ttl))
            .min(family_end);
        let access = self.oauth_record(
            TokenKind::OAuthAccess,
            subject,
            client_id,
            Some(grant_id),
            access_scopes,
            access_end,
        )?;
        let refresh = match refresh_scopes {
            Some(scopes) => Some(
                self.oauth_record(
                    TokenKind::OAuthRefresh,
                    subject,
                    client_id,
                    Some(grant_id),
                    scopes,
                    now.saturating_add(millis(self.oauth.refresh_ttl))
                        .min(family_end),
                )?,
            ),
            None => None,
        };
        Ok(Pair { access, refresh })
    }

    /// The answer for a stored pair; `granted` is what the access token holds now.
    pub(super) async fn issued_pair(
        &self,
        pair: Pair,
        granted: PermissionSet,
        stripped: Vec<String>,
    ) -> Result<Issued> {
        self.invalidate_token(&pair.access.record.id);
        let refresh = pair.refresh.map(|r| {
            self.invalidate_token(&r.record.id);
            IssuedRefresh {
                token: r.secret,
                token_id: r.record.id,
                expires_at: r.record.expires_at.unwrap_or(Millis::MAX),
            }
        });
        Ok(Issued {
            token: pair.access.secret,
            token_id: pair.access.record.id,
            kind: TokenKind::OAuthAccess,
            scopes: effective::strings_of(granted).await?,
            stripped,
            expires_at: pair.access.record.expires_at,
            refresh,
        })
    }
}

/// An OAuth grant's issue event: the client acting, the access token as the target, the
/// refresh token minted with it (if any) and the user the tokens act for.
pub(in crate::domain::app) fn grant_event(
    event: crate::domain::audit::Event,
    client_id: &str,
    records: &[crate::domain::model::TokenRecord],
) -> crate::domain::audit::Event {
    let mut event = event.by("", client_id, "client");
    for record in records {
        event = match record.kind {
            TokenKind::OAuthRefresh => event.with("refresh_token_id", &record.id),
            _ => event
                .on("token", &record.id)
                .with("kind", record.kind.as_str())
                .with("subject", &record.subject),
        };
    }
    event
}
