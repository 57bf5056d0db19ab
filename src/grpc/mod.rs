//! gRPC: thin service implementations over [`crate::domain::app::App`].
//!
//! Handlers authenticate the caller from metadata, convert the request, call one use case and
//! convert the answer back. Errors become statuses in exactly one place ([`status`]).

mod account_service;
mod admin_service;
mod caller_first;
mod client_registry;
mod convert;
mod envoy_authz;
mod envoy_server;
mod envoy_wire;
mod message_limits;
mod oauth_grants;
mod oauth_service;
mod status;
mod token_service;

pub use account_service::AccountApi;
pub use admin_service::AdminApi;
pub use caller_first::CallerFirstLayer;
pub use envoy_authz::EnvoyAuthzApi;
pub use envoy_server::EnvoyAuthzServer;
pub use message_limits::{ENVOY_CHECK_BYTES, LargeMessages};
pub use oauth_service::OAuthApi;
pub use token_service::{MAX_TOKEN_MESSAGE_BYTES, TokenApi};

use tonic::Request;

use crate::domain::app::{App, Caller};
use crate::domain::error::Result;

/// The caller: as `caller_first` authenticated it from the headers, or else from
/// `authorization` metadata (`Bearer <token>`, any case).
async fn caller<T>(app: &App, request: &Request<T>) -> Result<Caller> {
    if let Some(caller) = request.extensions().get::<Caller>() {
        tracing::Span::current().record("caller", caller.token_id());
        return Ok(caller.clone());
    }
    let credential = request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let caller = app.authenticate(credential).await?;
    tracing::Span::current().record("caller", caller.token_id());
    Ok(caller)
}
