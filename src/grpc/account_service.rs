//! `tessera.v1.AccountService`: the caller's own password and TOTP.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::caller;
use crate::domain::app::App;
use crate::proto::v1 as pb;
use crate::proto::v1::account_service_server::AccountService;

#[derive(Debug, Clone)]
pub struct AccountApi {
    app: Arc<App>,
}

impl AccountApi {
    pub fn new(app: Arc<App>) -> AccountApi {
        AccountApi { app }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl AccountService for AccountApi {
    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Reply<pb::User> {
        let caller = caller(&self.app, &request).await?;
        let r = request.into_inner();
        let user = self
            .app
            .change_password(&caller, r.current_password, r.new_password)
            .await?;
        Ok(Response::new(user.into()))
    }

    async fn enroll_totp(
        &self,
        request: Request<pb::EnrollTotpRequest>,
    ) -> Reply<pb::EnrollTotpResponse> {
        let caller = caller(&self.app, &request).await?;
        let enrolled = self.app.enroll_totp(&caller).await?;
        Ok(Response::new(pb::EnrollTotpResponse {
            secret: enrolled.secret,
            otpauth_uri: enrolled.otpauth_uri,
        }))
    }

    async fn confirm_totp(&self, request: Request<pb::ConfirmTotpRequest>) -> Reply<pb::User> {
        let caller = caller(&self.app, &request).await?;
        let user = self
            .app
            .confirm_totp(&caller, &request.get_ref().code)
            .await?;
        Ok(Response::new(user.into()))
    }

    async fn remove_totp(&self, request: Request<pb::RemoveTotpRequest>) -> Reply<pb::User> {
        let caller = caller(&self.app, &request).await?;
        let user = self.app.remove_totp(&caller).await?;
        Ok(Response::new(user.into()))
    }
}
