//! Conversions between wire types and domain types.

use std::time::Duration;

use crate::domain::app::TokenView;
use crate::domain::clock::Millis;
use crate::domain::error::{Error, Result};
use crate::domain::model::{Role, User};
use crate::domain::oauth_client::{ClientType, OAuthClient};
use crate::proto::v1 as pb;

pub fn timestamp(ms: Millis) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        // Always in 0..1_000_000_000, so the cast cannot truncate.
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub fn opt_timestamp(ms: Option<Millis>) -> Option<prost_types::Timestamp> {
    ms.map(timestamp)
}

/// A protobuf Timestamp as milliseconds; INVALID_ARGUMENT naming `field` when it is not a
/// valid time.
pub fn opt_millis(field: &str, t: Option<prost_types::Timestamp>) -> Result<Option<Millis>> {
    let Some(t) = t else { return Ok(None) };
    if t.nanos < 0 || t.nanos >= 1_000_000_000 {
        return Err(Error::invalid(field, "nanos must be in 0..1e9"));
    }
    t.seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::from(t.nanos / 1_000_000)))
        .map(Some)
        .ok_or_else(|| Error::invalid(field, "out of range"))
}

impl From<crate::domain::audit::StoredEvent> for pb::AuditEvent {
    fn from(stored: crate::domain::audit::StoredEvent) -> pb::AuditEvent {
        let e = stored.event;
        pb::AuditEvent {
            seq: u64::try_from(stored.seq).unwrap_or_default(),
            at: Some(timestamp(e.at)),
            action: e.action,
            result: e.outcome.as_str().to_owned(),
            actor: Some(pb::AuditActor {
                token_id: e.actor.token_id,
                subject: e.actor.subject,
                kind: e.actor.kind,
                peer: e.actor.peer,
            }),
            request_id: e.request_id,
            target_type: e.target_type,
            target_id: e.target_id,
            fields: e.fields.into_iter().collect(),
        }
    }
}

/// A protobuf Duration as a positive std Duration; INVALID_ARGUMENT naming `field` otherwise.
pub fn duration(field: &str, d: Option<prost_types::Duration>) -> Result<Option<Duration>> {
    let Some(d) = d else { return Ok(None) };
    if d.seconds < 0 || d.nanos < 0 || d.nanos >= 1_000_000_000 {
        return Err(Error::invalid(field, "must be a positive duration"));
    }
    let secs = u64::try_from(d.seconds).map_err(|_| Error::invalid(field, "out of range"))?;
    let nanos = u32::try_from(d.nanos).map_err(|_| Error::invalid(field, "out of range"))?;
    Ok(Some(Duration::new(secs, nanos)))
}

impl From<Role> for pb::Role {
    fn from(r: Role) -> pb::Role {
        pb::Role {
            permissions: r.permissions.to_strings(),
            name: r.name,
            description: r.description,
        }
    }
}

impl From<User> for pb::User {
    fn from(u: User) -> pb::User {
        pb::User {
            id: u.id,
            name: u.name,
            roles: u.roles,
            disabled: u.disabled,
            created_at: Some(timestamp(u.created_at)),
            has_password: u.has_password,
            totp_enabled: u.totp_enabled,
        }
    }
}

impl From<TokenView> for pb::TokenInfo {
    fn from(t: TokenView) -> pb::TokenInfo {
        pb::TokenInfo {
            token_id: t.token_id,
            kind: t.kind.as_str().to_owned(),
            name: t.name,
            subject: t.subject,
            role: t.role.unwrap_or_default(),
            scopes: t.scopes,
            read_only: t.read_only,
            issued_at: Some(timestamp(t.issued_at)),
            expires_at: opt_timestamp(t.expires_at),
            last_used_at: opt_timestamp(t.last_used_at),
            revoked_at: opt_timestamp(t.revoked_at),
            parent_token_id: t.parent_token_id.unwrap_or_default(),
        }
    }
}

impl From<crate::domain::app::Issued> for pb::IssueResponse {
    fn from(issued: crate::domain::app::Issued) -> pb::IssueResponse {
        let (refresh_token, refresh_expires_at) = match issued.refresh {
            Some(r) => (r.token, Some(timestamp(r.expires_at))),
            None => (String::new(), None),
        };
        pb::IssueResponse {
            token: issued.token,
            token_id: issued.token_id,
            kind: issued.kind.as_str().to_owned(),
            scopes: issued.scopes,
            stripped_scopes: issued.stripped,
            expires_at: opt_timestamp(issued.expires_at),
            refresh_token,
            refresh_expires_at,
        }
    }
}

impl From<crate::domain::oauth_grant::OAuthGrant> for pb::Grant {
    fn from(g: crate::domain::oauth_grant::OAuthGrant) -> pb::Grant {
        pb::Grant {
            grant_id: g.id,
            client_id: g.client_id,
            subject: g.subject,
            scopes: g.scopes.to_strings(),
            created_at: Some(timestamp(g.created_at)),
            last_used_at: opt_timestamp(g.last_used_at),
            expires_at: Some(timestamp(g.expires_at)),
        }
    }
}

impl From<crate::domain::app::PublicJwk> for pb::Jwk {
    fn from(k: crate::domain::app::PublicJwk) -> pb::Jwk {
        pb::Jwk {
            kid: k.kid,
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: k.x,
            alg: "EdDSA".into(),
            r#use: "sig".into(),
        }
    }
}

impl From<OAuthClient> for pb::Client {
    fn from(c: OAuthClient) -> pb::Client {
        let client_type = match c.client_type {
            ClientType::Public => pb::ClientType::Public,
            ClientType::Confidential => pb::ClientType::Confidential,
        };
        pb::Client {
            scopes: c.scopes.to_strings(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            client_id: c.id,
            name: c.name,
            r#type: client_type.into(),
            redirect_uris: c.redirect_uris,
            disabled: c.disabled,
            created_at: Some(timestamp(c.created_at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_split_millis() {
        let t = timestamp(1_700_000_000_123);
        assert_eq!((t.seconds, t.nanos), (1_700_000_000, 123_000_000));
    }

    #[test]
    fn durations_must_be_positive() {
        let neg = prost_types::Duration {
            seconds: -1,
            nanos: 0,
        };
        assert!(duration("ttl", Some(neg)).is_err());
        let ok = prost_types::Duration {
            seconds: 60,
            nanos: 0,
        };
        assert_eq!(
            duration("ttl", Some(ok)).ok().flatten(),
            Some(Duration::from_secs(60))
        );
        assert_eq!(duration("ttl", None).ok().flatten(), None);
    }
}
