//! The audit log of a real `tessera serve` process (JSON, at trace level): every change and
//! every denied decision under the `tessera::audit` target, and no secret of the session
//! anywhere in the whole log.

use tessera::proto::v1 as pb;
use tessera::proto::v1::admin_service_client::AdminServiceClient;

use crate::helpers::*;
use crate::serve_process::ServeProcess;

/// The audit lines of `log`, parsed.
fn audit_lines(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| v["target"] == "tessera::audit")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_and_denials_are_logged_and_no_secret_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let server = ServeProcess::start(&url, &[]);
    let admin_key = std::fs::read_to_string(dir.path().join("audit.db.admin-key"))
        .expect("admin key file")
        .trim()
        .to_owned();
    let mut tokens = server.client().await;
    let mut admin = AdminServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("connect");
    let password = "a password only this test knows";
    let user = admin
        .create_user(authed(
            &admin_key,
            pb::CreateUserRequest {
                name: "ann".into(),
                roles: strings(&["admin"]),
            },
        ))
        .await
        .expect("create user")
        .into_inner();
    admin
        .set_user_password(authed(
            &admin_key,
            pb::SetUserPasswordRequest {
                id: user.id.clone(),
                password: password.into(),
            },
        ))
        .await
        .expect("set password");
    let login = pb::issue_request::Grant::Password(pb::PasswordGrant {
        username: "ann".into(),
        password: password.into(),
        totp_code: String::new(),
        ttl: None,
    });
    let session = tokens
        .issue(tonic::Request::new(pb::IssueRequest { grant: Some(login) }))
        .await
        .expect("login")
        .into_inner();
    let key = tokens
        .issue(authed(
            &admin_key,
            pb::IssueRequest {
                grant: Some(api_key(&["read:contacts"], "")),
            },
        ))
        .await
        .expect("issue")
        .into_inner();
    let client = admin
        .create_client(authed(
            &admin_key,
            crate::clients::confidential(&["read:contacts"]),
        ))
        .await
        .expect("create client")
        .into_inner();
    // A denied check: logged (the default `--audit-decisions denied`), never stored.
    let denied = tokens
        .authorize(authed(
            &admin_key,
            pb::AuthorizeRequest {
                token: key.token.clone(),
                required_scopes: strings(&["write:contacts"]),
                ..Default::default()
            },
        ))
        .await
        .expect("authorize")
        .into_inner();
    assert_eq!(denied.decision(), pb::Decision::PermissionDenied);
    let trail = admin
        .list_audit_events(authed(&admin_key, pb::ListAuditEventsRequest::default()))
        .await
        .expect("list")
        .into_inner()
        .events;
    let log = server.stop("-TERM").await;

    let lines = audit_lines(&log);
    let logged: Vec<&str> = lines
        .iter()
        .filter_map(|v| v["fields"]["action"].as_str())
        .collect();
    for action in [
        "user.create",
        "user.set_password",
        "login",
        "token.issue",
        "client.create",
    ] {
        assert!(logged.contains(&action), "{action} not logged: {logged:?}");
    }
    let decision = lines
        .iter()
        .find(|v| v["fields"]["action"] == "authorize")
        .expect("the denied decision is logged");
    assert_eq!(decision["fields"]["decision"], "permission_denied");
    assert_eq!(decision["fields"]["token_id"], key.token_id.as_str());
    assert!(
        trail.iter().all(|e| e.action != "authorize"),
        "decisions are not stored"
    );
    // Each stored event was logged once, under the same request id.
    for event in &trail {
        let same = lines
            .iter()
            .filter(|v| {
                v["fields"]["action"] == event.action.as_str()
                    && v["fields"]["request_id"] == event.request_id.as_str()
            })
            .count();
        assert_eq!(same, 1, "{event:#?}");
    }
    let secrets = [
        admin_key.as_str(),
        password,
        session.token.as_str(),
        key.token.as_str(),
        client.client_secret.as_str(),
    ];
    let stored = format!("{trail:?}");
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!log.contains(secret), "a secret in the log");
        assert!(!stored.contains(secret), "a secret in the trail");
    }
}
