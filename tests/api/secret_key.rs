//! The server secret of a real `tessera serve` on SQLite: generated beside the database on
//! first start (0600, path logged, value never), reused on restart, and a changed secret
//! stops logins until the signing key is rotated; `bootstrap --admin-password-file` lets the operator log in.

use std::process::Command;

use tessera::proto::v1 as pb;
use tessera::proto::v1::token_service_client::TokenServiceClient;
use tonic::transport::Channel;

use crate::helpers::*;
use crate::serve_process::{BIN, ServeProcess};

const ADMIN_PASSWORD: &str = "operator passphrase, long enough";

async fn login(
    client: &mut TokenServiceClient<Channel>,
) -> Result<pb::IssueResponse, tonic::Status> {
    let grant = pb::issue_request::Grant::Password(pb::PasswordGrant {
        username: "admin".into(),
        password: ADMIN_PASSWORD.into(),
        ..Default::default()
    });
    client
        .issue(tonic::Request::new(pb::IssueRequest { grant: Some(grant) }))
        .await
        .map(tonic::Response::into_inner)
}

async fn active(client: &mut TokenServiceClient<Channel>, caller: &str, token: &str) -> bool {
    client
        .introspect(authed(
            caller,
            pb::IntrospectRequest {
                token: token.into(),
            },
        ))
        .await
        .expect("introspect")
        .into_inner()
        .active
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_is_made_once_beside_the_database_and_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("k.db");
    let url = format!("sqlite://{}", db.display());
    let password_file = dir.path().join("admin-password");
    std::fs::write(&password_file, format!("{ADMIN_PASSWORD}\n")).expect("write");
    let out = Command::new(BIN)
        .args(["bootstrap", "--database-url", &url, "--admin-password-file"])
        .arg(&password_file)
        .output()
        .expect("bootstrap");
    assert!(out.status.success(), "{out:?}");
    let key = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned();
    assert!(!String::from_utf8_lossy(&out.stderr).contains(ADMIN_PASSWORD));

    let server = ServeProcess::start(&url, &[("RUST_LOG", "info")]);
    let secret_file = dir.path().join("k.db.secret-key");
    let secret = std::fs::read_to_string(&secret_file).expect("secret file");
    assert!(secret.trim().len() >= 32);
    assert!(server.log.contains("k.db.secret-key"), "its path is logged");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_file)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut client = server.client().await;
    let session = login(&mut client).await.expect("the operator logs in");
    let log = server.stop("-TERM").await;
    assert!(!log.contains(secret.trim()) && !log.contains(ADMIN_PASSWORD));
    assert!(!log.contains(&session.token));

    // Restarted: the same secret, the same signer (no rotation), the session still good.
    let server = ServeProcess::start(&url, &[("RUST_LOG", "info")]);
    assert_eq!(std::fs::read_to_string(&secret_file).expect("kept"), secret);
    let mut client = server.client().await;
    assert!(active(&mut client, &key, &session.token).await);
    login(&mut client).await.expect("login after restart");
    let log = server.stop("-TERM").await;
    assert!(!log.contains("rotating the session signing key"), "{log}");

    // Another secret: the signing key no longer opens. The server says so and does not
    // rotate by itself (a replica started with a wrong secret must not replace the key
    // the others sign with); sessions signed before keep verifying; once an operator
    // rotates, logins work again.
    let other = [
        ("RUST_LOG", "info"),
        ("TESSERA_SECRET_KEY", "a different server secret, 32+ bytes"),
    ];
    let server = ServeProcess::start(&url, &other);
    assert!(
        server
            .log
            .contains("logins will fail until the signing key is rotated")
    );
    let mut client = server.client().await;
    assert!(active(&mut client, &key, &session.token).await);
    let refused = login(&mut client)
        .await
        .expect_err("the signer does not open");
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );
    assert!(
        refused.message().contains("RotateSigningKey"),
        "{refused:?}"
    );
    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    tessera::proto::v1::admin_service_client::AdminServiceClient::new(channel)
        .rotate_signing_key(authed(&key, pb::RotateSigningKeyRequest {}))
        .await
        .expect("rotate");
    let fresh = login(&mut client)
        .await
        .expect("login under the new secret");
    assert!(active(&mut client, &key, &fresh.token).await);
    assert!(active(&mut client, &key, &session.token).await);
    server.stop("-TERM").await;
}
