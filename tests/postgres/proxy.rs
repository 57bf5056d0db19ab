//! A TCP proxy in front of the test's Postgres server, to take the database away and give it
//! back without touching the server itself (other tests share it): cut (connections reset,
//! port closed) or frozen (a silent peer: connections stay open, nothing is forwarded).

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

/// Where the test database's server listens.
pub async fn server_addr(url: &str) -> SocketAddr {
    let options = sqlx::postgres::PgConnectOptions::from_str(url).expect("postgres url");
    let host = format!("{}:{}", options.get_host(), options.get_port());
    tokio::net::lookup_host(host)
        .await
        .expect("resolve")
        .next()
        .expect("an address")
}

/// The URL with its host and port replaced by `addr`.
pub fn through(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let userinfo = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{userinfo}{addr}/{path}")
}

pub struct Proxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    up: watch::Sender<bool>,
    frozen: Arc<watch::Sender<bool>>,
    /// Bytes from clients still forwarded before the proxy freezes; negative: not armed.
    budget: Arc<AtomicI64>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

/// What each connection's pipe shares with the proxy.
#[derive(Clone)]
struct Link {
    up: watch::Receiver<bool>,
    frozen: Arc<watch::Sender<bool>>,
    budget: Arc<AtomicI64>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Arc<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (up, _) = watch::channel(true);
        let proxy = Arc::new(Proxy {
            addr,
            target,
            up,
            frozen: Arc::new(watch::Sender::new(false)),
            budget: Arc::new(AtomicI64::new(-1)),
            acceptor: Mutex::new(None),
        });
        proxy.accept_on(listener).await;
        proxy
    }

    async fn accept_on(&self, listener: TcpListener) {
        let target = self.target;
        let link = Link {
            up: self.up.subscribe(),
            frozen: self.frozen.clone(),
            budget: self.budget.clone(),
        };
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(pipe(client, target, link.clone()));
            }
        });
        *self.acceptor.lock().await = Some(task);
    }

    /// The database goes away: open connections are cut and new ones are refused (the port
    /// is closed).
    pub async fn cut(&self) {
        if let Some(task) = self.acceptor.lock().await.take() {
            task.abort();
            let _ = task.await;
        }
        self.up.send_replace(false);
    }

    /// The database is back, on the same address.
    pub async fn restore(&self) {
        self.up.send_replace(true);
        self.frozen.send_replace(false);
        let listener = TcpListener::bind(self.addr).await.expect("rebind proxy");
        self.accept_on(listener).await;
    }

    /// The database goes silent, as a dead host or a dropped NAT entry looks: every open
    /// connection stays open but nothing more is forwarded either way, and new connections
    /// are accepted and never answered. Ends with `cut`.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// Freezes once `bytes` more bytes have gone from clients to the server: silence in the
    /// middle of whatever the clients were sending (a transaction, say).
    pub fn freeze_after(&self, bytes: i64) {
        self.budget.store(bytes, Ordering::SeqCst);
    }
}

async fn pipe(client: TcpStream, target: SocketAddr, link: Link) {
    let mut up = link.up.clone();
    if *link.frozen.borrow() {
        // Accepted, never answered: held until the proxy is cut.
        let _ = up.wait_for(|up| !*up).await;
        return;
    }
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // Frozen copies hold their halves open without forwarding, so the sockets stay open
    // until the proxy is cut.
    let forward = async {
        tokio::join!(
            copy(client_read, server_write, &link, true),
            copy(server_read, client_write, &link, false),
        )
    };
    tokio::select! {
        _ = forward => {}
        _ = up.wait_for(|up| !*up) => {}
    }
}

/// Copies one direction until EOF or an error; once the proxy is frozen, reads what comes
/// and forwards nothing. Client bytes (`from_client`) count against `freeze_after`.
async fn copy(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    link: &Link,
    from_client: bool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let n_signed = i64::try_from(n).unwrap_or(i64::MAX);
        if from_client
            && link.budget.load(Ordering::SeqCst) >= 0
            && link.budget.fetch_sub(n_signed, Ordering::SeqCst) <= n_signed
        {
            link.frozen.send_replace(true);
        }
        if *link.frozen.borrow() {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
