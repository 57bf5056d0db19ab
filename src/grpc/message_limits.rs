//! Each RPC reads at most what it can legitimately carry.
//!
//! tonic's decoding limit is per service, and it reserves a buffer of the length a message
//! declares as soon as it reads the 5-byte gRPC prefix. This body wrapper sits in front of
//! it: it reads that prefix itself and refuses, before anything is buffered, a message
//! longer than its RPC's limit (OUT_OF_RANGE, tonic's code for an oversized message) or a
//! unary call that sends more than one message's worth of bytes.
//!
//! A check is small, but tessera promises the plain 401 decision for a garbage bearer token
//! of up to a mebibyte. Messages above [`SMALL`] therefore draw on one byte budget shared by
//! every call ([`LARGE_BUDGET`]); when it is spent, a large message is answered
//! RESOURCE_EXHAUSTED at once. What all clients together can pin in request buffers is thus
//! `--max-concurrent-requests` × [`SMALL`] plus the budget, whatever they send.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http_body::Frame;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic::body::Body;

use super::token_service::{MAX_REQUEST_BYTES, MAX_TOKEN_MESSAGE_BYTES};

/// The largest message that does not draw on the shared budget.
pub const SMALL: usize = MAX_REQUEST_BYTES;
/// Bytes that messages above [`SMALL`] may hold at once, across every call.
pub const LARGE_BUDGET: usize = 16 * 1024 * 1024;
/// The budget is counted in KiB, so that a permit count fits a `u32`.
const UNIT: usize = 1024;
/// gRPC's length prefix: a compression flag and a big-endian u32.
const PREFIX: usize = 5;

/// The largest message a method may carry; `None` for methods not limited here.
/// Largest ext_authz Check: the request's headers as Envoy forwards them (its own limit is
/// 60 KiB by default), with room to spare; a request body is not meant to be sent along.
pub const ENVOY_CHECK_BYTES: usize = 256 * 1024;

pub fn limit_for(path: &str) -> Option<usize> {
    if path == "/envoy.service.auth.v3.Authorization/Check" {
        return Some(ENVOY_CHECK_BYTES);
    }
    let method = path.strip_prefix("/tessera.v1.")?;
    Some(match method {
        // The token checked is not counted toward 64 KiB (see `token_service`).
        "TokenService/Authorize" | "TokenService/Introspect" | "TokenService/Revoke" => {
            MAX_TOKEN_MESSAGE_BYTES
        }
        _ => SMALL,
    })
}

/// Shared by every call on a server.
#[derive(Debug, Clone)]
pub struct LargeMessages {
    permits: Arc<Semaphore>,
}

impl LargeMessages {
    pub fn new(budget_bytes: usize) -> LargeMessages {
        LargeMessages {
            permits: Arc::new(Semaphore::new((budget_bytes / UNIT).max(1))),
        }
    }

    /// Wraps a unary request's body so it reads at most `limit` bytes of message.
    pub fn limit(&self, body: Body, limit: usize) -> Body {
        Body::new(Limited {
            inner: body,
            limit,
            prefix: [0; PREFIX],
            seen: 0,
            large: self.clone(),
            permit: None,
        })
    }

    fn reserve(&self, len: usize) -> Result<Option<OwnedSemaphorePermit>, Status> {
        if len <= SMALL {
            return Ok(None);
        }
        let units = u32::try_from(len.div_ceil(UNIT)).unwrap_or(u32::MAX);
        match self.permits.clone().try_acquire_many_owned(units) {
            Ok(permit) => Ok(Some(permit)),
            Err(_) => Err(Status::resource_exhausted(
                "too many large requests at once; retry with backoff",
            )),
        }
    }
}

struct Limited {
    inner: Body,
    limit: usize,
    /// The first bytes of the body, until the prefix is complete.
    prefix: [u8; PREFIX],
    /// Body bytes seen so far.
    seen: usize,
    large: LargeMessages,
    /// Held while a large message is being read, released when the body is dropped.
    permit: Option<OwnedSemaphorePermit>,
}

impl Limited {
    /// Looks at one data frame; an error ends the body.
    fn inspect(&mut self, data: &Bytes) -> Result<(), Status> {
        let before = self.seen;
        self.seen = self.seen.saturating_add(data.remaining());
        if before < PREFIX {
            let take = (PREFIX - before).min(data.len());
            self.prefix[before..before + take].copy_from_slice(&data[..take]);
            if before + take == PREFIX {
                let declared = u32::from_be_bytes([
                    self.prefix[1],
                    self.prefix[2],
                    self.prefix[3],
                    self.prefix[4],
                ]) as usize;
                if declared > self.limit {
                    return Err(too_large(self.limit));
                }
                self.permit = self.large.reserve(declared)?;
            }
        }
        // One message, whatever it declared: a unary call has nothing more to send.
        if self.seen > self.limit.saturating_add(PREFIX) {
            return Err(too_large(self.limit));
        }
        Ok(())
    }
}

fn too_large(limit: usize) -> Status {
    Status::out_of_range(format!("request larger than this method's {limit} bytes"))
}

impl http_body::Body for Limited {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
            && let Err(refused) = self.inspect(data)
        {
            return Poll::Ready(Some(Err(refused)));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_carry_a_garbage_token_other_calls_are_small() {
        assert_eq!(
            limit_for("/tessera.v1.TokenService/Authorize"),
            Some(MAX_TOKEN_MESSAGE_BYTES)
        );
        assert_eq!(limit_for("/tessera.v1.TokenService/Issue"), Some(SMALL));
        assert_eq!(
            limit_for("/tessera.v1.AdminService/CreateRole"),
            Some(SMALL)
        );
        assert_eq!(limit_for("/grpc.health.v1.Health/Check"), None);
    }

    #[test]
    fn the_large_budget_is_shared_and_returned() {
        let large = LargeMessages::new(2 * 1024 * 1024);
        let first = large.reserve(1024 * 1024).expect("fits");
        assert!(first.is_some());
        let second = large.reserve(1024 * 1024 - 1).expect("fits");
        assert!(large.reserve(SMALL + 1).is_err(), "budget spent");
        assert!(large.reserve(SMALL).expect("small").is_none());
        drop((first, second));
        assert!(large.reserve(2 * 1024 * 1024).is_ok());
    }
}
