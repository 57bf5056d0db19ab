//! `tessera login` and `logout` as an operator uses them: password and a TOTP code from an
//! independent generator (totp-lite), the 0600 session file, a PAT minted by the 2FA session
//! (the server's default rule), the session sent to its own server only, and logout ending
//! it on the server. Nothing printed, and nothing in the file, holds the password or the code.

use serde_json::Value;
use tessera::proto::v1 as pb;
use tessera::proto::v1::account_service_client::AccountServiceClient;

use crate::accounts::{base32_decode, totp_at};
use crate::cli::{Cli, PASSWORD, str_of};
use crate::requests::authed;
use crate::serve_process::ServeProcess;

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_password_and_totp_keeps_a_0600_session_for_its_server_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("login.db").display());
    let server = ServeProcess::start(&url, &[("RUST_LOG", "info")]);
    let admin = std::fs::read_to_string(dir.path().join("login.db.admin-key")).expect("key");
    let admin = admin.trim();
    let a = Some(admin);
    let cli = Cli::new(&server.addr);
    cli.json(a, &["role", "create", "support", "read:contacts"]);
    let alice = cli.json(a, &["user", "create", "alice", "--role", "support"]);
    let alice_id = str_of(&alice, "id").to_owned();
    let stdin = format!("{PASSWORD}\n");
    cli.json_in(
        a,
        &["user", "set-password", "Alice", "--password-stdin"],
        &stdin,
    );

    // A password-only session; it may not mint a PAT under the default rule.
    let password_only = format!("{PASSWORD}\n\n");
    let login = cli.json_in(
        None,
        &["login", "--username", "alice", "--password-stdin"],
        &password_only,
    );
    assert_eq!(str_of(&login, "user"), "alice");
    let file = cli.dir().join("session.json");
    assert_eq!((mode(&file), mode(&cli.dir())), (0o600, 0o700));
    let first: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("file")).expect("json");
    let first_session = str_of(&first, "token").to_owned();
    cli.fails(
        None,
        &["token", "issue", "pat", "laptop", "--role", "support"],
        3,
        "PERMISSION_DENIED",
    );

    // TOTP on, with codes from totp-lite; then a login with password and code.
    let mut account = AccountServiceClient::connect(cli.server.clone())
        .await
        .expect("connect");
    let enrolled = account
        .enroll_totp(authed(&first_session, pb::EnrollTotpRequest {}))
        .await
        .expect("enroll")
        .into_inner();
    let seed = base32_decode(&enrolled.secret);
    let now = now_seconds();
    let confirm = pb::ConfirmTotpRequest {
        code: totp_at(&seed, now),
    };
    account
        .confirm_totp(authed(&first_session, confirm))
        .await
        .expect("confirm");
    cli.json(None, &["logout"]);
    let code = totp_at(&seed, now + 30);
    let with_code = format!("{PASSWORD}\n{code}\n");
    cli.fails(None, &["token", "list"], 4, "no credential");
    let wrong = cli.run(
        None,
        &["login", "--username", "alice", "--password-stdin"],
        &password_only,
    );
    assert_eq!(
        wrong.code, 3,
        "a TOTP user without a code: {}",
        wrong.stderr
    );
    assert!(!file.exists(), "a failed login saves nothing");
    cli.json_in(
        None,
        &["login", "--username", "alice", "--password-stdin"],
        &with_code,
    );
    let saved = std::fs::read_to_string(&file).expect("session file");
    let session: Value = serde_json::from_str(&saved).expect("session json");
    let session_token = str_of(&session, "token").to_owned();
    for secret in [PASSWORD, code.as_str(), enrolled.secret.as_str()] {
        assert!(
            !saved.contains(secret),
            "the session file holds a secret it must not"
        );
    }

    // The 2FA session mints a PAT and lists only Alice's tokens.
    let pat = cli.json(
        None,
        &[
            "token", "issue", "pat", "laptop", "--role", "support", "--ttl", "1d",
        ],
    );
    assert_eq!(str_of(&pat, "kind"), "pat");
    let pat_secret = str_of(&pat, "token").to_owned();
    assert_eq!(
        cli.run(a, &["check", &pat_secret, "read:contacts"], "")
            .code,
        0
    );
    let mine = cli.json(None, &["token", "list"]);
    assert!(
        mine.as_array()
            .expect("list")
            .iter()
            .all(|t| t["subject"] == alice_id.as_str())
    );
    cli.fails(None, &["user", "list"], 3, "PERMISSION_DENIED");

    // The session goes to the server it was made on, and no other.
    let mut elsewhere = Cli::new(&server.addr);
    elsewhere.server = cli.server.replace("127.0.0.1", "localhost");
    elsewhere.config = tempfile::tempdir().expect("dir");
    std::fs::create_dir_all(elsewhere.dir()).expect("dir");
    std::fs::copy(&file, elsewhere.dir().join("session.json")).expect("copy session");
    elsewhere.fails(
        None,
        &["token", "list"],
        4,
        "no credential for http://localhost",
    );
    // And a session file others may read is refused, not used.
    use std::os::unix::fs::PermissionsExt;
    let copied = elsewhere.dir().join("session.json");
    std::fs::set_permissions(&copied, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    elsewhere.server = cli.server.clone();
    elsewhere.fails(None, &["token", "list"], 4, "");

    // Logout ends the session on the server, then forgets it.
    let logout = cli.json(None, &["logout"]);
    assert_eq!(str_of(&logout, "signed_out"), cli.server);
    assert!(!file.exists(), "logout forgets the session");
    let after = cli.json_in(
        a,
        &["token", "introspect", "-"],
        &format!("{session_token}\n"),
    );
    assert_eq!(
        after["active"], false,
        "logout ended the session on the server"
    );
    let by_user = cli.json(a, &["token", "revoke", "--user", "alice"]);
    assert!(by_user["revoked"].as_u64() >= Some(1));
    assert_eq!(
        cli.run(a, &["check", &pat_secret, "read:contacts"], "")
            .code,
        1
    );

    let printed = cli.printed.borrow().clone() + &elsewhere.printed.borrow();
    for (what, secret) in [
        ("admin key", admin),
        ("password", PASSWORD),
        ("TOTP code", code.as_str()),
        ("TOTP seed", enrolled.secret.as_str()),
        ("first session", first_session.as_str()),
        ("session", session_token.as_str()),
    ] {
        assert!(!printed.contains(secret), "the {what} was printed");
    }
    assert_eq!(
        printed.matches(pat_secret.as_str()).count(),
        1,
        "the PAT printed again"
    );
    server.stop("-TERM").await;
}
