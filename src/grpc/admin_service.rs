//! `tessera.v1.AdminService`: roles, users and token listings.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{caller, client_registry as clients, convert};
use crate::domain::app::{App, AuditListing, page_request};
use crate::proto::v1 as pb;
use crate::proto::v1::admin_service_server::AdminService;

#[derive(Debug, Clone)]
pub struct AdminApi {
    app: Arc<App>,
}

impl AdminApi {
    pub fn new(app: Arc<App>) -> AdminApi {
        AdminApi { app }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn create_role(&self, request: Request<pb::CreateRoleRequest>) -> Reply<pb::Role> {
        let caller = caller(&self.app, &request).await?;
        let r = request.into_inner();
        let role = self
            .app
            .create_role(&caller, r.name, &r.permissions, r.description)
            .await?;
        tracing::info!(role = %role.name, caller = %caller.token_id(), "role created");
        Ok(Response::new(role.into()))
    }

    async fn set_role_permissions(
        &self,
        request: Request<pb::SetRolePermissionsRequest>,
    ) -> Reply<pb::Role> {
        let caller = caller(&self.app, &request).await?;
        let r = request.get_ref();
        let role = self
            .app
            .set_role_permissions(&caller, &r.name, &r.permissions)
            .await?;
        tracing::info!(role = %role.name, caller = %caller.token_id(), "role permissions set");
        Ok(Response::new(role.into()))
    }

    async fn get_role(&self, request: Request<pb::GetRoleRequest>) -> Reply<pb::Role> {
        let caller = caller(&self.app, &request).await?;
        let role = self.app.get_role(&caller, &request.get_ref().name).await?;
        Ok(Response::new(role.into()))
    }

    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Reply<pb::ListRolesResponse> {
        let caller = caller(&self.app, &request).await?;
        let r = request.get_ref();
        let page = self
            .app
            .list_roles(&caller, &page_request(r.page_size, &r.page_token))
            .await?;
        Ok(Response::new(pb::ListRolesResponse {
            roles: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next.unwrap_or_default(),
        }))
    }

    async fn delete_role(
        &self,
        request: Request<pb::DeleteRoleRequest>,
    ) -> Reply<pb::DeleteRoleResponse> {
        let caller = caller(&self.app, &request).await?;
        self.app
            .delete_role(&caller, &request.get_ref().name)
            .await?;
        tracing::info!(role = %request.get_ref().name, caller = %caller.token_id(), "role deleted");
        Ok(Response::new(pb::DeleteRoleResponse {}))
    }

    async fn create_user(&self, request: Request<pb::CreateUserRequest>) -> Reply<pb::User> {
        let caller = caller(&self.app, &request).await?;
        let r = request.into_inner();
        let user = self.app.create_user(&caller, r.name, &r.roles).await?;
        tracing::info!(user = %user.id, caller = %caller.token_id(), "user created");
        Ok(Response::new(user.into()))
    }

    async fn set_user_roles(&self, request: Request<pb::SetUserRolesRequest>) -> Reply<pb::User> {
        let caller = caller(&self.app, &request).await?;
        let r = request.get_ref();
        let user = self.app.set_user_roles(&caller, &r.id, &r.roles).await?;
        tracing::info!(user = %user.id, caller = %caller.token_id(), "user roles set");
        Ok(Response::new(user.into()))
    }

    async fn disable_user(&self, request: Request<pb::DisableUserRequest>) -> Reply<pb::User> {
        let caller = caller(&self.app, &request).await?;
        let user = self
            .app
            .set_user_disabled(&caller, &request.get_ref().id, true)
            .await?;
        tracing::info!(user = %user.id, caller = %caller.token_id(), "user disabled");
        Ok(Response::new(user.into()))
    }

    async fn enable_user(&self, request: Request<pb::EnableUserRequest>) -> Reply<pb::User> {
        let caller = caller(&self.app, &request).await?;
        let user = self
            .app
            .set_user_disabled(&caller, &request.get_ref().id, false)
            .await?;
        tracing::info!(user = %user.id, caller = %caller.token_id(), "user enabled");
        Ok(Response::new(user.into()))
    }

    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Reply<pb::User> {
        let caller = caller(&self.app, &request).await?;
        let user = self.app.get_user(&caller, &request.get_ref().id).await?;
        Ok(Response::new(user.into()))
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Reply<pb::ListAuditEventsResponse> {
        let caller = caller(&self.app, &request).await?;
        let r = request.into_inner();
        let listing = AuditListing {
            since: convert::opt_millis("since", r.since)?,
            until: convert::opt_millis("until", r.until)?,
            subject: r.subject,
            action: r.action,
            page_size: r.page_size,
            page_token: r.page_token,
        };
        let page = self.app.list_audit_events(&caller, &listing).await?;
        Ok(Response::new(pb::ListAuditEventsResponse {
            events: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next.unwrap_or_default(),
        }))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Reply<pb::ListUsersResponse> {
        let caller = caller(&self.app, &request).await?;
        let r = request.get_ref();
        let page = self
            .app
            .list_users(&caller, &page_request(r.page_size, &r.page_token))
            .await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next.unwrap_or_default(),
        }))
    }

