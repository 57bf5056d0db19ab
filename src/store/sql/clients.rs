//! The OAuth client port for every SQL backend.

use async_trait::async_trait;

use super::rows::{Columns, finish_page, probe_limit};
use super::schema::clients as q;
use super::{SqlBackend, SqlStore, SqlTx, audit_in, finish, to_u32};
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest};
use crate::domain::oauth_client::{ClientSecrets, ClientType, GrantType, OAuthClient};
use crate::domain::permission_set::PermissionSet;
use crate::domain::ports::{ClientStore, Entity, StoreError, StoreResult};

fn client_from_row(row: &impl Columns) -> StoreResult<OAuthClient> {
    let kind = row.text("client_type")?;
    let client_type = ClientType::from_name(&kind)
        .ok_or_else(|| StoreError::internal(format!("unknown client type {kind:?}")))?;
    let grant_types = row
        .text("grant_types")?
        .split_whitespace()
        .map(|g| {
            GrantType::from_name(g)
                .ok_or_else(|| StoreError::internal(format!("unknown grant type {g:?}")))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(OAuthClient {
        id: row.text("id")?,
        name: row.text("name")?,
        client_type,
        redirect_uris: row
            .text("redirect_uris")?
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        scopes: PermissionSet::from_stored(&row.text("scopes")?),
        grant_types,
        disabled: row.flag("disabled")?,
        created_at: row.int("created_at")?,
    })
}

fn secrets_from_row(row: &impl Columns) -> StoreResult<ClientSecrets> {
    Ok(ClientSecrets {
        current: row.opt_bytes("secret_hash")?,
        previous: row.opt_bytes("previous_secret_hash")?,
        previous_until: row.opt_int("previous_secret_until")?,
    })
}

impl<B: SqlBackend> SqlStore<B> {
    async fn require_client(&self, id: &str) -> StoreResult<OAuthClient> {
        self.get_client(id)
            .await?
            .ok_or_else(|| StoreError::not_found(Entity::Client, id))
    }

    /// One update of the client's row, then the client as it now is.
    async fn update_client_row(
        &self,
        id: &str,
        st: sea_query::UpdateStatement,
    ) -> StoreResult<OAuthClient> {
        if self.execute(B::render(&st), |e| e.into_store()).await? == 0 {
            return Err(StoreError::not_found(Entity::Client, id));
        }
        self.require_client(id).await
    }
}

#[async_trait]
impl<B: SqlBackend> ClientStore for SqlStore<B> {
    async fn create_client(
        &self,
        client: &OAuthClient,
        secret_hash: Option<&[u8]>,
    ) -> StoreResult<()> {
        let taken = || StoreError::conflict(Entity::Client, &client.id);
        let st = B::render(&q::insert(client, secret_hash));
        self.execute(st, |e| e.or_constraint(taken, taken)).await?;
        Ok(())
    }

    async fn get_client(&self, id: &str) -> StoreResult<Option<OAuthClient>> {
        match self.fetch_optional(B::render(&q::select_by_id(id))).await? {
            Some(row) => Ok(Some(client_from_row(&row)?)),
            None => Ok(None),
        }
    }

    async fn client_with_secrets(
        &self,
        id: &str,
    ) -> StoreResult<Option<(OAuthClient, ClientSecrets)>> {
        match self
            .fetch_optional(B::render(&q::select_with_secrets(id)))
            .await?
        {
            Some(row) => Ok(Some((client_from_row(&row)?, secrets_from_row(&row)?))),
            None => Ok(None),
        }
    }

    async fn list_clients(&self, page: &PageRequest) -> StoreResult<Page<OAuthClient>> {
        let st = B::render(&q::list(page.after.as_deref(), probe_limit(page)));
        let clients = self
            .fetch_all(st)
            .await?
            .iter()
            .map(client_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(finish_page(clients, page, |c| c.id.clone()))
    }

    async fn update_client(&self, client: &OAuthClient) -> StoreResult<OAuthClient> {
        self.update_client_row(&client.id, q::update(client)).await
    }

    async fn set_client_secret(
        &self,
        id: &str,
        hash: &[u8],
        previous_until: Option<Millis>,
    ) -> StoreResult<OAuthClient> {
        self.update_client_row(id, q::set_secret(id, hash, previous_until))
            .await
    }

    async fn set_client_disabled(&self, id: &str, disabled: bool) -> StoreResult<OAuthClient> {
        self.update_client_row(id, q::set_disabled(id, disabled))
            .await
    }

    async fn delete_client(&self, id: &str, now: Millis) -> StoreResult<u32> {
        self.write(async {
            let mut tx = self.backend.begin().await?;
            let outcome = async {
                // Its grants before their tokens, as a rotation locks them (see
                // `oauth::rotate_in`): a rotation racing this delete then ends nothing.
                tx.execute(B::render(&super::schema::oauth::revoke_grants(
                    None,
                    Some((id, None)),
                    now,
                )))
                .await?;
                let revoked = tx
                    .execute(B::render_replanned(
                        &super::schema::oauth::revoke_client_tokens(id, None, now),
                    ))
                    .await?;
                if tx.execute(B::render(&q::delete(id))).await? == 0 {
                    return Err(StoreError::not_found(Entity::Client, id));
                }
                audit_in::<B, _>(&mut tx).await?;
                Ok(to_u32(revoked))
            }
            .await;
            finish(tx, outcome).await
        })
        .await
    }
}
