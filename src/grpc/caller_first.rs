//! The caller is known before the body is read.
//!
//! Every tessera RPC needs a caller credential, and it travels in the headers. This layer
//! authenticates it as soon as the headers arrive: a call without a valid one is answered
//! UNAUTHENTICATED before a byte of its body is read, so a client with no credential can
//! pin no request buffer at all (HTTP/2 flow control then holds what it may send to one
//! window per connection). The authenticated caller rides along in the request's
//! extensions, so the handler does not authenticate twice. Its body is then read through
//! [`super::message_limits`], at most what its RPC can carry.
//!
//! Health and reflection need no credential and pass untouched. Two tessera calls may come
//! without one: a login (Issue with the password grant; its handler refuses any other
//! grant without a credential), read through a 4 KiB limit, and the public key set.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::Service;
use tonic::codegen::http::{Request, Response};

use super::message_limits::{LARGE_BUDGET, LargeMessages, limit_for};
use crate::domain::app::App;
use crate::domain::audit;
use crate::request_id::{REQUEST_ID, request_id_header};

/// The services whose calls need a caller credential: tessera's, and Envoy's ext_authz
/// (Envoy presents its key in `initial_metadata`).
const GUARDED: [&str; 2] = ["/tessera.v1.", "/envoy.service.auth.v3.Authorization/"];

/// The calls that may come without a credential, and the most each may then send: a
/// password grant is a username, a password of at most 1 KiB and a code; an OAuth grant a
/// client's credentials, a code or refresh token, a redirect URI and up to 64 scopes.
const OPEN: [(&str, usize); 2] = [
    ("/tessera.v1.TokenService/Issue", 16 * 1024),
    ("/tessera.v1.TokenService/GetJwks", 64),
];

#[derive(Debug, Clone)]
pub struct CallerFirstLayer {
    app: Arc<App>,
    large: LargeMessages,
}

impl CallerFirstLayer {
    pub fn new(app: Arc<App>) -> CallerFirstLayer {
        CallerFirstLayer {
            app,
            large: LargeMessages::new(LARGE_BUDGET),
        }
    }
}

impl<S> tower_layer::Layer<S> for CallerFirstLayer {
    type Service = CallerFirst<S>;

    fn layer(&self, inner: S) -> CallerFirst<S> {
        CallerFirst {
            inner,
            app: self.app.clone(),
            large: self.large.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CallerFirst<S> {
    inner: S,
    app: Arc<App>,
    large: LargeMessages,
}

type Answer<E> = Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send>>;

impl<S> Service<Request<Body>> for CallerFirst<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
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
        if !GUARDED.iter().any(|g| path.starts_with(g)) {
            return Box::pin(self.inner.call(request));
        }
        let limit = limit_for(path);
        // The service that was made ready is the one that must be called.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let (app, large) = (self.app.clone(), self.large.clone());
        let context = request_context(&request);
        let request_id = request_id_header(&context.request_id);
        let call = audit::in_request(context, async move {
            let credential = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            if credential.is_none()
                && let Some(&(_, open_limit)) =
                    OPEN.iter().find(|(p, _)| *p == request.uri().path())
            {
                let request = request.map(|body| large.limit(body, open_limit));
                return inner.call(request).await;
            }
            match app.authenticate(credential).await {
                Ok(caller) => {
                    let mut request = match limit {
                        Some(limit) => request.map(|body| large.limit(body, limit)),
                        None => request,
                    };
                    request.extensions_mut().insert(caller);
                    inner.call(request).await
                }
                Err(e) => Ok(tonic::Status::from(e).into_http()),
            }
        });
        Box::pin(async move {
            let mut response = call.await?;
            if let Some(id) = request_id {
                response.headers_mut().insert(REQUEST_ID, id);
            }
            Ok(response)
        })
    }
}

/// The call's request id and peer, for its audit events.
fn request_context<B>(request: &Request<B>) -> audit::RequestContext {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok());
    let peer = request
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|info| info.remote_addr());
    audit::RequestContext::new(id, peer)
}
