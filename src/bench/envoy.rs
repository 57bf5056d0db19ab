//! `envoy_check_warm`: Envoy's ext_authz `Check` for the warm PAT, with the headers a
//! request through a gateway typically carries, so the row compares with `authorize_warm`
//! and the empty call as Envoy would see it.

use std::collections::HashMap;

use bytes::{BufMut, Bytes};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use super::scenarios::{Fixture, REQUIRED, request};
use crate::proto::envoy_api::envoy::service::auth::v3::{
    AttributeContext, CheckRequest, attribute_context,
};
use crate::proto::envoy_api::google::rpc::Status as RpcStatus;

/// Of a `CheckResponse`, the one field the bench reads (`status`, field 1); prost skips the
/// rest unread. Envoy decodes the whole answer in its own process, so the bench client,
/// sharing the cores with the server, decodes no more than it needs, as it sends the
/// request pre-encoded.
#[derive(Clone, PartialEq, prost::Message)]
struct CheckStatus {
    #[prost(message, optional, tag = "1")]
    status: Option<RpcStatus>,
}

/// A GET as Envoy describes it: pseudo-headers, the usual client and proxy headers, and the
/// bearer token; the route needs what `authorize_warm` checks.
/// The request, encoded.
pub(super) fn encoded_check(token: &str) -> Bytes {
    Bytes::from(check_request(token).encode_to_vec())
}

fn check_request(token: &str) -> CheckRequest {
    let headers: HashMap<String, String> = [
        (":authority", "api.example.com"),
        (":method", "GET"),
        (":path", "/v1/contacts?limit=50"),
        (":scheme", "https"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, br"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0",
        ),
        ("x-forwarded-for", "203.0.113.7"),
        ("x-forwarded-proto", "https"),
        ("x-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([("authorization".to_owned(), format!("Bearer {token}"))])
    .collect();
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(attribute_context::Request {
                http: Some(attribute_context::HttpRequest {
                    id: "0f8fad5b-d9cb-469f-a165-70867728950e".to_owned(),
                    method: "GET".to_owned(),
                    path: "/v1/contacts?limit=50".to_owned(),
                    host: "api.example.com".to_owned(),
                    scheme: "https".to_owned(),
                    protocol: "HTTP/2".to_owned(),
                    headers,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            context_extensions: HashMap::from([("tessera.scopes".to_owned(), REQUIRED.join(" "))]),
            ..Default::default()
        }),
    }
}

/// One Check of the warm PAT; `true` when Envoy would let it through. The request is
/// encoded once and sent as those bytes (Envoy encodes it in its own process), so the bench
/// client's share of the two cores stays near the empty call's.
pub(super) async fn check_warm(fx: &Fixture, ch: Channel) -> bool {
    let Some(encoded) = fx.envoy_check.clone() else {
        return false;
    };
    let mut grpc = tonic::client::Grpc::new(ch);
    if grpc.ready().await.is_err() {
        return false;
    }
    let path = PathAndQuery::from_static("/envoy.service.auth.v3.Authorization/Check");
    match grpc
        .unary(request(fx.auth(), encoded), path, PreEncoded)
        .await
    {
        Ok(r) => r.get_ref().status.as_ref().is_some_and(|s| s.code == 0),
        Err(_) => false,
    }
}

/// Sends a request already encoded; decodes only the answer's status.
#[derive(Debug, Clone, Copy, Default)]
struct PreEncoded;

impl Codec for PreEncoded {
    type Encode = Bytes;
    type Decode = CheckStatus;
    type Encoder = PreEncoded;
    type Decoder = PreEncoded;
    fn encoder(&mut self) -> PreEncoded {
        PreEncoded
    }
    fn decoder(&mut self) -> PreEncoded {
        PreEncoded
    }
}

impl Encoder for PreEncoded {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, buf: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for PreEncoded {
    type Item = CheckStatus;
    type Error = tonic::Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<CheckStatus>, tonic::Status> {
        CheckStatus::decode(buf)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}
