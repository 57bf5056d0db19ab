//! The audit trail of the remaining actions: account calls, admin user and role changes,
//! rotation, revoking a user's tokens, the app registry, the signing key, client
//! credentials and a reused authorization code. Each leaves exactly one event.

use tessera::proto::v1 as pb;
use tonic::Request;

use super::oauth_apps::{REDIRECT, approved_code, post_form};
use crate::accounts::{PASSWORD, totp_at};
use crate::helpers::*;

fn count(events: &[pb::AuditEvent], action: &str, target_id: &str) -> usize {
    events
        .iter()
        .filter(|e| e.action == action && e.target_id == target_id)
        .count()
}

#[tokio::test]
async fn account_and_admin_changes_leave_one_event_each() {
    let t = spawn_app().await;
    t.create_role("reader", &["read:*"]).await;
    t.create_role("spare", &["read:spare"]).await;
    let ann = t.user_with_password("ann", &["reader"]).await;
    let session = t.login("ann", PASSWORD, "").await.expect("login").token;
    let seed = t.turn_on_totp(&session).await;
    let code = totp_at(&seed, t.now_seconds() + 30);
    let strong = t.login("ann", PASSWORD, &code).await.expect("2fa login");
    let mut account = t.account();
    let wrong = account
        .change_password(authed(
            &strong.token,
            pb::ChangePasswordRequest {
                current_password: "not her password at all".into(),
                new_password: "a brand new long password".into(),
            },
        ))
        .await;
    assert!(wrong.is_err());
    account
        .change_password(authed(
            &strong.token,
            pb::ChangePasswordRequest {
                current_password: PASSWORD.into(),
                new_password: "a brand new long password".into(),
            },
        ))
        .await
        .expect("change password");
    account
        .remove_totp(authed(&strong.token, pb::RemoveTotpRequest {}))
        .await
        .expect("remove totp");
    let mut admin = t.admin.clone();
    admin
        .reset_user_totp(authed(
            &t.admin_key,
            pb::ResetUserTotpRequest { id: ann.clone() },
        ))
        .await
        .expect("reset totp");
    admin
        .set_user_roles(authed(
            &t.admin_key,
            pb::SetUserRolesRequest {
                id: ann.clone(),
                roles: strings(&["reader", "spare"]),
            },
        ))
        .await
        .expect("set roles");
    let key = t.key_for(&ann, &["read:contacts"]).await;
    let rotated = t
        .tokens
        .clone()
        .rotate(authed(
            &t.admin_key,
            pb::RotateRequest {
                token_id: key.token_id.clone(),
                overlap: None,
            },
        ))
        .await
        .expect("rotate")
        .into_inner();
    let all = pb::revoke_request::Target::Subject(ann.clone());
    assert!(t.revoke(&t.admin_key, all).await.expect("revoke all") > 0);
    admin
        .set_user_roles(authed(
            &t.admin_key,
            pb::SetUserRolesRequest {
                id: ann.clone(),
                roles: strings(&["reader"]),
            },
        ))
        .await
        .expect("set roles");
    admin
        .delete_role(authed(
            &t.admin_key,
            pb::DeleteRoleRequest {
                name: "spare".into(),
            },
        ))
        .await
        .expect("delete role");
    let kid = admin
        .rotate_signing_key(authed(&t.admin_key, pb::RotateSigningKeyRequest {}))
        .await
        .expect("rotate key")
        .into_inner()
        .kid;

    let events = t.audit_events().await;
    for (action, target) in [
        ("account.enroll_totp", ann.as_str()),
        ("account.confirm_totp", ann.as_str()),
        ("account.remove_totp", ann.as_str()),
        ("user.reset_totp", ann.as_str()),
        ("token.rotate", key.token_id.as_str()),
        ("token.revoke", ann.as_str()),
        ("role.delete", "spare"),
        ("signing_key.rotate", kid.as_str()),
    ] {
        assert_eq!(
            count(&events, action, target),
            1,
            "{action} on {target}: {events:#?}"
        );
    }
    assert_eq!(count(&events, "user.set_roles", &ann), 2);
    let changes: Vec<_> = events
        .iter()
        .filter(|e| e.action == "account.change_password")
        .collect();
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert!(changes.iter().any(|e| e.result == "failure"));
    assert!(changes.iter().any(|e| e.result == "success"));
    let rotation = events
        .iter()
        .find(|e| e.action == "token.rotate")
        .expect("rotation");
    assert_eq!(rotation.fields["new_token_id"], rotated.token_id);
    let logins = events.iter().filter(|e| e.action == "login").count();
    assert_eq!(logins, 2);
    let text = format!("{events:?}");
    for secret in [
        PASSWORD,
        "a brand new long password",
        &code,
        &session,
        &key.token,
    ] {
        assert!(!text.contains(secret), "a secret in the trail");
    }
}

