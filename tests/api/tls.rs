//! TLS on a real `tessera serve`: a client that trusts the CA connects and one that does not
//! is refused, on the gRPC and the HTTP listener; mutual TLS with and without a client
//! certificate; a certificate replaced on disk is served to the next connection while an
//! open one carries on.

use std::path::Path;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::serve_process::{BIN, ServeProcess};
use crate::tls_certs::{Ca, Leaf};

/// Writes `leaf` as the server's files the way a Secret update lands: new files renamed
/// over the old, so a reader never sees half a file.
fn install(dir: &Path, leaf: &Leaf) {
    for (name, pem) in [("tls.key", &leaf.key), ("tls.crt", &leaf.cert)] {
        let part = dir.join(format!(".{name}.new"));
        std::fs::write(&part, pem).expect("write");
        std::fs::rename(&part, dir.join(name)).expect("rename");
    }
}

fn start(dir: &Path, client_ca: Option<&str>) -> ServeProcess {
    let db = format!("sqlite://{}", dir.join("tls.db").display());
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    let ca_file = dir.join("client-ca.crt");
    let mut env = vec![
        ("TESSERA_TLS_CERT_FILE", cert.to_str().expect("utf8")),
        ("TESSERA_TLS_KEY_FILE", key.to_str().expect("utf8")),
    ];
    if let Some(pem) = client_ca {
        std::fs::write(&ca_file, pem).expect("write");
        env.push((
            "TESSERA_TLS_CLIENT_CA_FILE",
            ca_file.to_str().expect("utf8"),
        ));
    }
    ServeProcess::start(&db, &env)
}

/// A channel to `addr` trusting `ca` only, presenting `identity` when given.
async fn channel(addr: &str, ca: &str, identity: Option<&Leaf>) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(leaf) = identity {
        tls = tls.identity(Identity::from_pem(&leaf.cert, &leaf.key));
    }
    Channel::from_shared(format!("https://{addr}"))
        .map_err(|e| e.to_string())?
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))
}

/// Whether a health check over `channel` answers SERVING.
async fn serving(channel: Channel) -> Result<(), String> {
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map_err(|s| format!("{s:?}"))?;
    match answer.into_inner().status() {
        ServingStatus::Serving => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

async fn call(addr: &str, ca: &str, identity: Option<&Leaf>) -> Result<(), String> {
    serving(channel(addr, ca, identity).await?).await
}

fn https(ca: &str) -> oauth2::reqwest::Client {
    oauth2::reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(oauth2::reqwest::Certificate::from_pem(ca.as_bytes()).expect("pem"))
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn metadata(http_addr: &str, ca: &str) -> Result<serde_json::Value, String> {
    let port = http_addr.rsplit(':').next().expect("port");
    let url = format!("https://localhost:{port}/.well-known/oauth-authorization-server");
    let res = https(ca)
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let body = res.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// The CLI against `addr` over TLS with `args`: its exit code and output.
fn cli(addr: &str, dir: &Path, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(BIN)
        .args(args)
        .args([
            "--server",
            &format!("https://{addr}"),
            "--tls-server-name",
            "localhost",
        ])
        .env("TESSERA_CONFIG_DIR", dir)
        .env_remove("TESSERA_TOKEN")
        .output()
        .expect("run the CLI");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusting_client_connects_others_are_refused_and_a_new_certificate_is_served_next() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, other) = (Ca::new("tessera test CA"), Ca::new("someone else"));
    install(dir.path(), &ca.server());
    let server = start(dir.path(), None);
    assert!(server.log.contains("\"tls\":true"), "{}", server.log);

    call(&server.addr, &ca.pem, None)
        .await
        .expect("trusting client");
    assert!(
        call(&server.addr, &other.pem, None).await.is_err(),
        "untrusted CA"
    );
    // A plaintext client gets nothing either.
    let plain = Channel::from_shared(format!("http://{}", server.addr))
        .expect("url")
        .connect()
        .await;
    let answered = match plain {
        Ok(ch) => serving(ch).await.is_ok(),
        Err(_) => false,
    };
    assert!(!answered, "plaintext is refused");
    // The HTTP endpoints: the same certificate, and an https issuer.
    let meta = metadata(&server.http_addr, &ca.pem).await.expect("https");
    assert!(
        meta["issuer"]
            .as_str()
            .is_some_and(|i| i.starts_with("https://")),
        "{meta}"
    );
    assert!(metadata(&server.http_addr, &other.pem).await.is_err());

    // The operator CLI over TLS: trusting the CA file, not the system's roots.
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).expect("write");
    let ca_arg = ca_file.to_str().expect("utf8");
    let (code, out) = cli(&server.addr, dir.path(), &["health", "--ca-file", ca_arg]);
    assert_eq!((code, out.trim()), (0, "STATUS  SERVING"), "{out}");
    let (code, out) = cli(&server.addr, dir.path(), &["health"]);
    assert_eq!(code, 4, "no system root trusts a test CA: {out}");

    // Renewed by another CA: the open connection carries on, new ones get the new one.
    let open = channel(&server.addr, &ca.pem, None).await.expect("open");
    serving(open.clone()).await.expect("before");
    install(dir.path(), &other.server());
    call(&server.addr, &other.pem, None)
        .await
        .expect("the new certificate");
    assert!(
        call(&server.addr, &ca.pem, None).await.is_err(),
        "the old one is gone"
    );
    serving(open)
        .await
        .expect("the open connection is not dropped");
    metadata(&server.http_addr, &other.pem)
        .await
        .expect("https renewed");

    // Files that do not load (a key without its certificate) leave the last good ones.
    std::fs::write(dir.path().join("tls.crt"), "not a certificate").expect("write");
    call(&server.addr, &other.pem, None)
        .await
        .expect("still the last good certificate");
    let log = server.stop("-TERM").await;
    assert!(log.contains("do not load"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_a_caller_without_a_certificate_the_ca_signed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, clients, stranger) = (Ca::new("server CA"), Ca::new("client CA"), Ca::new("x"));
    install(dir.path(), &ca.server());
    let server = start(dir.path(), Some(&clients.pem));
    call(&server.addr, &ca.pem, Some(&clients.client()))
        .await
        .expect("a client certificate the CA signed");
    assert!(
        call(&server.addr, &ca.pem, None).await.is_err(),
        "no certificate"
    );
    let foreign = stranger.client();
    assert!(
        call(&server.addr, &ca.pem, Some(&foreign)).await.is_err(),
        "another CA's"
    );
    // The CLI as a probe would run it, with the client certificate and without.
    let write = |name: &str, pem: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).expect("write");
        path.to_str().expect("utf8").to_owned()
    };
    let own = clients.client();
    let (ca_file, cert, key) = (
        write("ca.pem", &ca.pem),
        write("client.crt", &own.cert),
        write("client.key", &own.key),
    );
    let probe = ["health", "--ca-file", &ca_file];
    let with_cert = [
        &probe[..],
        &["--client-cert-file", &cert, "--client-key-file", &key],
    ]
    .concat();
    let (code, out) = cli(&server.addr, dir.path(), &with_cert);
    assert_eq!((code, out.trim()), (0, "STATUS  SERVING"), "{out}");
    let (code, out) = cli(&server.addr, dir.path(), &probe);
    assert_ne!(code, 0, "{out}");
    server.stop("-TERM").await;
}
