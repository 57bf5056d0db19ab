//! A connection as the servers see it: plain, or TLS over the same limited [`Conn`], and the
//! handshake that turns one into the other.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

use super::listener::Conn;

pub enum Stream {
    Plain(Conn),
    Tls(Box<TlsStream<Conn>>),
}

impl Stream {
    pub(super) fn conn(&self) -> &Conn {
        match self {
            Stream::Plain(conn) => conn,
            Stream::Tls(tls) => tls.get_ref().0,
        }
    }
}

/// Runs the TLS handshake within the handshake timeout and hands the stream on; a failed
/// one (an untrusted or missing client certificate, a client that does not trust us, a
/// plaintext client) is closed here, before any request.
pub(super) async fn handshake(
    acceptor: TlsAcceptor,
    conn: Conn,
    peer: SocketAddr,
    timeout: Duration,
    tx: mpsc::Sender<io::Result<Stream>>,
) {
    match tokio::time::timeout(timeout, acceptor.accept(conn)).await {
        Ok(Ok(mut tls)) => {
            tls.get_mut().0.restart_handshake_clock(timeout);
            // The receiver is gone only when the server stopped: the connection just ends.
            let _ = tx.send(Ok(Stream::Tls(Box::new(tls)))).await;
        }
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "no TLS handshake within the handshake timeout"),
    }
}

impl Connected for Stream {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.conn().connect_info()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(conn) => Pin::new(conn).poll_read(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(conn) => Pin::new(conn).poll_write(cx, data),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(conn) => Pin::new(conn).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(conn) => Pin::new(conn).poll_shutdown(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}
