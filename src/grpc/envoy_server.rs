//! The `envoy.service.auth.v3.Authorization` service, served by hand rather than by the
//! generated server: the same routing, limits and status handling, but the request is taken
//! as its bytes and read by [`super::envoy_wire`] (no allocation per header), while the
//! answer is prost's `CheckResponse`. Clients (Envoy, the tests, the bench) see the same
//! service and messages; reflection publishes the same descriptors.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{BoxFuture, Service, http};

use super::envoy_authz::EnvoyAuthzApi;
use crate::proto::envoy_api::envoy::service::auth::v3::CheckResponse;

const CHECK_PATH: &str = "/envoy.service.auth.v3.Authorization/Check";

/// A Check request as received: its encoding, read on demand.
#[derive(Debug, Clone)]
pub struct CheckBytes(pub Bytes);

/// Decodes a request to its bytes, encodes a `CheckResponse` with prost.
#[derive(Debug, Clone, Copy, Default)]
struct CheckCodec;

impl Codec for CheckCodec {
    type Encode = CheckResponse;
    type Decode = CheckBytes;
    type Encoder = CheckCodec;
    type Decoder = CheckCodec;
    fn encoder(&mut self) -> CheckCodec {
        CheckCodec
    }
    fn decoder(&mut self) -> CheckCodec {
        CheckCodec
    }
}

impl Encoder for CheckCodec {
    type Item = CheckResponse;
    type Error = tonic::Status;
    fn encode(&mut self, item: CheckResponse, buf: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(buf)
            .map_err(|e| tonic::Status::internal(format!("encoding the answer: {e}")))
    }
}

impl Decoder for CheckCodec {
    type Item = CheckBytes;
    type Error = tonic::Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<CheckBytes>, Self::Error> {
        Ok(Some(CheckBytes(buf.copy_to_bytes(buf.remaining()))))
    }
}

/// The service, for `Server::add_service`.
#[derive(Debug, Clone)]
pub struct EnvoyAuthzServer {
    api: Arc<EnvoyAuthzApi>,
    max_decoding: usize,
}

impl EnvoyAuthzServer {
    pub fn new(api: EnvoyAuthzApi, max_decoding: usize) -> EnvoyAuthzServer {
        EnvoyAuthzServer {
            api: Arc::new(api),
            max_decoding,
        }
    }
}

impl tonic::server::NamedService for EnvoyAuthzServer {
    const NAME: &'static str = "envoy.service.auth.v3.Authorization";
}

struct CheckSvc(Arc<EnvoyAuthzApi>);

impl tonic::server::UnaryService<CheckBytes> for CheckSvc {
    type Response = CheckResponse;
    type Future = BoxFuture<tonic::Response<CheckResponse>, tonic::Status>;
    fn call(&mut self, request: tonic::Request<CheckBytes>) -> Self::Future {
        let api = self.0.clone();
        Box::pin(async move { api.check(request).await })
    }
}

impl<B> Service<http::Request<B>> for EnvoyAuthzServer
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() != CHECK_PATH {
            return Box::pin(async {
                Ok(tonic::Status::unimplemented("no such method").into_http())
            });
        }
        let svc = CheckSvc(self.api.clone());
        let max = self.max_decoding;
        Box::pin(async move {
            let mut grpc =
                tonic::server::Grpc::new(CheckCodec).apply_max_message_size_config(Some(max), None);
            Ok(grpc.unary(svc, req).await)
        })
    }
}
