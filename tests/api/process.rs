//! The `tessera` binary itself: `bootstrap` output, and `serve` on an empty store.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tessera::proto::v1 as pb;
use tessera::proto::v1::token_service_client::TokenServiceClient;

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

#[tokio::test]
async fn bootstrap_prints_only_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let run = || {
        Command::new(BIN)
            .args(["bootstrap", "--database-url", &url])
            .env("RUST_LOG", "debug")
            .output()
            .expect("run tessera bootstrap")
    };
    let first = run();
    assert!(first.status.success(), "{first:?}");
    let stdout = String::from_utf8(first.stdout).expect("utf8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout:?}");
    assert!(lines[0].starts_with("tsk_"));
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(!stderr.contains(lines[0]), "the key must not be logged");
    // Running it again keeps the admin and prints a new, different key.
    let second = run();
    assert!(second.status.success());
    let again = String::from_utf8(second.stdout).expect("utf8");
    assert_ne!(again.trim(), lines[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_writes_the_first_admin_key_to_a_private_file_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        // The most verbose logging there is: still no secret may appear.
        .env("RUST_LOG", "trace")
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start tessera serve");
    let stderr = child.stderr.take().expect("stderr piped");
    // A thread drains stderr the whole time, so trace-level output never fills the pipe.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = String::new();
    // Wait for log lines (blocking receive, no sleep) until the server reports its address.
    let addr = loop {
        let line = rx.recv().expect("server logs before exiting");
        log.push_str(&line);
        log.push('\n');
        if line.contains("tessera serving") {
            let v: serde_json::Value = serde_json::from_str(&line).expect("json log line");
            break v["fields"]["listen"]
                .as_str()
                .expect("listen field")
                .to_owned();
        }
    };
    let key_file = dir.path().join("s.db.admin-key");
    let key = std::fs::read_to_string(&key_file)
        .expect("admin key file")
        .trim()
        .to_owned();
    assert!(key.starts_with("tsk_"));
    assert!(!log.contains(&key), "the key must never be logged");
    assert!(log.contains("s.db.admin-key"), "the file's path is logged");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let mut client = TokenServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let r = client
        .authorize(authed(
            &key,
            pb::AuthorizeRequest {
                token: key.clone(),
                required_scopes: strings(&["anything:at:all"]),
                ..Default::default()
            },
        ))
        .await
        .expect("authorize")
        .into_inner();
    assert_allow(&r);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    // Wait off the runtime's threads so the client connection can still answer the server's
    // GOAWAY while it drains.
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    drop(client);
    reader.join().expect("stderr reader");
    for line in rx.try_iter() {
        log.push_str(&line);
        log.push('\n');
    }
    assert!(log.contains("tessera stopped"), "{log}");
    assert!(
        !log.contains(&key),
        "no secret in any log line, even at trace level"
    );
    assert!(!log.contains(&key[30..60]));
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}
