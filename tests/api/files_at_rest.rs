//! Files at rest on SQLite: `serve` creates the database, its `-wal` and `-shm` files and
//! the key files beside it owner-only (0600) whatever the umask, and warns, naming the file
//! and its mode, when an existing one is open to other users.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::helpers::*;
use crate::serve_process::ServeProcess;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn exposed_warnings(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            v["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("open to other users"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_and_its_keys_are_owner_only_and_a_loose_one_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A permissive directory, as a shared volume may be: the files must not inherit it.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let db = dir.path().join("rest.db");
    let url = format!("sqlite://{}", db.display());
    let server = ServeProcess::start(&url, &[]);
    // A write, so the WAL holds something and its index exists.
    let mut tokens = server.client().await;
    let admin_key = std::fs::read_to_string(dir.path().join("rest.db.admin-key"))
        .expect("admin key file")
        .trim()
        .to_owned();
    tokens
        .issue(authed(
            &admin_key,
            tessera::proto::v1::IssueRequest {
                grant: Some(api_key(&["read:*"], "")),
            },
        ))
        .await
        .expect("issue");
    let names = [
        "rest.db",
        "rest.db-wal",
        "rest.db-shm",
        "rest.db.admin-key",
        "rest.db.secret-key",
    ];
    for name in names {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
    }
    let log = server.stop("-TERM").await;
    assert!(exposed_warnings(&log).is_empty(), "nothing to warn of yet");

    // Loosened by hand: the next start names each loose file and its mode.
    for name in ["rest.db", "rest.db.secret-key"] {
        let path = dir.path().join(name);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let server = ServeProcess::start(&url, &[]);
    let log = server.stop("-TERM").await;
    let warned = exposed_warnings(&log);
    let paths: Vec<&str> = warned
        .iter()
        .filter_map(|v| v["fields"]["path"].as_str())
        .collect();
    // SQLite made the new -wal and -shm files with the loosened database's mode.
    let loose = [
        "rest.db",
        "rest.db-wal",
        "rest.db-shm",
        "rest.db.secret-key",
    ];
    for name in loose {
        let path = dir.path().join(name);
        assert!(
            paths.contains(&path.to_str().expect("utf8")),
            "{name}: {log}"
        );
    }
    assert!(
        warned.iter().all(|v| v["fields"]["mode"] == "644"),
        "{warned:?}"
    );
    assert_eq!(warned.len(), loose.len(), "{warned:?}");
}
