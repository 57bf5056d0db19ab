//! The audit trail: every change leaves exactly one event, written with the change; a
//! refused or failed change leaves none; no event carries a secret. Runs on both backends.

use tessera::domain::ports::UserStore;
use tessera::proto::v1 as pb;
use tonic::Request;

use super::oauth_apps::{self as apps, REDIRECT};
use crate::accounts::PASSWORD;
use crate::helpers::*;

impl TestApp {
    /// Every event, newest first, read page by page as an operator would.
    pub async fn audit_events(&self) -> Vec<pb::AuditEvent> {
        let mut events = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .admin
                .clone()
                .list_audit_events(authed(
                    &self.admin_key,
                    pb::ListAuditEventsRequest {
                        page_size: 7,
                        page_token,
                        ..Default::default()
                    },
                ))
                .await
                .expect("list audit events")
                .into_inner();
            events.extend(page.events);
            if page.next_page_token.is_empty() {
                return events;
            }
            page_token = page.next_page_token;
        }
    }
}

/// The one event of `action` on `target_id`; fails unless there is exactly one.
fn one<'a>(events: &'a [pb::AuditEvent], action: &str, target_id: &str) -> &'a pb::AuditEvent {
    let found: Vec<_> = events
        .iter()
        .filter(|e| e.action == action && e.target_id == target_id)
        .collect();
    assert_eq!(found.len(), 1, "{action} on {target_id}: {found:#?}");
    found[0]
}

fn actor(e: &pb::AuditEvent) -> &pb::AuditActor {
    e.actor.as_ref().expect("actor")
}

#[tokio::test]
async fn each_change_leaves_one_event_and_a_refused_one_none() {
    let t = spawn_app().await;
    t.create_role("reader", &["read:*", "tessera:tokens:issue"])
        .await;
    t.set_role("reader", &["read:*", "tessera:tokens:issue", "write:notes"])
        .await;
    // A duplicate role is refused by the database's unique constraint: no event.
    assert!(t.try_create_role("reader", &["read:*"]).await.is_err());
    let ann = t.user_with_password("ann", &["reader"]).await;
    let key = t.key_for(&ann, &["read:contacts"]).await;
    let by_id = pb::revoke_request::Target::TokenId(key.token_id.clone());
    assert_eq!(
        t.revoke(&t.admin_key, by_id.clone()).await.expect("revoke"),
        1
    );
    // Revoking it again changes nothing, and so records nothing.
    assert_eq!(t.revoke(&t.admin_key, by_id).await.expect("revoke"), 0);
    let session = t.login("ann", PASSWORD, "").await.expect("login");
    assert!(t.login("ann", "not the password at all", "").await.is_err());
    let pat = t.pat(&session.token, "reader").await.expect("pat");
    let mut admin = t.admin.clone();
    admin
        .disable_user(authed(
            &t.admin_key,
            pb::DisableUserRequest { id: ann.clone() },
        ))
        .await
        .expect("disable");
    admin
        .enable_user(authed(
            &t.admin_key,
            pb::EnableUserRequest { id: ann.clone() },
        ))
        .await
        .expect("enable");
    // A user with an unknown role is refused before any write.
    assert!(
        admin
            .create_user(authed(
                &t.admin_key,
                pb::CreateUserRequest {
                    name: "bob".into(),
                    roles: strings(&["no-such-role"]),
                },
            ))
            .await
            .is_err()
    );

    let events = t.audit_events().await;
    let admin_actor = |e: &pb::AuditEvent| {
        let a = actor(e);
        assert_eq!(
            (a.subject.as_str(), a.kind.as_str()),
            (t.admin_id.as_str(), "api_key"),
            "{e:#?}"
        );
        assert!(
            !a.token_id.is_empty() && a.peer.starts_with("127.0.0.1:"),
            "{e:#?}"
        );
        assert!(!e.request_id.is_empty(), "{e:#?}");
        assert_eq!(e.result, "success", "{e:#?}");
    };
    admin_actor(one(&events, "role.create", "reader"));
    admin_actor(one(&events, "role.set_permissions", "reader"));
    let created = one(&events, "user.create", &ann);
    admin_actor(created);
    assert_eq!(created.fields["name"], "ann");
    assert_eq!(created.fields["roles"], "reader");
    admin_actor(one(&events, "user.set_password", &ann));
    let issued = one(&events, "token.issue", &key.token_id);
    admin_actor(issued);
    assert_eq!(issued.target_type, "token");
    assert_eq!(issued.fields["kind"], "api_key");
    assert_eq!(issued.fields["subject"], ann);
    admin_actor(one(&events, "token.revoke", &key.token_id));
    admin_actor(one(&events, "user.disable", &ann));
    admin_actor(one(&events, "user.enable", &ann));

    let logins: Vec<_> = events.iter().filter(|e| e.action == "login").collect();
    assert_eq!(logins.len(), 2, "{logins:#?}");
    let ok = logins
        .iter()
        .find(|e| e.result == "success")
        .expect("success");
    assert_eq!(actor(ok).token_id, session.token_id);
    assert_eq!(actor(ok).subject, ann);
    assert_eq!(actor(ok).kind, "session");
    assert_eq!(ok.fields["amr"], "pwd");
    let failed = logins
        .iter()
        .find(|e| e.result == "failure")
        .expect("failure");
    assert_eq!(
        (failed.target_type.as_str(), failed.target_id.as_str()),
        ("user", ann.as_str())
    );
    assert!(actor(failed).token_id.is_empty());

    let minted = one(&events, "token.issue", &pat.token_id);
    assert_eq!(actor(minted).token_id, session.token_id);
    assert_eq!(minted.fields["kind"], "pat");
    assert_eq!(minted.fields["role"], "reader");

    // Exactly these besides bootstrap's and the first signing key's (see audit_actions),
    // and newest first.
    let asked = events
        .iter()
        .filter(|e| !matches!(actor(e).kind.as_str(), "bootstrap" | "system"))
        .count();
    assert_eq!(asked, 11, "{events:#?}");
    assert!(events.windows(2).all(|w| w[0].seq > w[1].seq));
    assert_no_secret(
        &events,
        &[
            &key.token,
            &session.token,
            &pat.token,
            PASSWORD,
            &t.admin_key,
        ],
    );
}

