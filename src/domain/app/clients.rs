//! The app registry: OAuth clients, created and edited by admins holding
//! `tessera:clients:write`, read with `tessera:clients:read`.

use super::{App, Caller, effective, perms};
use crate::domain::audit::{action, recorded};
use crate::domain::clock::Millis;
use crate::domain::error::{Error, Result};
use crate::domain::model::{Page, PageRequest};
use crate::domain::oauth_client::{self as rules, ClientType, OAuthClient};
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::{self, random_base62};
use crate::domain::validate;

/// What CreateClient asks for.
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    pub name: String,
    /// `None`: the request named no type.
    pub client_type: Option<ClientType>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
}

/// What UpdateClient changes: the fields given, the others kept.
#[derive(Debug, Clone, Default)]
pub struct ClientUpdate {
    pub client_id: String,
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
}

/// A client as created or edited, and what was asked for but left out.
#[derive(Debug, Clone)]
pub struct ClientChange {
    pub client: OAuthClient,
    /// The requested scopes the admin does not hold, so the client did not get them.
    pub stripped: Vec<String>,
}

/// A client's new secret, shown once.
pub struct NewClientSecret {
    pub client: OAuthClient,
    pub secret: String,
}

impl std::fmt::Debug for NewClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewClientSecret")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl App {
    pub async fn create_client(
        &self,
        caller: &Caller,
        spec: ClientSpec,
    ) -> Result<(ClientChange, Option<String>)> {
        caller.require_write(perms::CLIENTS_WRITE)?;
        let client_type = spec.client_type.ok_or_else(|| {
            Error::invalid("type", "CLIENT_TYPE_PUBLIC or CLIENT_TYPE_CONFIDENTIAL")
        })?;
        let (scopes, stripped) = self.capped_scopes(caller, &spec.scopes).await?;
        let client = OAuthClient {
            id: format!("cli_{}", random_base62(22)?),
            name: client_name(&spec.name)?,
            client_type,
            redirect_uris: rules::redirect_uris("redirect_uris", &spec.redirect_uris)?,
            scopes,
            grant_types: rules::grant_types("grant_types", &spec.grant_types)?,
            disabled: false,
            created_at: self.clock.now(),
        };
        rules::check_combination(&client)?;
        let secret = match client_type {
            ClientType::Confidential => Some(token_format::generate_client_secret()?),
            ClientType::Public => None,
        };
        let hash = secret.as_deref().map(|s| self.hasher.hash(s));
        let event = self
            .event(caller, action::CLIENT_CREATE)
            .on("client", &client.id)
            .with("type", client.client_type.as_str())
            .with("grant_types", grant_names(&client.grant_types))
            .with("redirect_uris", client.redirect_uris.len());
        let write = self
            .store
            .create_client(&client, hash.as_ref().map(|h| &h[..]));
        recorded(event, write).await?;
        Ok((ClientChange { client, stripped }, secret))
    }

    pub async fn get_client(&self, caller: &Caller, id: &str) -> Result<OAuthClient> {
        caller.require(perms::CLIENTS_READ)?;
        rules::client_id("client_id", id)?;
        self.store
            .get_client(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("client {id:?}")))
    }

    pub async fn list_clients(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<OAuthClient>> {
        caller.require(perms::CLIENTS_READ)?;
        Ok(self.store.list_clients(page).await?)
    }

    pub async fn update_client(
        &self,
        caller: &Caller,
        update: ClientUpdate,
    ) -> Result<ClientChange> {
        caller.require_write(perms::CLIENTS_WRITE)?;
        rules::client_id("client_id", &update.client_id)?;
        let mut client = self
            .store
            .get_client(&update.client_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("client {:?}", update.client_id)))?;
        if let Some(name) = &update.name {
            client.name = client_name(name)?;
        }
        if let Some(uris) = &update.redirect_uris {
            client.redirect_uris = rules::redirect_uris("redirect_uris", uris)?;
        }
        if let Some(grants) = &update.grant_types {
            client.grant_types = rules::grant_types("grant_types", grants)?;
        }
        let mut stripped = Vec::new();
        if let Some(asked) = &update.scopes {
            (client.scopes, stripped) = self.capped_scopes(caller, asked).await?;
        }
        rules::check_combination(&client)?;
        let event = self
            .event(caller, action::CLIENT_UPDATE)
            .on("client", &client.id)
            .with("grant_types", grant_names(&client.grant_types))
            .with("redirect_uris", client.redirect_uris.len());
        let client = recorded(event, self.store.update_client(&client)).await?;
        // Narrower scopes narrow the tokens already issued to the client at their next
        // check, here and (through the change feed) on every replica.
        self.invalidate_client(&client.id);
        Ok(ClientChange { client, stripped })
    }

    /// A new secret for a confidential client; the old one works on for
    /// `--client-secret-grace`.
    pub async fn rotate_client_secret(&self, caller: &Caller, id: &str) -> Result<NewClientSecret> {
        caller.require_write(perms::CLIENTS_WRITE)?;
        rules::client_id("client_id", id)?;
        let client = self
            .store
            .get_client(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("client {id:?}")))?;
        if client.client_type == ClientType::Public {
            return Err(Error::FailedPrecondition(format!(
                "client {id:?} is public: it has no secret"
            )));
        }
        let secret = token_format::generate_client_secret()?;
        let grace = self.oauth.client_secret_grace;
        let until: Option<Millis> = (!grace.is_zero())
            .then(|| self.clock.now().saturating_add(grace.as_millis() as Millis));
        let event = self
            .event(caller, action::CLIENT_ROTATE_SECRET)
            .on("client", id)
            .with("grace_ms", grace.as_millis());
        let hash = self.hasher.hash(&secret);
        let write = self.store.set_client_secret(id, &hash, until);
        let client = recorded(event, write).await?;
        self.invalidate_client(id);
        Ok(NewClientSecret { client, secret })
    }

    /// A disabled client gets no grant, and every token issued to it is inactive until it
    /// is enabled again.
    pub async fn set_client_disabled(
        &self,
        caller: &Caller,
        id: &str,
        disabled: bool,
    ) -> Result<OAuthClient> {
        caller.require_write(perms::CLIENTS_WRITE)?;
        rules::client_id("client_id", id)?;
        let what = match disabled {
            true => action::CLIENT_DISABLE,
            false => action::CLIENT_ENABLE,
        };
        let event = self.event(caller, what).on("client", id);
        let client = recorded(event, self.store.set_client_disabled(id, disabled)).await?;
        self.invalidate_client(id);
        Ok(client)
    }

    /// Deletes a client and revokes everything issued to it; returns how many tokens.
    pub async fn delete_client(&self, caller: &Caller, id: &str) -> Result<u32> {
        caller.require_write(perms::CLIENTS_WRITE)?;
        rules::client_id("client_id", id)?;
        let event = self.event(caller, action::CLIENT_DELETE).on("client", id);
        let revoked = recorded(event, self.store.delete_client(id, self.clock.now())).await?;
        self.invalidate_client(id);
        Ok(revoked)
    }

    /// The requested scopes met with the admin's own permissions, and those left out. A
    /// client the admin could grant nothing is refused rather than registered empty.
    async fn capped_scopes(
        &self,
        caller: &Caller,
        asked: &[String],
    ) -> Result<(PermissionSet, Vec<String>)> {
        let asked = validate::grants("scopes", asked, false)?;
        let capped = effective::meet_all(vec![asked.clone(), caller.permissions().clone()])
            .await?
            .map_err(|e| Error::invalid("scopes", e.to_string()))?;
        if capped.is_empty() {
            return Err(Error::denied(
                "the caller holds none of the requested scopes, so the client could be \
                 granted nothing",
            ));
        }
        let stripped = effective::left_out(&asked, &capped);
        Ok((capped, stripped))
    }
}

/// An app's display name: a label like a token's (1 to 128 bytes, NFC, not blank).
fn client_name(name: &str) -> Result<String> {
    validate::token_name("name", name)
}

/// Grant types as the event keeps them: their RFC names, space-separated.
fn grant_names(types: &[crate::domain::oauth_client::GrantType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
