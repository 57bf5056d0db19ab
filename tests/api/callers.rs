//! tessera guards itself with its own permission model.

use tessera::proto::v1 as pb;
use tonic::Code;

use crate::helpers::*;

#[tokio::test]
async fn missing_or_invalid_caller_credentials_are_unauthenticated() {
    let t = spawn_app().await;
    let no_auth = t
        .tokens
        .clone()
        .introspect(pb::IntrospectRequest {
            token: t.admin_key.clone(),
        })
        .await;
    assert_code(no_auth, Code::Unauthenticated);
    let bad = t
        .tokens
        .clone()
        .authorize(authed(
            &tamper(&t.admin_key),
            pb::AuthorizeRequest::default(),
        ))
        .await;
    assert_code(bad, Code::Unauthenticated);
    let listed = t
        .admin
        .clone()
        .list_roles(authed("nonsense", pb::ListRolesRequest::default()))
        .await;
    assert_code(listed, Code::Unauthenticated);
}

#[tokio::test]
async fn each_admin_call_needs_its_permission() {
    let t = spawn_app().await;
    t.create_role("plain", &["read:*"]).await;
    t.create_role(
        "auditor",
        &[
            "tessera:roles:read",
            "tessera:users:read",
            "tessera:tokens:read",
            "read:*",
        ],
    )
    .await;
    let plain = t.create_user("plain", &["plain"]).await;
    let auditor = t.create_user("auditor", &["auditor"]).await;
    let p = t.key_for(&plain.id, &["*"]).await.token;
    let a = t.key_for(&auditor.id, &["*"]).await.token;
    let mut admin = t.admin.clone();

    // Authorize and Introspect need tessera:introspect.
    let check = t
        .tokens
        .clone()
        .authorize(authed(
            &p,
            pb::AuthorizeRequest {
                token: p.clone(),
                required_scopes: strings(&["read:x"]),
                ..Default::default()
            },
        ))
        .await;
    assert_code(check, Code::PermissionDenied);
    let intro = t
        .tokens
        .clone()
        .introspect(authed(&p, pb::IntrospectRequest { token: p.clone() }))
        .await;
    assert_code(intro, Code::PermissionDenied);

    // Reading roles, users and others' tokens.
    assert_code(
        admin
            .list_roles(authed(&p, pb::ListRolesRequest::default()))
            .await,
        Code::PermissionDenied,
    );
    assert_code(
        admin
            .list_users(authed(&p, pb::ListUsersRequest::default()))
            .await,
        Code::PermissionDenied,
    );
    let others = admin
        .list_tokens(authed(
            &p,
            pb::ListTokensRequest {
                subject: auditor.id.clone(),
                ..Default::default()
            },
        ))
        .await;
    assert_code(others, Code::PermissionDenied);
    let users = admin
        .list_users(authed(&a, pb::ListUsersRequest::default()))
        .await
        .expect("auditor lists users");
    assert_eq!(users.into_inner().users.len(), 3);
    admin
        .list_roles(authed(&a, pb::ListRolesRequest::default()))
        .await
        .expect("auditor lists roles");
    admin
        .list_tokens(authed(
            &a,
            pb::ListTokensRequest {
                subject: plain.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("auditor lists tokens");
    // Anyone reads their own user record.
    admin
        .get_user(authed(
            &p,
            pb::GetUserRequest {
                id: plain.id.clone(),
            },
        ))
        .await
        .expect("own user");

    // Writes need the write permissions, which the auditor lacks.
    for caller in [&p, &a] {
        let create = admin
            .create_role(authed(
                caller,
                pb::CreateRoleRequest {
                    name: "x".into(),
                    permissions: strings(&["*"]),
                    description: String::new(),
                },
            ))
            .await;
        assert_code(create, Code::PermissionDenied);
        let grant = admin
            .set_user_roles(authed(
                caller,
                pb::SetUserRolesRequest {
                    id: plain.id.clone(),
                    roles: strings(&["auditor"]),
                },
            ))
            .await;
        assert_code(grant, Code::PermissionDenied);
        let disable = admin
            .disable_user(authed(
                caller,
                pb::DisableUserRequest {
                    id: auditor.id.clone(),
                },
            ))
            .await;
        assert_code(disable, Code::PermissionDenied);
        // An API key for another user needs tessera:tokens:issue.
        assert_code(
            t.issue(caller, api_key(&["read:*"], &t.admin_id)).await,
            Code::PermissionDenied,
        );
    }
    // Nothing changed.
    let role = admin
        .get_role(authed(
            &t.admin_key,
            pb::GetRoleRequest { name: "x".into() },
        ))
        .await;
    assert_code(role, Code::NotFound);
    let user = admin
        .get_user(authed(
            &a,
            pb::GetUserRequest {
                id: plain.id.clone(),
            },
        ))
        .await
        .expect("get");
    assert_eq!(user.into_inner().roles, vec!["plain"]);
}

#[tokio::test]
async fn roles_and_users_crud() {
    let t = spawn_app().await;
    let mut admin = t.admin.clone();
    let key = &t.admin_key;
    t.create_role("r", &["read:*", "read:contacts"]).await;
    let role = admin
        .get_role(authed(key, pb::GetRoleRequest { name: "r".into() }))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(role.permissions, vec!["read:*"], "kept in minimal form");
    let dup = admin
        .create_role(authed(
            key,
            pb::CreateRoleRequest {
                name: "r".into(),
                permissions: strings(&["x"]),
                description: String::new(),
            },
        ))
        .await;
    assert_code(dup, Code::AlreadyExists);

    let user = t.create_user("mia@example.com", &["r"]).await;
    assert!(user.id.starts_with("usr_"));
    assert!(!user.disabled);
    assert!(user.created_at.is_some());
    let dup = admin
        .create_user(authed(
            key,
            pb::CreateUserRequest {
                name: "mia@example.com".into(),
                roles: vec![],
            },
        ))
        .await;
    assert_code(dup, Code::AlreadyExists);

    let held = admin
        .delete_role(authed(key, pb::DeleteRoleRequest { name: "r".into() }))
        .await;
    assert_code(held, Code::FailedPrecondition);
    admin
        .set_user_roles(authed(
            key,
            pb::SetUserRolesRequest {
                id: user.id.clone(),
                roles: vec![],
            },
        ))
        .await
        .expect("clear roles");
    admin
        .delete_role(authed(key, pb::DeleteRoleRequest { name: "r".into() }))
        .await
        .expect("delete");
    let gone = admin
        .get_role(authed(key, pb::GetRoleRequest { name: "r".into() }))
        .await;
    assert_code(gone, Code::NotFound);
    let gone = admin
        .delete_role(authed(key, pb::DeleteRoleRequest { name: "r".into() }))
        .await;
    assert_code(gone, Code::NotFound);
    let missing = admin
        .get_user(authed(
            key,
            pb::GetUserRequest {
                id: "usr_nope".into(),
            },
        ))
        .await;
    assert_code(missing, Code::NotFound);
    let missing = admin
        .disable_user(authed(
            key,
            pb::DisableUserRequest {
                id: "usr_nope".into(),
            },
        ))
        .await;
    assert_code(missing, Code::NotFound);
}
