//! No escalation through tessera's own permissions: the three one-call escalations found by
//! hand, each refused, and the verbs that lift the rule.

use tessera::proto::v1 as pb;
use tonic::Code;

use crate::helpers::*;

/// A user holding `permissions` through a role of its own, and a key of it scoped `*`.
async fn holder(t: &TestApp, name: &str, permissions: &[&str]) -> (pb::User, String) {
    t.create_role(name, permissions).await;
    let user = t.create_user(name, &[name]).await;
    let key = t.key_for(&user.id, &["*"]).await.token;
    (user, key)
}

fn denied_naming(result: Result<impl std::fmt::Debug, tonic::Status>, missing: &str) {
    let status = result.expect_err("escalation refused");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains(missing), "{status:?}");
}

#[tokio::test]
async fn an_issuer_mints_for_others_only_within_its_own_permissions() {
    let t = spawn_app().await;
    let (_, issuer) = holder(&t, "minter", &["tessera:tokens:issue", "read:*"]).await;
    // For the admin user, who holds `*`: the key gets what the issuer holds, no more.
    let minted = t
        .issue(&issuer, api_key(&["*"], &t.admin_id))
        .await
        .expect("capped, not refused");
    assert_eq!(minted.scopes, vec!["read:*", "tessera:tokens:issue"]);
    assert_eq!(minted.stripped_scopes, vec!["*"]);
    assert_denied(&t.check(&minted.token, &["tessera:users:write"]).await);
    assert_denied(&t.check(&minted.token, &["write:x"]).await);
    assert_allow(&t.check(&minted.token, &["read:x"]).await);

    // Holding only tessera:tokens:issue, a key for the admin gets only that (it got `*`).
    let (_, bare) = holder(&t, "bare-minter", &["tessera:tokens:issue"]).await;
    let minted = t
        .issue(&bare, api_key(&["*"], &t.admin_id))
        .await
        .expect("capped");
    assert_eq!(minted.scopes, vec!["tessera:tokens:issue"]);
    assert_denied(&t.check(&minted.token, &["tessera:roles:write"]).await);
    // Asking only for what the issuer lacks is refused outright.
    let refused = t.issue(&bare, api_key(&["write:*"], &t.admin_id)).await;
    assert_code(refused, Code::PermissionDenied);
}

#[tokio::test]
async fn role_contents_are_limited_to_what_the_caller_holds() {
    let t = spawn_app().await;
    let (_, writer) = holder(&t, "role-writer", &["tessera:roles:write", "read:*"]).await;
    let mut admin = t.admin.clone();
    let create = |name: &str, permissions: &[&str]| {
        authed(
            &writer,
            pb::CreateRoleRequest {
                name: name.into(),
                permissions: strings(permissions),
                description: String::new(),
            },
        )
    };
    denied_naming(admin.create_role(create("god", &["*"])).await, "*");
    denied_naming(
        admin
            .create_role(create("mixed", &["read:x", "write:x"]))
            .await,
        "write:x",
    );
    admin
        .create_role(create("readers", &["read:contacts", "read:*"]))
        .await
        .expect("held permissions may be granted");
    // Editing a role (its own included) is held to the same rule.
    denied_naming(
        admin
            .set_role_permissions(authed(
                &writer,
                pb::SetRolePermissionsRequest {
                    name: "role-writer".into(),
                    permissions: strings(&["tessera:roles:write", "*"]),
                },
            ))
            .await,
        "*",
    );

    // tessera:roles:escalate lifts the rule.
    let (_, escalator) = holder(
        &t,
        "escalator",
        &["tessera:roles:write", "tessera:roles:escalate"],
    )
    .await;
    admin
        .create_role(authed(
            &escalator,
            pb::CreateRoleRequest {
                name: "anything".into(),
                permissions: strings(&["*"]),
                description: String::new(),
            },
        ))
        .await
        .expect("escalate lifts the rule");
}

