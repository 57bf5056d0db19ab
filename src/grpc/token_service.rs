//! `tessera.v1.TokenService`.

use std::sync::Arc;

use prost::Message;
use tonic::{Request, Response, Status};

use super::convert::{duration, opt_timestamp, timestamp};
use super::{caller, oauth_grants};
use crate::domain::app::oauth::GrantTarget;
use crate::domain::app::{App, AuthorizeInput, CheckVia, LoginInput, RevokeTarget, TokenSpec};
use crate::domain::error::Error;
use crate::proto::v1 as pb;
use crate::proto::v1::token_service_server::TokenService;

/// Largest request accepted, not counting the token being checked.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Largest bearer token a check reads, so that a garbage token of up to a mebibyte still
/// gets the 401 decision a gateway can pass on, rather than a transport error.
pub const MAX_TOKEN_BYTES: usize = 1024 * 1024;
/// Largest message of a call that carries a token to check: the token, its field's tag and
/// length, and [`MAX_REQUEST_BYTES`] of everything else.
pub const MAX_TOKEN_MESSAGE_BYTES: usize = MAX_TOKEN_BYTES + 16 + MAX_REQUEST_BYTES;

/// Refuses requests whose fields other than the checked token exceed [`MAX_REQUEST_BYTES`],
/// with the same code tonic gives for messages over its decoding limit (OUT_OF_RANGE).
fn limit_size(message_len: usize, token_len: usize) -> Result<(), Status> {
    if message_len.saturating_sub(token_len) > MAX_REQUEST_BYTES {
        Err(Status::out_of_range("request larger than 64 KiB"))
    } else {
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct TokenApi {
    app: Arc<App>,
}

impl TokenApi {
    pub fn new(app: Arc<App>) -> TokenApi {
        TokenApi { app }
    }
}

fn record_token(kind: &str, token_id: &str) {
    let span = tracing::Span::current();
    span.record("kind", kind);
    span.record("token_id", token_id);
}

#[tonic::async_trait]
impl TokenService for TokenApi {
    async fn issue(
        &self,
        request: Request<pb::IssueRequest>,
    ) -> Result<Response<pb::IssueResponse>, Status> {
        limit_size(request.get_ref().encoded_len(), 0)?;
        // A login and the OAuth grants need no caller credential.
        use pb::issue_request::Grant as G;
        let open = matches!(
            request.get_ref().grant,
            Some(
                G::Password(_)
                    | G::AuthorizationCode(_)
                    | G::RefreshToken(_)
                    | G::ClientCredentials(_)
            )
        );
        let caller = match open {
            true => None,
            false => Some(caller(&self.app, &request).await?),
        };
        let grant = match (request.into_inner().grant, caller) {
            (Some(G::AuthorizationCode(g)), _) => {
                return oauth_grants::exchange(&self.app, g).await;
            }
            (Some(G::RefreshToken(g)), _) => return oauth_grants::refresh(&self.app, g).await,
            (Some(G::ClientCredentials(g)), _) => {
                return oauth_grants::client_credentials(&self.app, g).await;
            }
            (Some(pb::issue_request::Grant::Password(g)), _) => {
                let issued = self
                    .app
                    .login(LoginInput {
                        ttl: duration("password.ttl", g.ttl)?,
                        username: g.username,
                        password: g.password,
                        totp_code: g.totp_code,
                    })
                    .await?;
                record_token(issued.kind.as_str(), &issued.token_id);
                return Ok(Response::new(issued.into()));
            }
            (Some(pb::issue_request::Grant::ApiKey(g)), Some(caller)) => (
                TokenSpec::ApiKey {
                    ttl: duration("api_key.ttl", g.ttl)?,
                    name: g.name,
                    scopes: g.scopes,
                    read_only: g.read_only,
                    subject: g.subject,
                },
                caller,
            ),
            (Some(pb::issue_request::Grant::Pat(g)), Some(caller)) => (
                TokenSpec::Pat {
                    ttl: duration("pat.ttl", g.ttl)?,
                    name: g.name,
                    role: g.role,
                    read_only: g.read_only,
                },
                caller,
            ),
            (None, _) => {
                return Err(Error::invalid(
                    "grant",
                    "set one of api_key, pat, password, authorization_code, refresh_token or \
                     client_credentials",
                )
                .into());
            }
            (_, None) => return Err(Error::Unauthenticated.into()),
        };
        let (spec, caller) = grant;
        let issued = self.app.issue(&caller, spec).await?;
        record_token(issued.kind.as_str(), &issued.token_id);
        tracing::info!(token_id = %issued.token_id, kind = %issued.kind, "token issued");
        Ok(Response::new(issued.into()))
    }

    async fn get_jwks(
        &self,
        _request: Request<pb::GetJwksRequest>,
    ) -> Result<Response<pb::GetJwksResponse>, Status> {
        let keys = self.app.jwks().await?;
        Ok(Response::new(pb::GetJwksResponse {
            keys: keys.into_iter().map(Into::into).collect(),
        }))
    }

    async fn introspect(
        &self,
        request: Request<pb::IntrospectRequest>,
    ) -> Result<Response<pb::IntrospectResponse>, Status> {
        limit_size(
            request.get_ref().encoded_len(),
            request.get_ref().token.len(),
        )?;
        let caller = caller(&self.app, &request).await?;
        let answer = match self
            .app
            .introspect(&caller, &request.get_ref().token)
            .await?
        {
            None => pb::IntrospectResponse::default(),
            Some(i) => {
                record_token(i.kind.as_str(), &i.token_id);
                pb::IntrospectResponse {
                    active: true,
                    token_id: i.token_id,
                    kind: i.kind.as_str().to_owned(),
                    subject: i.subject,
                    scopes: i.scopes,
                    read_only: i.read_only,
                    role: i.role.unwrap_or_default(),
                    issued_at: Some(timestamp(i.issued_at)),
                    expires_at: opt_timestamp(i.expires_at),
                    client_id: i.client_id.unwrap_or_default(),
                }
            }
        };
        tracing::Span::current().record(
            "decision",
            if answer.active { "active" } else { "inactive" },
        );
        Ok(Response::new(answer))
    }

    async fn rotate(
        &self,
        request: Request<pb::RotateRequest>,
    ) -> Result<Response<pb::IssueResponse>, Status> {
        let caller = caller(&self.app, &request).await?;
        let req = request.into_inner();
        let overlap = super::convert::duration("overlap", req.overlap)?;
        let issued = self.app.rotate(&caller, &req.token_id, overlap).await?;
        record_token(issued.kind.as_str(), &issued.token_id);
        Ok(Response::new(issued.into()))
    }

    async fn revoke(
        &self,
        request: Request<pb::RevokeRequest>,
    ) -> Result<Response<pb::RevokeResponse>, Status> {
        let token_len = match &request.get_ref().target {
            Some(pb::revoke_request::Target::Token(t)) => t.len(),
            _ => 0,
        };
        limit_size(request.get_ref().encoded_len(), token_len)?;
        let caller = caller(&self.app, &request).await?;
        let target = match request.into_inner().target {
            Some(pb::revoke_request::Target::Token(t)) => RevokeTarget::Token(t),
            Some(pb::revoke_request::Target::TokenId(id)) => RevokeTarget::TokenId(id),
            Some(pb::revoke_request::Target::Subject(s)) => RevokeTarget::Subject(s),
            Some(pb::revoke_request::Target::ClientId(c)) => {
                RevokeTarget::App(GrantTarget::Client(c))
            }
            Some(pb::revoke_request::Target::Grant(g)) => RevokeTarget::App(GrantTarget::Grant {
                client_id: g.client_id,
                subject: g.subject,
            }),
            None => {
                return Err(Error::invalid(
                    "target",
                    "set one of token, token_id, subject, client_id or grant",
                )
                .into());
            }
        };
        let revoked = self.app.revoke(&caller, target).await?;
        if revoked > 0 {
            tracing::info!(revoked, caller = %caller.token_id(), "tokens revoked");
        }
        Ok(Response::new(pb::RevokeResponse { revoked }))
    }

    async fn authorize(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        limit_size(
            request.get_ref().encoded_len(),
            request.get_ref().token.len(),
        )?;
        let caller = caller(&self.app, &request).await?;
        let req = request.into_inner();
        let matching = pb::Match::try_from(req.r#match)
            .map_err(|_| Error::invalid("match", "must be MATCH_ALL or MATCH_ANY"))?;
        let input = AuthorizeInput {
            match_any: matching == pb::Match::Any,
            token: req.token,
            required: req.required_scopes,
            mutating: req.mutating,
        };
        let out = self.app.check(CheckVia::Authorize, &caller, &input).await?;
        let span = tracing::Span::current();
        span.record("decision", out.decision.as_str());
        if let Some(kind) = out.kind {
            record_token(kind.as_str(), &out.token_id);
        }
        let decision = match out.decision {
            crate::domain::app::Decision::Allow => pb::Decision::Allow,
            crate::domain::app::Decision::Unauthenticated => pb::Decision::Unauthenticated,
            crate::domain::app::Decision::PermissionDenied => pb::Decision::PermissionDenied,
        };
        Ok(Response::new(pb::AuthorizeResponse {
            decision: decision.into(),
            http_status: out.decision.http_status(),
            subject: out.subject,
            token_id: out.token_id,
            missing_scopes: out.missing,
            reason: out.reason.to_owned(),
            expires_at: opt_timestamp(out.expires_at),
        }))
    }
}
