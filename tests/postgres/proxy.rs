//! A TCP proxy in front of the test's Postgres server, to take the database away and give it
//! back without touching the server itself (other tests share it).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

pub struct Proxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    up: watch::Sender<bool>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
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
            acceptor: Mutex::new(None),
        });
        proxy.accept_on(listener).await;
        proxy
    }

    async fn accept_on(&self, listener: TcpListener) {
        let target = self.target;
        let up = self.up.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(pipe(client, target, up.subscribe()));
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
        let listener = TcpListener::bind(self.addr).await.expect("rebind proxy");
        self.accept_on(listener).await;
    }
}

async fn pipe(mut client: TcpStream, target: SocketAddr, mut up: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = up.wait_for(|up| !*up) => {}
    }
}