#[tokio::test]
async fn roles_are_assigned_only_by_holders_of_their_permissions() {
    let t = spawn_app().await;
    let (hr, hr_key) = holder(&t, "hr", &["tessera:users:write", "read:*"]).await;
    t.create_role("reader", &["read:*"]).await;
    let mut admin = t.admin.clone();
    let set_roles = |id: &str, roles: &[&str]| {
        authed(
            &hr_key,
            pb::SetUserRolesRequest {
                id: id.into(),
                roles: strings(roles),
            },
        )
    };
    // HR gives itself admin: refused, naming what admin grants.
    denied_naming(
        admin
            .set_user_roles(set_roles(&hr.id, &["hr", "admin"]))
            .await,
        "*",
    );
    denied_naming(
        admin
            .create_user(authed(
                &hr_key,
                pb::CreateUserRequest {
                    name: "puppet".into(),
                    roles: strings(&["admin"]),
                },
            ))
            .await,
        "*",
    );
    // A role within what HR holds may be assigned; removing a role needs nothing.
    let user = admin
        .create_user(authed(
            &hr_key,
            pb::CreateUserRequest {
                name: "reader-user".into(),
                roles: strings(&["reader"]),
            },
        ))
        .await
        .expect("held")
        .into_inner();
    admin
        .set_user_roles(set_roles(&user.id, &["reader"]))
        .await
        .expect("unchanged roles");
    // Removing grants nothing, even a role HR could not assign.
    let (kept, _) = holder(&t, "kept", &["write:*"]).await;
    let stripped = admin
        .set_user_roles(set_roles(&kept.id, &[]))
        .await
        .expect("removing grants nothing");
    assert!(stripped.into_inner().roles.is_empty());

    // tessera:users:bind lifts the rule.
    let (binder, binder_key) =
        holder(&t, "binder", &["tessera:users:write", "tessera:users:bind"]).await;
    admin
        .set_user_roles(authed(
            &binder_key,
            pb::SetUserRolesRequest {
                id: binder.id.clone(),
                roles: strings(&["binder", "admin"]),
            },
        ))
        .await
        .expect("bind lifts the rule");
}

/// `*:*:write` ("write anything in our apps") never grants tessera's own permissions: the
/// namespace is reserved for `tessera:…` patterns and the lone `*`.
#[tokio::test]
async fn tesseras_own_permissions_are_reserved() {
    let t = spawn_app().await;
    let (_, writer) = holder(&t, "app-writer", &["*:*:write", "*:*:read"]).await;
    let refused = t
        .admin
        .clone()
        .create_role(authed(
            &writer,
            pb::CreateRoleRequest {
                name: "god".into(),
                permissions: strings(&["*"]),
                description: String::new(),
            },
        ))
        .await;
    assert_code(refused, Code::PermissionDenied);
    let key = t.key_for(&t.admin_id, &["*:*:write"]).await;
    assert_denied(&t.check(&key.token, &["tessera:users:write"]).await);
    assert_allow(&t.check(&key.token, &["crm:users:write"]).await);
    let own = t.key_for(&t.admin_id, &["tessera:*:write"]).await;
    assert_allow(&t.check(&own.token, &["tessera:users:write"]).await);
}

/// Binding a PAT reveals nothing about roles the caller may not read: a role it does not
/// hold answers exactly as a role that does not exist, and `stripped_scopes` names only
/// permissions the caller holds.
#[tokio::test]
async fn pats_reveal_no_role_the_caller_may_not_read() {
    let t = spawn_app().await;
    t.create_role("secret", &["payroll:*"]).await;
    t.create_role("wide", &["read:contacts", "write:contacts", "billing:*"])
        .await;
    let user = t.create_user("curious", &["wide"]).await;
    let key = t.key_for(&user.id, &["*"]).await.token;
    let held_elsewhere = t.pat(&key, "secret").await.expect_err("not held");
    let missing = t.pat(&key, "nosuch").await.expect_err("no such role");
    assert_eq!(held_elsewhere.code(), Code::InvalidArgument);
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert_eq!(
        held_elsewhere.message().replace("secret", "X"),
        missing.message().replace("nosuch", "X")
    );
    // A narrow credential of the same user binds its own role, and learns nothing of the
    // role's other permissions from what was stripped.
    let narrow = t
        .issue(&key, api_key(&["read:contacts"], ""))
        .await
        .expect("narrow")
        .token;
    let pat = t.pat(&narrow, "wide").await.expect("own role");
    assert_eq!(pat.scopes, vec!["read:contacts"]);
    assert!(pat.stripped_scopes.is_empty(), "{:?}", pat.stripped_scopes);
    // The admin, who may read roles, is told what was stripped.
    let admin_pat = t.pat(&t.admin_key, "secret").await.expect("roles:read");
    assert_eq!(admin_pat.scopes, vec!["payroll:*"]);
}

