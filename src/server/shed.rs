//! Overload is shed, not queued (`--max-concurrent-requests`).
//!
//! A queue in front of a saturated service only turns a load spike into latency for
//! everyone and memory held for requests whose callers have given up. Past the limit a call
//! is answered at once with RESOURCE_EXHAUSTED, before its body is read, so the calls
//! admitted keep their latency and memory stays bounded. Clients retry with backoff, as
//! gRPC's retry policy does for RESOURCE_EXHAUSTED.
//!
//! Health and reflection are never shed: a probe must tell "overloaded" from "dead", and
//! an operator must be able to look at a busy server.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Semaphore;
use tonic::body::Body;
use tonic::codegen::Service;
use tonic::codegen::http::{Request, Response};

/// Paths that are never shed.
const EXEMPT: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Admits at most `limit` calls at once across every connection.
#[derive(Debug, Clone)]
pub struct ShedLayer {
    permits: Arc<Semaphore>,
}

impl ShedLayer {
    pub fn new(limit: usize) -> ShedLayer {
        ShedLayer {
            permits: Arc::new(Semaphore::new(limit.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }
}

impl<S> tower_layer::Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            permits: self.permits.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

type Answer<E> = Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send>>;

impl<S> Service<Request<Body>> for Shed<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Answer<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let path = request.uri().path();
        if EXEMPT.iter().any(|p| path.starts_with(p)) {
            return Box::pin(self.inner.call(request));
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let answer = self.inner.call(request);
                Box::pin(async move {
                    let answered = answer.await;
                    drop(permit);
                    answered
                })
            }
            Err(_) => Box::pin(std::future::ready(Ok(tonic::Status::resource_exhausted(
                "tessera is at --max-concurrent-requests; retry with backoff",
            )
            .into_http()))),
        }
    }
}
