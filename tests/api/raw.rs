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

/// A request body that sends one chunk and then never ends.
struct HalfSent(Option<bytes::Bytes>);

impl http_body::Body for HalfSent {
    type Data = bytes::Bytes;
    type Error = tonic::Status;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, tonic::Status>>> {
        match self.0.take() {
            Some(chunk) => std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk)))),
            None => std::task::Poll::Pending,
        }
    }
}

/// Starts a call to `method` whose message declares `declared` bytes but sends only `sent`
/// of them (zeros), then nothing more: a generated client cannot send such a body. The
/// task's output is the status the server answered with (OK if it answered without one).
pub fn half_sent_call(
    mut channel: tonic::transport::Channel,
    credential: &str,
    method: &'static str,
    declared: u32,
    sent: usize,
) -> tokio::task::JoinHandle<tonic::Status> {
    let mut chunk = Vec::with_capacity(5 + sent);
    chunk.push(0);
    chunk.extend_from_slice(&declared.to_be_bytes());
    chunk.resize(5 + sent, 0);
    let request = tonic::codegen::http::Request::post(method)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {credential}"))
        .body(tonic::body::Body::new(HalfSent(Some(chunk.into()))))
        .expect("request");
    tokio::spawn(async move {
        use tonic::codegen::Service;
        let unavailable = |e: tonic::transport::Error| tonic::Status::unavailable(e.to_string());
        if let Err(e) = std::future::poll_fn(|cx| channel.poll_ready(cx)).await {
            return unavailable(e);
        }
        let response = match channel.call(request).await {
            Ok(response) => response,
            Err(e) => return unavailable(e),
        };
        if let Some(status) = tonic::Status::from_header_map(response.headers()) {
            return status;
        }
        let mut body = response.into_body();
        loop {
            match std::future::poll_fn(|cx| {
                http_body::Body::poll_frame(std::pin::Pin::new(&mut body), cx)
            })
            .await
            {
                Some(Ok(frame)) => {
                    if let Some(status) = frame
                        .trailers_ref()
                        .and_then(tonic::Status::from_header_map)
                    {
                        return status;
                    }
                }
                Some(Err(status)) => return status,
                None => return tonic::Status::ok(""),
            }
        }
    })
}