    async fn list_tokens(
        &self,
        request: Request<pb::ListTokensRequest>,
    ) -> Reply<pb::ListTokensResponse> {
        let caller = caller(&self.app, &request).await?;
        let r = request.get_ref();
        let page = self
            .app
            .list_tokens(
                &caller,
                &r.subject,
                &page_request(r.page_size, &r.page_token),
            )
            .await?;
        Ok(Response::new(pb::ListTokensResponse {
            tokens: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next.unwrap_or_default(),
        }))
    }

    async fn set_user_password(
        &self,
        request: Request<pb::SetUserPasswordRequest>,
    ) -> Reply<pb::User> {
        let caller = caller(&self.app, &request).await?;
        let r = request.into_inner();
        let user = self
            .app
            .set_user_password(&caller, &r.id, r.password)
            .await?;
        Ok(Response::new(user.into()))
    }

    async fn reset_user_totp(&self, request: Request<pb::ResetUserTotpRequest>) -> Reply<pb::User> {
        let caller = caller(&self.app, &request).await?;
        let user = self
            .app
            .reset_user_totp(&caller, &request.get_ref().id)
            .await?;
        Ok(Response::new(user.into()))
    }

    async fn rotate_signing_key(
        &self,
        request: Request<pb::RotateSigningKeyRequest>,
    ) -> Reply<pb::RotateSigningKeyResponse> {
        let caller = caller(&self.app, &request).await?;
        let kid = self.app.rotate_signing_key_as(&caller).await?;
        Ok(Response::new(pb::RotateSigningKeyResponse { kid }))
    }

    async fn create_client(
        &self,
        request: Request<pb::CreateClientRequest>,
    ) -> Reply<pb::CreateClientResponse> {
        clients::create(&self.app, request).await
    }

    async fn get_client(&self, request: Request<pb::GetClientRequest>) -> Reply<pb::Client> {
        clients::get(&self.app, request).await
    }

    async fn list_clients(
        &self,
        request: Request<pb::ListClientsRequest>,
    ) -> Reply<pb::ListClientsResponse> {
        clients::list(&self.app, request).await
    }

    async fn list_grants(
        &self,
        request: Request<pb::ListGrantsRequest>,
    ) -> Reply<pb::ListGrantsResponse> {
        clients::list_grants(&self.app, request).await
    }

    async fn update_client(
        &self,
        request: Request<pb::UpdateClientRequest>,
    ) -> Reply<pb::UpdateClientResponse> {
        clients::update(&self.app, request).await
    }

    async fn rotate_client_secret(
        &self,
        request: Request<pb::RotateClientSecretRequest>,
    ) -> Reply<pb::RotateClientSecretResponse> {
        clients::rotate_secret(&self.app, request).await
    }

    async fn disable_client(
        &self,
        request: Request<pb::DisableClientRequest>,
    ) -> Reply<pb::Client> {
        clients::set_disabled(&self.app, &request, &request.get_ref().client_id, true).await
    }

    async fn enable_client(&self, request: Request<pb::EnableClientRequest>) -> Reply<pb::Client> {
        clients::set_disabled(&self.app, &request, &request.get_ref().client_id, false).await
    }

    async fn delete_client(
        &self,
        request: Request<pb::DeleteClientRequest>,
    ) -> Reply<pb::DeleteClientResponse> {
        clients::delete(&self.app, request).await
    }
}