/// Each of tessera's own permissions works on its own, for a holder that is no admin, within
/// what that holder holds.
#[tokio::test]
async fn delegated_permissions_work_without_being_admin() {
    let t = spawn_app().await;
    t.create_role("gateway", &["tessera:introspect"]).await;
    // Issuing for others and assigning roles grant only what the caller holds itself (the
    // escalation rule), so the issuer and HR hold the app's permissions too. Before the
    // rule, this test had them grant permissions they did not hold: a test of the bug.
    t.create_role("issuer", &["tessera:tokens:issue", "read:*"])
        .await;
    t.create_role("revoker", &["tessera:tokens:revoke"]).await;
    t.create_role(
        "people",
        &["tessera:users:write", "tessera:users:read", "read:*"],
    )
    .await;
    t.create_role("app", &["read:*"]).await;
    let gw = t.create_user("gateway", &["gateway"]).await;
    let issuer = t.create_user("issuer", &["issuer"]).await;
    let revoker = t.create_user("revoker", &["revoker"]).await;
    let hr = t.create_user("hr", &["people"]).await;
    let worker = t.create_user("worker", &["app"]).await;
    let gw_key = t.key_for(&gw.id, &["*"]).await.token;
    let issuer_key = t.key_for(&issuer.id, &["*"]).await.token;
    let revoker_key = t.key_for(&revoker.id, &["*"]).await.token;
    let hr_key = t.key_for(&hr.id, &["*"]).await.token;

    // The issuer mints a key for the worker, within the worker's permissions.
    let minted = t
        .issue(
            &issuer_key,
            api_key(&["read:contacts", "write:contacts"], &worker.id),
        )
        .await
        .expect("tokens:issue mints for another user");
    assert_eq!(minted.scopes, vec!["read:contacts"]);

    // The gateway may check tokens, though it holds nothing else.
    let r = t
        .tokens
        .clone()
        .authorize(authed(
            &gw_key,
            pb::AuthorizeRequest {
                token: minted.token.clone(),
                required_scopes: strings(&["read:contacts"]),
                ..Default::default()
            },
        ))
        .await
        .expect("introspect permission")
        .into_inner();
    assert_allow(&r);
    let intro = t
        .tokens
        .clone()
        .introspect(authed(
            &gw_key,
            pb::IntrospectRequest {
                token: minted.token.clone(),
            },
        ))
        .await
        .expect("introspect")
        .into_inner();
    assert_eq!(intro.subject, worker.id);

    // HR creates a user and disables the worker; the worker's key stops working.
    let mut admin = t.admin.clone();
    let new = admin
        .create_user(authed(
            &hr_key,
            pb::CreateUserRequest {
                name: "newbie".into(),
                roles: strings(&["app"]),
            },
        ))
        .await
        .expect("users:write creates users")
        .into_inner();
    assert_eq!(new.roles, vec!["app"]);
    // A role granting what HR does not hold is not HR's to assign.
    let refused = admin
        .set_user_roles(authed(
            &hr_key,
            pb::SetUserRolesRequest {
                id: new.id.clone(),
                roles: strings(&["app", "issuer"]),
            },
        ))
        .await
        .expect_err("issuer grants tessera:tokens:issue");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("tessera:tokens:issue"),
        "{refused:?}"
    );
    admin
        .disable_user(authed(
            &hr_key,
            pb::DisableUserRequest {
                id: worker.id.clone(),
            },
        ))
        .await
        .expect("users:write disables");
    assert_unauthenticated(&t.check(&minted.token, &["read:contacts"]).await);
    admin
        .enable_user(authed(
            &hr_key,
            pb::EnableUserRequest {
                id: worker.id.clone(),
            },
        ))
        .await
        .expect("users:write enables");
    assert_allow(&t.check(&minted.token, &["read:contacts"]).await);

    // The revoker revokes another user's token by id and all tokens of a subject.
    let revoked = t
        .revoke(
            &revoker_key,
            pb::revoke_request::Target::TokenId(minted.token_id.clone()),
        )
        .await
        .expect("tokens:revoke");
    assert_eq!(revoked, 1);
    assert_unauthenticated(&t.check(&minted.token, &["read:contacts"]).await);
    let revoked = t
        .revoke(
            &revoker_key,
            pb::revoke_request::Target::Subject(hr.id.clone()),
        )
        .await
        .expect("tokens:revoke by subject");
    assert_eq!(revoked, 1);
    let gone = admin
        .list_users(authed(&hr_key, pb::ListUsersRequest::default()))
        .await;
    assert_code(gone, Code::Unauthenticated);
}