/// No event holds any of `secrets`, nor a long piece of one.
fn assert_no_secret(events: &[pb::AuditEvent], secrets: &[&str]) {
    let text = format!("{events:?}");
    for secret in secrets {
        assert!(!text.contains(secret), "a secret in the trail: {text}");
        if secret.len() > 40 {
            assert!(!text.contains(&secret[secret.len() - 24..]), "{text}");
        }
    }
}

#[tokio::test]
async fn the_oauth_flow_and_its_reuses_are_recorded() {
    let t = spawn_app().await;
    let session = apps::ann(&t).await;
    let ann = t
        .store
        .get_user_by_name("ann")
        .await
        .expect("read")
        .expect("ann")
        .id;
    let (app, first) = apps::connected(&t, &session, &["read:contacts"]).await;
    let refresh = first["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let token_url = t.http_url("/oauth/token");
    let basic = Some((app.id.as_str(), app.secret.as_str()));
    let renew = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let (status, renewed, _) = apps::post_form(&token_url, basic, &renew).await;
    assert_eq!(status, 200, "{renewed}");
    // The consumed refresh token, presented again: theft. Its grant ends.
    let (status, reused, _) = apps::post_form(&token_url, basic, &renew).await;
    assert_eq!(status, 400, "{reused}");
    // A denial writes nothing else: its event is its record.
    t.oauth_service()
        .deny_authorization(authed(
            &session,
            pb::DenyAuthorizationRequest {
                client_id: app.id.clone(),
                redirect_uri: REDIRECT.into(),
                state: "xyz".into(),
            },
        ))
        .await
        .expect("deny");

    let events = t.audit_events().await;
    let created = one(&events, "client.create", &app.id);
    assert_eq!(created.fields["type"], "confidential");
    let approved = one(&events, "oauth.approve", &app.id);
    assert_eq!(actor(approved).subject, ann);
    assert_eq!(actor(approved).kind, "session");
    let grants: Vec<_> = events
        .iter()
        .filter(|e| e.action == "token.issue" && actor(e).kind == "client")
        .collect();
    assert_eq!(grants.len(), 2, "{grants:#?}");
    let by_code = grants
        .iter()
        .find(|e| e.fields["grant"] == "authorization_code")
        .expect("code exchange");
    assert_eq!(actor(by_code).subject, app.id);
    assert_eq!(by_code.fields["subject"], ann);
    let by_refresh = grants
        .iter()
        .find(|e| e.fields["grant"] == "refresh_token")
        .expect("refresh");
    assert_eq!(by_refresh.fields["grant_id"], by_code.fields["grant_id"]);
    let theft = one(&events, "oauth.refresh_reuse", &by_code.fields["grant_id"]);
    assert_eq!(theft.result, "failure");
    assert_eq!(theft.target_type, "grant");
    one(&events, "oauth.deny", &app.id);
    let secrets = [
        refresh.as_str(),
        first["access_token"].as_str().expect("access"),
        renewed["access_token"].as_str().expect("access"),
        renewed["refresh_token"].as_str().expect("refresh"),
        app.secret.as_str(),
        session.as_str(),
    ];
    assert_no_secret(&events, &secrets);
}

#[tokio::test]
async fn the_request_id_is_answered_and_kept() {
    let t = spawn_app().await;
    let mut request = authed(
        &t.admin_key,
        pb::CreateRoleRequest {
            name: "tagged".into(),
            permissions: strings(&["read:*"]),
            description: String::new(),
        },
    );
    request
        .metadata_mut()
        .insert("x-request-id", "req-from-caller-42".parse().expect("ascii"));
    let answered = t.admin.clone().create_role(request).await.expect("create");
    assert_eq!(
        answered.metadata().get("x-request-id").expect("answered"),
        "req-from-caller-42"
    );
    // Without one (or with one that is not plain text), tessera makes one and answers it.
    let mut odd = authed(
        &t.admin_key,
        pb::CreateRoleRequest {
            name: "untagged".into(),
            permissions: strings(&["read:*"]),
            description: String::new(),
        },
    );
    odd.metadata_mut()
        .insert("x-request-id", "has spaces in it".parse().expect("ascii"));
    let answered = t.admin.clone().create_role(odd).await.expect("create");
    let made = answered
        .metadata()
        .get("x-request-id")
        .expect("answered")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(!made.is_empty() && !made.contains(' '), "{made}");

    let events = t.audit_events().await;
    assert_eq!(
        one(&events, "role.create", "tagged").request_id,
        "req-from-caller-42"
    );
    assert_eq!(one(&events, "role.create", "untagged").request_id, made);
    // A refused call answers its request id too.
    let refused = t
        .admin
        .clone()
        .list_audit_events(Request::new(pb::ListAuditEventsRequest::default()))
        .await
        .expect_err("no credential");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert!(refused.metadata().get("x-request-id").is_some());
}

#[tokio::test]
async fn the_listing_filters_and_needs_its_permission() {
    let t = spawn_app().await;
    t.create_role("reader", &["read:*"]).await;
    let ann = t.create_user("ann", &["reader"]).await;
    let key = t.key_for(&ann.id, &["read:contacts"]).await;
    let list = |req: pb::ListAuditEventsRequest, caller: String| {
        let mut admin = t.admin.clone();
        async move {
            admin
                .list_audit_events(authed(&caller, req))
                .await
                .map(|r| r.into_inner().events)
        }
    };
    let issues = list(
        pb::ListAuditEventsRequest {
            action: "token.issue".into(),
            ..Default::default()
        },
        t.admin_key.clone(),
    )
    .await
    .expect("list");
    // Ann's key, and before it the admin key bootstrap minted.
    assert_eq!(issues.len(), 2, "{issues:#?}");
    assert_eq!(issues[0].target_id, key.token_id);
    assert_eq!(actor(&issues[1]).kind, "bootstrap");
    // By subject: the events by ann or on ann (here: ann's creation, and her key's issue
    // names her only in a field, so it is not among them).
    let about_ann = list(
        pb::ListAuditEventsRequest {
            subject: ann.id.clone(),
            ..Default::default()
        },
        t.admin_key.clone(),
    )
    .await
    .expect("list");
    assert_eq!(
        about_ann
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["user.create"]
    );
    // A time window after every event holds none.
    let later = list(
        pb::ListAuditEventsRequest {
            since: Some(prost_types::Timestamp {
                seconds: i64::try_from(t.now_seconds()).expect("seconds") + 3600,
                nanos: 0,
            }),
            ..Default::default()
        },
        t.admin_key.clone(),
    )
    .await
    .expect("list");
    assert!(later.is_empty(), "{later:#?}");
    // Ann's key cannot read the trail.
    let denied = list(pb::ListAuditEventsRequest::default(), key.token.clone())
        .await
        .expect_err("no tessera:audit:read");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let bad = list(
        pb::ListAuditEventsRequest {
            page_token: "not-a-token".into(),
            ..Default::default()
        },
        t.admin_key.clone(),
    )
    .await
    .expect_err("bad page token");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
}
