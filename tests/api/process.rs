//! The `tessera` binary itself: `bootstrap` output, `serve` on an empty and a used store,
//! environment fallbacks, HMAC keys, and a clean exit on SIGTERM / SIGINT.

use std::path::Path;
use std::process::Command;

use tessera::domain::ports::UserStore;
use tessera::proto::v1 as pb;
use tessera::proto::v1::token_service_client::TokenServiceClient;
use tessera::store::sqlite::SqliteStore;

use crate::helpers::*;
use crate::serve_process::{BIN, ServeProcess};

fn sqlite_url(db: &Path) -> String {
    format!("sqlite://{}", db.display())
}

async fn check_allows(client: &mut TokenServiceClient<tonic::transport::Channel>, key: &str) {
    let r = client
        .authorize(authed(
            key,
            pb::AuthorizeRequest {
                token: key.to_owned(),
                required_scopes: strings(&["anything:at:all"]),
                ..Default::default()
            },
        ))
        .await
        .expect("authorize")
        .into_inner();
    assert_allow(&r);
}

#[tokio::test]
async fn bootstrap_prints_only_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let run = || {
        Command::new(BIN)
            .args(["bootstrap", "--database-url", &url])
            .env("RUST_LOG", "trace")
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
    // Running it again keeps the one admin and prints a new, different key.
    let second = run();
    assert!(second.status.success());
    let again = String::from_utf8(second.stdout).expect("utf8");
    assert_ne!(again.trim(), lines[0]);
    let store = SqliteStore::connect(&url).await.expect("open");
    assert_eq!(store.count_users().await.expect("count"), 1);
    let admin = store
        .get_user_by_name("admin")
        .await
        .expect("read")
        .expect("admin");
    assert_eq!(admin.roles, vec!["admin"]);
    // `migrate` on an up-to-date store is a no-op that succeeds.
    let migrate = Command::new(BIN)
        .args(["migrate", "--database-url", &url])
        .output()
        .expect("migrate");
    assert!(migrate.status.success(), "{migrate:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_bootstraps_an_empty_store_once_and_stops_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let server = ServeProcess::start(&sqlite_url(&db), &[]);
    let key_file = dir.path().join("s.db.admin-key");
    let key = std::fs::read_to_string(&key_file)
        .expect("admin key file")
        .trim()
        .to_owned();
    assert!(key.starts_with("tsk_"));
    assert!(
        server.log.contains("s.db.admin-key"),
        "the file's path is logged"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut client = server.client().await;
    check_allows(&mut client, &key).await;
    let log = server.stop("-TERM").await;
    drop(client);
    assert!(
        !log.contains(&key),
        "no secret in any log line, even at trace level"
    );
    assert!(!log.contains(&key[30..60]));

    // A used store is not bootstrapped again, and the old key still works after a restart.
    std::fs::remove_file(&key_file).expect("remove key file");
    let server = ServeProcess::start(&sqlite_url(&db), &[]);
    assert!(!key_file.exists(), "no second bootstrap");
    let mut client = server.client().await;
    check_allows(&mut client, &key).await;
    let log = server.stop("-INT").await;
    drop(client);
    assert!(!log.contains(&key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hmac_key_from_the_environment_or_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("h.db");
    let server = ServeProcess::start(
        &sqlite_url(&db),
        &[("TESSERA_TOKEN_HMAC_KEY", "first server key")],
    );
    let key = std::fs::read_to_string(dir.path().join("h.db.admin-key"))
        .expect("key file")
        .trim()
        .to_owned();
    let mut client = server.client().await;
    check_allows(&mut client, &key).await;
    let log = server.stop("-TERM").await;
    drop(client);
    assert!(
        !log.contains("first server key"),
        "the HMAC key is never logged"
    );

    // The same key from a file (with a trailing newline) verifies the same hashes.
    let key_path = dir.path().join("hmac.key");
    std::fs::write(&key_path, "first server key\n").expect("write key file");
    let path = key_path.to_str().expect("utf8 path");
    let server = ServeProcess::start(&sqlite_url(&db), &[("TESSERA_TOKEN_HMAC_KEY_FILE", path)]);
    let mut client = server.client().await;
    check_allows(&mut client, &key).await;
    server.stop("-TERM").await;
    drop(client);

    // Another key: every hash stops matching, so the token is no credential.
    let server = ServeProcess::start(
        &sqlite_url(&db),
        &[("TESSERA_TOKEN_HMAC_KEY", "another key")],
    );
    let mut client = server.client().await;
    let refused = client
        .authorize(authed(
            &key,
            pb::AuthorizeRequest {
                token: key.clone(),
                required_scopes: strings(&["x"]),
                ..Default::default()
            },
        ))
        .await;
    assert_code(refused, tonic::Code::Unauthenticated);
    server.stop("-TERM").await;
    drop(client);
}