#[tokio::test]
async fn the_app_registry_and_a_reused_code_leave_one_event_each() {
    let t = spawn_app().await;
    t.create_role("editor", &["read:contacts", "write:contacts"])
        .await;
    let session = t.session_for("ann", &["editor"]).await;
    let app = t
        .register_app(
            pb::ClientType::Confidential,
            &["read:contacts"],
            &["authorization_code", "refresh_token", "client_credentials"],
        )
        .await;
    let mut admin = t.admin.clone();
    admin
        .update_client(authed(
            &t.admin_key,
            pb::UpdateClientRequest {
                client_id: app.id.clone(),
                name: "renamed app".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("update");
    let secret = admin
        .rotate_client_secret(authed(
            &t.admin_key,
            pb::RotateClientSecretRequest {
                client_id: app.id.clone(),
            },
        ))
        .await
        .expect("rotate secret")
        .into_inner()
        .client_secret;
    let grant = pb::issue_request::Grant::ClientCredentials(pb::ClientCredentialsGrant {
        client_id: app.id.clone(),
        client_secret: secret.clone(),
        scopes: Vec::new(),
    });
    let machine = t
        .tokens
        .clone()
        .issue(Request::new(pb::IssueRequest { grant: Some(grant) }))
        .await
        .expect("client credentials")
        .into_inner();
    let code = approved_code(&t, &session, &app.id).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let url = t.http_url("/oauth/token");
    let basic = Some((app.id.as_str(), secret.as_str()));
    let (status, first, _) = post_form(&url, basic, &exchange).await;
    assert_eq!(status, 200, "{first}");
    let (status, again, _) = post_form(&url, basic, &exchange).await;
    assert_eq!(status, 400, "{again}");
    for (call, disabled) in [("disable", true), ("enable", false)] {
        let id = app.id.clone();
        let done = if disabled {
            admin
                .disable_client(authed(
                    &t.admin_key,
                    pb::DisableClientRequest { client_id: id },
                ))
                .await
                .map(drop)
        } else {
            admin
                .enable_client(authed(
                    &t.admin_key,
                    pb::EnableClientRequest { client_id: id },
                ))
                .await
                .map(drop)
        };
        done.unwrap_or_else(|e| panic!("{call}: {e}"));
    }
    admin
        .delete_client(authed(
            &t.admin_key,
            pb::DeleteClientRequest {
                client_id: app.id.clone(),
            },
        ))
        .await
        .expect("delete");

    let events = t.audit_events().await;
    for action in [
        "client.create",
        "client.update",
        "client.rotate_secret",
        "client.disable",
        "client.enable",
        "client.delete",
        "oauth.approve",
    ] {
        assert_eq!(count(&events, action, &app.id), 1, "{action}: {events:#?}");
    }
    assert_eq!(count(&events, "token.issue", &machine.token_id), 1);
    let machine_event = events
        .iter()
        .find(|e| e.target_id == machine.token_id)
        .expect("client credentials event");
    assert_eq!(machine_event.fields["grant"], "client_credentials");
    assert_eq!(machine_event.actor.as_ref().expect("actor").subject, app.id);
    let reused: Vec<_> = events
        .iter()
        .filter(|e| e.action == "oauth.code_reuse")
        .collect();
    assert_eq!(reused.len(), 1, "{reused:#?}");
    assert_eq!(reused[0].result, "failure");
    let exchanged = events
        .iter()
        .find(|e| e.fields.get("grant").map(String::as_str) == Some("authorization_code"))
        .expect("exchange");
    assert_eq!(reused[0].target_id, exchanged.fields["grant_id"]);
    let text = format!("{events:?}");
    let access = first["access_token"].as_str().expect("access");
    for secret in [
        secret.as_str(),
        app.secret.as_str(),
        code.as_str(),
        access,
        &machine.token,
    ] {
        assert!(!text.contains(secret), "a secret in the trail");
    }
}

#[tokio::test]
async fn bootstrap_and_the_first_signing_key_are_recorded_as_tessera_s_own() {
    let t = spawn_app().await;
    let events = t.audit_events().await;
    let by_bootstrap: Vec<(&str, &str, &str)> = events
        .iter()
        .filter(|e| e.actor.as_ref().is_some_and(|a| a.kind == "bootstrap"))
        .map(|e| {
            (
                e.action.as_str(),
                e.target_type.as_str(),
                e.target_id.as_str(),
            )
        })
        .collect();
    // Newest first: the key, its user, the role. The key's id is the text after the
    // prefix; no event carries the key itself.
    assert_eq!(by_bootstrap.len(), 3, "{events:#?}");
    assert_eq!(
        &by_bootstrap[1..],
        [
            ("user.create", "user", t.admin_id.as_str()),
            ("role.create", "role", "admin")
        ]
    );
    let (action, target_type, key_id) = by_bootstrap[0];
    assert_eq!((action, target_type), ("token.issue", "token"));
    assert!(t.admin_key[4..].starts_with(key_id), "{key_id}");
    assert!(
        events
            .iter()
            .all(|e| e.actor.as_ref().is_some_and(|a| a.token_id.is_empty()))
    );
    assert!(
        !events.iter().any(|e| e.action == "signing_key.create"),
        "no key before a login needs one"
    );

    // The first login makes the first signing key: tessera's own change.
    t.user_with_password("ann", &[]).await;
    t.login("ann", PASSWORD, "").await.expect("login");
    let kid = t
        .tokens
        .clone()
        .get_jwks(Request::new(pb::GetJwksRequest {}))
        .await
        .expect("jwks")
        .into_inner()
        .keys
        .pop()
        .expect("a key")
        .kid;
    let events = t.audit_events().await;
    assert_eq!(count(&events, "signing_key.create", &kid), 1, "{events:#?}");
    let made = events
        .iter()
        .find(|e| e.action == "signing_key.create")
        .expect("made");
    let by = made.actor.as_ref().expect("actor");
    assert_eq!((by.kind.as_str(), by.subject.as_str()), ("system", ""));
    // A second login signs with it: no other key, no other event.
    t.login("ann", PASSWORD, "").await.expect("login");
    let again = t.audit_events().await;
    assert_eq!(
        again
            .iter()
            .filter(|e| e.action.starts_with("signing_key."))
            .count(),
        1
    );
}
