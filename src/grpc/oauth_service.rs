//! `tessera.v1.OAuthService`: the consent page's calls, with the approving user's
//! credential in metadata.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::caller;
use super::convert::opt_timestamp;
use crate::domain::app::App;
use crate::domain::app::oauth::AuthorizationRequest;
use crate::proto::v1 as pb;
use crate::proto::v1::o_auth_service_server::OAuthService;

#[derive(Debug, Clone)]
pub struct OAuthApi {
    app: Arc<App>,
}

impl OAuthApi {
    pub fn new(app: Arc<App>) -> OAuthApi {
        OAuthApi { app }
    }
}

#[tonic::async_trait]
impl OAuthService for OAuthApi {
    async fn approve_authorization(
        &self,
        request: Request<pb::ApproveAuthorizationRequest>,
    ) -> Result<Response<pb::ApproveAuthorizationResponse>, Status> {
        let caller = caller(&self.app, &request).await?;
        let r = request.into_inner();
        let approval = self
            .app
            .approve_authorization(
                &caller,
                AuthorizationRequest {
                    client_id: r.client_id,
                    redirect_uri: r.redirect_uri,
                    response_type: r.response_type,
                    scopes: r.scopes,
                    state: r.state,
                    code_challenge: r.code_challenge,
                    code_challenge_method: r.code_challenge_method,
                },
            )
            .await?;
        Ok(Response::new(pb::ApproveAuthorizationResponse {
            redirect_url: approval.redirect_url,
            code: approval.code.unwrap_or_default(),
            expires_at: opt_timestamp(approval.expires_at),
            scopes: approval.scopes,
            error: approval
                .error
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
        }))
    }

    async fn deny_authorization(
        &self,
        request: Request<pb::DenyAuthorizationRequest>,
    ) -> Result<Response<pb::DenyAuthorizationResponse>, Status> {
        let caller = caller(&self.app, &request).await?;
        let r = request.get_ref();
        let denial = self
            .app
            .deny_authorization(&caller, &r.client_id, &r.redirect_uri, &r.state)
            .await?;
        Ok(Response::new(pb::DenyAuthorizationResponse {
            redirect_url: denial.redirect_url,
        }))
    }
}
