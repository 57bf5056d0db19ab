//! The app registry's calls of `tessera.v1.AdminService` (OAuth clients); the service's
//! trait methods forward here.

use tonic::{Request, Response, Status};

use super::caller;
use crate::domain::app::{App, ClientSpec, ClientUpdate, page_request};
use crate::domain::error::Error;
use crate::domain::oauth_client::ClientType;
use crate::domain::ports::GrantFilter;
use crate::proto::v1 as pb;

type Reply<T> = Result<Response<T>, Status>;

fn client_type(value: i32) -> Option<ClientType> {
    match pb::ClientType::try_from(value) {
        Ok(pb::ClientType::Public) => Some(ClientType::Public),
        Ok(pb::ClientType::Confidential) => Some(ClientType::Confidential),
        _ => None,
    }
}

pub(super) async fn create(
    app: &App,
    request: Request<pb::CreateClientRequest>,
) -> Reply<pb::CreateClientResponse> {
    let caller = caller(app, &request).await?;
    let r = request.into_inner();
    let spec = ClientSpec {
        name: r.name,
        client_type: client_type(r.r#type),
        redirect_uris: r.redirect_uris,
        scopes: r.scopes,
        grant_types: r.grant_types,
    };
    let (change, secret) = app.create_client(&caller, spec).await?;
    tracing::info!(client = %change.client.id, caller = %caller.token_id(), "client created");
    Ok(Response::new(pb::CreateClientResponse {
        client: Some(change.client.into()),
        client_secret: secret.unwrap_or_default(),
        stripped_scopes: change.stripped,
    }))
}

pub(super) async fn get(app: &App, request: Request<pb::GetClientRequest>) -> Reply<pb::Client> {
    let caller = caller(app, &request).await?;
    let client = app
        .get_client(&caller, &request.get_ref().client_id)
        .await?;
    Ok(Response::new(client.into()))
}

pub(super) async fn list(
    app: &App,
    request: Request<pb::ListClientsRequest>,
) -> Reply<pb::ListClientsResponse> {
    let caller = caller(app, &request).await?;
    let r = request.get_ref();
    let page = app
        .list_clients(&caller, &page_request(r.page_size, &r.page_token))
        .await?;
    Ok(Response::new(pb::ListClientsResponse {
        clients: page.items.into_iter().map(Into::into).collect(),
        next_page_token: page.next.unwrap_or_default(),
    }))
}

pub(super) async fn list_grants(
    app: &App,
    request: Request<pb::ListGrantsRequest>,
) -> Reply<pb::ListGrantsResponse> {
    let caller = caller(app, &request).await?;
    let r = request.into_inner();
    let filter = GrantFilter {
        subject: (!r.subject.is_empty()).then_some(r.subject),
        client_id: (!r.client_id.is_empty()).then_some(r.client_id),
    };
    let page = app
        .list_grants(&caller, filter, &page_request(r.page_size, &r.page_token))
        .await?;
    Ok(Response::new(pb::ListGrantsResponse {
        grants: page.items.into_iter().map(Into::into).collect(),
        next_page_token: page.next.unwrap_or_default(),
    }))
}

/// The fields UpdateClient replaces: those the mask names, or without a mask those given
/// non-empty (AIP-134).
fn update_of(r: pb::UpdateClientRequest) -> Result<ClientUpdate, Error> {
    let paths: Vec<String> = match r.update_mask {
        Some(mask) if !mask.paths.is_empty() => mask.paths,
        _ => {
            let given = [
                ("name", !r.name.is_empty()),
                ("redirect_uris", !r.redirect_uris.is_empty()),
                ("scopes", !r.scopes.is_empty()),
                ("grant_types", !r.grant_types.is_empty()),
            ];
            given
                .into_iter()
                .filter(|(_, set)| *set)
                .map(|(p, _)| p.to_owned())
                .collect()
        }
    };
    let mut update = ClientUpdate {
        client_id: r.client_id,
        ..ClientUpdate::default()
    };
    for (i, path) in paths.iter().enumerate() {
        match path.as_str() {
            "name" => update.name = Some(r.name.clone()),
            "redirect_uris" => update.redirect_uris = Some(r.redirect_uris.clone()),
            "scopes" => update.scopes = Some(r.scopes.clone()),
            "grant_types" => update.grant_types = Some(r.grant_types.clone()),
            _ => {
                return Err(Error::invalid(
                    format!("update_mask.paths[{i}]"),
                    "one of name, redirect_uris, scopes, grant_types",
                ));
            }
        }
    }
    Ok(update)
}

pub(super) async fn update(
    app: &App,
    request: Request<pb::UpdateClientRequest>,
) -> Reply<pb::UpdateClientResponse> {
    let caller = caller(app, &request).await?;
    let change = app
        .update_client(&caller, update_of(request.into_inner())?)
        .await?;
    tracing::info!(client = %change.client.id, caller = %caller.token_id(), "client updated");
    Ok(Response::new(pb::UpdateClientResponse {
        client: Some(change.client.into()),
        stripped_scopes: change.stripped,
    }))
}

pub(super) async fn rotate_secret(
    app: &App,
    request: Request<pb::RotateClientSecretRequest>,
) -> Reply<pb::RotateClientSecretResponse> {
    let caller = caller(app, &request).await?;
    let new = app
        .rotate_client_secret(&caller, &request.get_ref().client_id)
        .await?;
    tracing::info!(client = %new.client.id, caller = %caller.token_id(), "client secret rotated");
    Ok(Response::new(pb::RotateClientSecretResponse {
        client: Some(new.client.into()),
        client_secret: new.secret,
    }))
}

pub(super) async fn set_disabled(
    app: &App,
    caller_of: &Request<impl Send>,
    client_id: &str,
    disabled: bool,
) -> Reply<pb::Client> {
    let caller = caller(app, caller_of).await?;
    let client = app
        .set_client_disabled(&caller, client_id, disabled)
        .await?;
    tracing::info!(client = %client.id, disabled, caller = %caller.token_id(), "client state set");
    Ok(Response::new(client.into()))
}

pub(super) async fn delete(
    app: &App,
    request: Request<pb::DeleteClientRequest>,
) -> Reply<pb::DeleteClientResponse> {
    let caller = caller(app, &request).await?;
    let id = &request.get_ref().client_id;
    let revoked = app.delete_client(&caller, id).await?;
    tracing::info!(client = %id, revoked, caller = %caller.token_id(), "client deleted");
    Ok(Response::new(pb::DeleteClientResponse { revoked }))
}
