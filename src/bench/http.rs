//! A small HTTP/1.1 client for the OAuth scenarios: a pool of keep-alive connections, one
//! per in-flight call, as an OAuth client library's connection pool would hold.

use std::sync::Arc;

use axum::body::Body;
use base64::Engine as _;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::BenchError;

#[derive(Clone)]
pub(super) struct HttpPool {
    addr: Arc<str>,
    idle: Arc<Mutex<Vec<SendRequest<Body>>>>,
}

impl HttpPool {
    pub(super) fn new(addr: &str) -> HttpPool {
        HttpPool {
            addr: addr.into(),
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    async fn connection(&self) -> Result<SendRequest<Body>, BenchError> {
        if let Some(ready) = self.idle.lock().await.pop() {
            if !ready.is_closed() {
                return Ok(ready);
            }
        }
        let stream = TcpStream::connect(&*self.addr)
            .await
            .map_err(|e| BenchError::Setup(format!("connecting to {}: {e}", self.addr)))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| BenchError::Setup(format!("HTTP handshake: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// POSTs a form with HTTP Basic client authentication: the status and the JSON body.
    pub(super) async fn post_form(
        &self,
        path: &str,
        basic: (&str, &str),
        form: &[(&str, &str)],
    ) -> Result<(u16, serde_json::Value), BenchError> {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", basic.0, basic.1));
        let request = hyper::Request::post(path)
            .header("host", &*self.addr)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", format!("Basic {credentials}"))
            .body(Body::from(body))
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        let mut sender = self.connection().await?;
        sender
            .ready()
            .await
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20)
            .await
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        self.idle.lock().await.push(sender);
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Ok((status, json))
    }
}
