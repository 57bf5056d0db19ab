//! The accept loop in front of the gRPC server: what a hostile or broken client can do with
//! connections alone is bounded here, before HTTP/2 is spoken.
//!
//! - At most `max_connections` are open at once. One more is accepted and closed at once,
//!   so its client sees a refusal, not a hang in the backlog.
//! - A connection that has not sent the HTTP/2 preface within `handshake_timeout` is
//!   closed: 2,000 sockets that never speak hold nothing for long.
//! - A connection on which nothing is read or written for `idle_timeout` is closed.
//! - A failed accept (EMFILE, ENFILE: out of descriptors) is logged and retried after a
//!   growing pause (10 ms to 1 s), never in a busy loop.
//! - When `stop` fires the listening socket is closed: new connections are refused at
//!   once while the open ones drain.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::{Instant, Sleep};
use tonic::transport::server::{Connected, TcpConnectInfo};

use super::tls::TlsSource;
pub use super::tls_stream::Stream;
use super::tls_stream::handshake;

/// Bytes of the HTTP/2 client preface: a connection that sent them has spoken HTTP/2.
const PREFACE: usize = 24;
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Limits on connections, before any request.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 4096,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// Accepted connections, as tonic's `serve_with_incoming` takes them.
pub struct Incoming(mpsc::Receiver<io::Result<Stream>>);

impl tonic::codegen::tokio_stream::Stream for Incoming {
    type Item = io::Result<Stream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Starts accepting on `listener` until `stop` completes; with `tls`, each connection's
/// handshake runs in a task of its own (see `tls_stream`), so a slow one delays no other.
pub fn accept(
    listener: TcpListener,
    limits: ConnectionLimits,
    tls: Option<Arc<TlsSource>>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Incoming {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(accept_loop(listener, limits, tls, tx, stop));
    Incoming(rx)
}

async fn accept_loop(
    listener: TcpListener,
    limits: ConnectionLimits,
    tls: Option<Arc<TlsSource>>,
    tx: mpsc::Sender<io::Result<Stream>>,
    stop: impl Future<Output = ()> + Send,
) {
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut backoff = MIN_BACKOFF;
    let mut stop = std::pin::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = MIN_BACKOFF;
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::debug!(%peer, max = limits.max_connections, "connection refused: at --max-connections");
                    drop(stream);
                    continue;
                };
                // Small gRPC frames must not wait for delayed ACKs (a 40 ms tail).
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(%peer, error = %e, "could not set TCP_NODELAY");
                }
                let conn = Conn::new(stream, slot, &limits);
                match &tls {
                    Some(source) => {
                        let acceptor = source.acceptor();
                        tokio::spawn(handshake(
                            acceptor,
                            conn,
                            peer,
                            limits.handshake_timeout,
                            tx.clone(),
                        ));
                    }
                    None => {
                        if tx.send(Ok(Stream::Plain(conn))).await.is_err() {
                            break;
                        }
                    }
                }
            }
            // The peer gave up before we took it: nothing is wrong with us.
            Err(e) if per_connection(&e) => continue,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "accept failed (out of file descriptors?); pausing before the next accept");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut stop => break,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    // Dropping the listener closes the socket: from here on a connect is refused at once.
    drop(listener);
    tracing::info!("stopped accepting connections");
}

fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// An accepted connection: its slot under `max_connections`, and its deadline.
pub struct Conn {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    /// Fires at the handshake deadline, then at the idle one; checked lazily against
    /// `last_active`, so traffic costs a clock read, not a timer reset.
    deadline: Pin<Box<Sleep>>,
    last_active: Instant,
    read: usize,
    idle: Duration,
}

impl Conn {
    /// After a TLS handshake: the HTTP/2 preface (or HTTP/1 request) is still due within
    /// the handshake timeout, counted afresh from here.
    pub(super) fn restart_handshake_clock(&mut self, handshake_timeout: Duration) {
        self.read = 0;
        self.deadline
            .as_mut()
            .reset(Instant::now() + handshake_timeout);
    }

    pub(super) fn peer(&self) -> std::net::SocketAddr {
        self.stream
            .peer_addr()
            .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, limits: &ConnectionLimits) -> Conn {
        let now = Instant::now();
        Conn {
            stream,
            _slot: slot,
            deadline: Box::pin(tokio::time::sleep_until(now + limits.handshake_timeout)),
            last_active: now,
            read: 0,
            idle: limits.idle_timeout,
        }
    }

    /// `Ready(error)` once the connection is past its deadline: still silent after the
    /// handshake timeout, or idle for the idle timeout.
    fn expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            ready!(self.deadline.as_mut().poll(cx));
            if self.read < PREFACE {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no HTTP/2 preface within the handshake timeout",
                ));
            }
            let due = self.last_active + self.idle;
            if due <= Instant::now() {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "idle for the idle timeout",
                ));
            }
            self.deadline.as_mut().reset(due);
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let got = buf.filled().len() - before;
                if got > 0 {
                    let first = self.read < PREFACE;
                    self.read = self.read.saturating_add(got);
                    self.last_active = Instant::now();
                    if first && self.read >= PREFACE {
                        // Spoken: from now on the idle deadline applies.
                        let due = self.last_active + self.idle;
                        self.deadline.as_mut().reset(due);
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match self.expired(cx) {
                Poll::Ready(e) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
            failed => failed,
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = ready!(Pin::new(&mut self.stream).poll_write(cx, data));
        if matches!(written, Ok(n) if n > 0) {
            self.last_active = Instant::now();
        }
        Poll::Ready(written)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The same accept loop in front of the OAuth HTTP endpoints: the connection cap, the
/// handshake timeout (24 bytes of a request) and the idle timeout hold there too.
pub struct HttpIncoming {
    incoming: Incoming,
    local: std::net::SocketAddr,
}

impl HttpIncoming {
    pub fn new(
        listener: TcpListener,
        limits: ConnectionLimits,
        tls: Option<Arc<TlsSource>>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<HttpIncoming> {
        let local = listener.local_addr()?;
        Ok(HttpIncoming {
            incoming: accept(listener, limits, tls, stop),
            local,
        })
    }
}

impl axum::serve::Listener for HttpIncoming {
    type Io = Stream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Stream, std::net::SocketAddr) {
        loop {
            match self.incoming.0.recv().await {
                Some(Ok(stream)) => {
                    let peer = stream.conn().peer();
                    return (stream, peer);
                }
                Some(Err(e)) => tracing::debug!(error = %e, "HTTP accept failed"),
                // The loop stopped (shutdown): no connection comes any more; the server's
                // graceful shutdown ends it.
                None => std::future::pending::<()>().await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        Ok(self.local)
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, HttpIncoming>>
    for crate::http::Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, HttpIncoming>) -> crate::http::Peer {
        crate::http::Peer(*stream.remote_addr())
    }
}
