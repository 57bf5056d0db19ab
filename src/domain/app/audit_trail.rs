//! The audit trail as the use cases see it: events built from the caller, and the listing.
//! Every write use case wraps the one store write that makes its change in
//! `audit::recorded` (see `domain::audit`).

use super::{App, Caller, perms};
use crate::domain::audit::{AuditQuery, Event, StoredEvent};
use crate::domain::clock::Millis;
use crate::domain::error::{Error, Result};
use crate::domain::model::Page;
use crate::domain::validate;

/// The actor kind of the `bootstrap` command's changes.
const BY_BOOTSTRAP: &str = "bootstrap";
/// The actor kind of changes tessera makes on its own.
const BY_SYSTEM: &str = "system";

/// What ListAuditEvents was asked, as the request carried it.
#[derive(Debug, Clone, Default)]
pub struct AuditListing {
    pub subject: String,
    pub action: String,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub page_size: u32,
    pub page_token: String,
}

impl App {
    /// An event of `action` by `caller`, now.
    pub(super) fn event(&self, caller: &Caller, action: &str) -> Event {
        Event::new(action, self.clock.now()).by(
            caller.token_id(),
            caller.user_id(),
            caller.kind().as_str(),
        )
    }

    /// An event of `action` with no caller credential (a login, an OAuth client's grant).
    pub(super) fn unauthenticated_event(&self, action: &str) -> Event {
        Event::new(action, self.clock.now())
    }

    /// An event of a change no caller asked for: `by` is [`BY_BOOTSTRAP`] (the command that
    /// makes the first admin) or [`BY_SYSTEM`] (the first signing key, made at start-up).
    fn own_event(&self, action: &str, by: &str) -> Event {
        Event::new(action, self.clock.now()).by("", "", by)
    }

    /// An event of the `bootstrap` command's (see [`Self::own_event`]).
    pub(super) fn bootstrap_event(&self, action: &str) -> Event {
        self.own_event(action, BY_BOOTSTRAP)
    }

    /// An event of a change tessera makes on its own (see [`Self::own_event`]).
    pub(super) fn system_event(&self, action: &str) -> Event {
        self.own_event(action, BY_SYSTEM)
    }

    /// Events newest first (`tessera:audit:read`). The page token is the seq of the last
    /// event of the previous page.
    pub async fn list_audit_events(
        &self,
        caller: &Caller,
        listing: &AuditListing,
    ) -> Result<Page<StoredEvent>> {
        caller.require(perms::AUDIT_READ)?;
        let before_seq = match listing.page_token.as_str() {
            "" => None,
            token => Some(
                token
                    .parse::<i64>()
                    .ok()
                    .filter(|seq| *seq > 0)
                    .ok_or_else(|| Error::invalid("page_token", "not a token this listing gave"))?,
            ),
        };
        let bounded = |field: &str, text: &str| -> Result<Option<String>> {
            if text.len() > 256 {
                return Err(Error::invalid(field, "at most 256 bytes"));
            }
            Ok((!text.is_empty()).then(|| text.to_owned()))
        };
        if let (Some(since), Some(until)) = (listing.since, listing.until)
            && since > until
        {
            return Err(Error::invalid("until", "must not be before since"));
        }
        let limit = validate::page_size(listing.page_size);
        let mut events = self
            .store
            .list_events(&AuditQuery {
                subject: bounded("subject", &listing.subject)?,
                action: bounded("action", &listing.action)?,
                since: listing.since,
                until: listing.until,
                before_seq,
                limit: limit.saturating_add(1),
            })
            .await?;
        let more = events.len() > limit as usize;
        events.truncate(limit as usize);
        let next = more
            .then(|| events.last().map(|e| e.seq.to_string()))
            .flatten();
        Ok(Page {
            items: events,
            next,
        })
    }
}

/// A role's creation, whoever made it (an admin, or bootstrap).
pub(super) fn role_created(event: Event, role: &crate::domain::model::Role) -> Event {
    event
        .on("role", &role.name)
        .with("role_id", &role.id)
        .with("permissions", role.permissions.len())
}

/// A user's creation, whoever made it (an admin, or bootstrap).
pub(super) fn user_created(event: Event, user: &crate::domain::model::User) -> Event {
    event
        .on("user", &user.id)
        .with("name", &user.name)
        .with("roles", user.roles.join(" "))
}

/// An issue event completed with what was minted (ids, kind and counts; never the secret).
pub(super) fn issue_event(event: Event, record: &crate::domain::model::TokenRecord) -> Event {
    let event = event
        .on("token", &record.id)
        .with("kind", record.kind.as_str())
        .with("subject", &record.subject)
        .with("read_only", record.read_only);
    match &record.role {
        Some(role) => event.with("role", role),
        None => event.with("scopes", record.scopes.len()),
    }
}
