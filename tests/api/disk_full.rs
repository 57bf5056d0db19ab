//! A full disk under SQLite: nothing is acknowledged that did not commit, every failure is
//! UNAVAILABLE, health turns NOT_SERVING and back by itself, and after space returns every
//! write is durable again (no connection is reused in a half-finished transaction).
//!
//! The database lives on an 8 MiB tmpfs the test mounts, then fills with a file. On 2 MiB,
//! once each change also wrote its audit event, a write after recovery met a full disk
//! again (SQLITE_FULL): the space the filler gives back must hold what the recovery writes,
//! and SQLite's WAL only grows until its first checkpoint at 1,000 pages (4 MiB here).
//! Mounting needs root (CI runs as root); where it is refused the test says SKIPPED and
//! passes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tessera::proto::v1 as pb;
use tessera::server::ServeOptions;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::db::TestDb;
use crate::helpers::*;

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Tmpfs { dir }),
            other => {
                let _ = writeln!(
                    std::io::stderr(),
                    "disk-full test SKIPPED: cannot mount a tmpfs here ({other:?})"
                );
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk refuses more; returns it.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let block = vec![0u8; 16 * 1024];
        while file
            .write_all(&block)
            .and_then(|()| file.sync_all())
            .is_ok()
        {}
        // Any last partial block too.
        while file.write_all(&[0u8; 512]).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// What one write answered.
fn outcome<T>(r: Result<T, tonic::Status>) -> Result<T, Code> {
    r.map_err(|s| {
        assert_eq!(
            s.code(),
            Code::Unavailable,
            "a full disk is UNAVAILABLE: {s:?}"
        );
        s.code()
    })
}

async fn role_exists(t: &TestApp, name: &str) -> bool {
    let got = t
        .admin
        .clone()
        .get_role(authed(
            &t.admin_key,
            pb::GetRoleRequest { name: name.into() },
        ))
        .await;
    match got {
        Ok(_) => true,
        Err(s) if s.code() == Code::NotFound => false,
        Err(s) => panic!("get role: {s:?}"),
    }
}

#[tokio::test]
async fn a_full_disk_acknowledges_nothing_that_did_not_commit() {
    let Some(disk) = Tmpfs::mount("8m") else {
        return;
    };
    let db = Arc::new(TestDb::sqlite_in(disk.path()));
    let setup = Setup {
        serve: ServeOptions {
            health_interval: std::time::Duration::from_millis(100),
            ..ServeOptions::default()
        },
        ..Setup::default()
    };
    let t = spawn_app_on(db, setup).await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("fay", &["r"]).await;
    let mut to_revoke = Vec::new();
    for _ in 0..10 {
        to_revoke.push(t.key_for(&user.id, &["read:*"]).await);
    }
    let before = t.tokens_of(&t.admin_key, &user.id).await.len();

    let filler = disk.fill();
    let mut issued = Vec::new();
    let mut refused = 0;
    for _ in 0..40 {
        match outcome(t.issue(&t.admin_key, api_key(&["read:*"], &user.id)).await) {
            Ok(key) => issued.push(key),
            Err(_) => refused += 1,
        }
    }
    let mut revoked = Vec::new();
    let mut kept = Vec::new();
    for key in &to_revoke {
        let target = pb::revoke_request::Target::TokenId(key.token_id.clone());
        match outcome(t.revoke(&t.admin_key, target).await) {
            Ok(n) => {
                assert_eq!(n, 1);
                revoked.push(key.clone());
            }
            Err(_) => kept.push(key.clone()),
        }
    }
    let mut roles = Vec::new();
    for i in 0..5 {
        let name = format!("full{i}");
        let made = outcome(t.try_create_role(&name, &["read:*"]).await).is_ok();
        roles.push((name, made));
    }
    assert!(
        refused > 0,
        "the disk never filled: the test proves nothing"
    );
    health_becomes(&t, ServingStatus::NotServing).await;
    // Reads still answer while writes cannot.
    assert_allow(
        &t.check(&kept.first().unwrap_or(&to_revoke[0]).token, &["read:x"])
            .await,
    );

    std::fs::remove_file(&filler).expect("free the disk");
    health_becomes(&t, ServingStatus::Serving).await;
    // Every write now commits for real, on whichever connection it gets.
    for _ in 0..20 {
        issued.push(t.key_for(&user.id, &["read:*"]).await);
    }
    let late = t.key_for(&user.id, &["read:*"]).await;
    t.revoke(
        &t.admin_key,
        pb::revoke_request::Target::TokenId(late.token_id.clone()),
    )
    .await
    .expect("revoke after recovery");
    assert!(t.try_create_role("after", &["read:*"]).await.is_ok());

    let t = t.restart().await;
    for key in &issued {
        assert_allow(&t.check(&key.token, &["read:x"]).await);
    }
    let listed = t.tokens_of(&t.admin_key, &user.id).await.len();
    assert_eq!(
        listed,
        before + issued.len() + 1,
        "only acknowledged tokens exist"
    );
    for key in revoked.iter().chain([&late]) {
        assert_unauthenticated(&t.check(&key.token, &["read:x"]).await);
    }
    for key in &kept {
        assert_allow(&t.check(&key.token, &["read:x"]).await);
    }
    for (name, made) in &roles {
        assert_eq!(role_exists(&t, name).await, *made, "role {name}");
    }
    assert!(role_exists(&t, "after").await);
    crate::helpers::report(&format!(
        "full disk: {} of 40 issues refused, {} of 10 revokes refused, {} of 5 role creates \
         refused, all UNAVAILABLE; every acknowledged write survived a restart",
        refused,
        kept.len(),
        roles.iter().filter(|(_, made)| !made).count()
    ));
}
