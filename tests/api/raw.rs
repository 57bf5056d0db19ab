//! Calls no generated client would make: raw request bodies, and requests whose body never
//! ends (to hold a call in flight).

use bytes::{Buf, BufMut};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;

/// Sends request bodies as given, so a test can send bytes no generated client would.
#[derive(Clone, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let body = buf.chunk().to_vec();
        buf.advance(body.len());
        Ok(Some(body))
    }
}

/// Starts a call to `method` whose request body never comes, so the server holds it in
/// flight (waiting for the message) until the returned task is aborted or the server's
/// request timeout ends it. The task's output is the call's outcome.
pub fn held_call(
    channel: tonic::transport::Channel,
    credential: &str,
    method: &'static str,
) -> tokio::task::JoinHandle<Result<Vec<u8>, tonic::Status>> {
    let request = crate::helpers::authed(credential, tokio_stream::pending::<Vec<u8>>());
    tokio::spawn(async move {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        grpc.client_streaming(request, PathAndQuery::from_static(method), RawCodec)
            .await
            .map(tonic::Response::into_inner)
    })
}
