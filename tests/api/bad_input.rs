//! Bad input gets a clear answer naming the field, and changes nothing.

use tessera::proto::v1 as pb;
use tonic::Code;

use crate::helpers::*;

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, tonic::Status>, field: &str) {
    let status = assert_code(result, Code::InvalidArgument);
    assert!(
        status.message().starts_with(field),
        "{field:?} not named in {:?}",
        status.message()
    );
}

#[tokio::test]
async fn garbage_tokens_are_unauthenticated_never_allowed() {
    let t = spawn_app().await;
    let real = t.key_for(&t.admin_id, &["*"]).await.token;
    let random_bytes: String = (0..300u32)
        .map(|i| char::from_u32(0x20 + (i * 7919) % 0x5f).unwrap_or('x'))
        .collect();
    // Well formed, right checksum, but an id the store has never seen.
    let unknown = {
        let other = t.app.clone();
        let fresh = spawn_app().await;
        drop(other);
        fresh.key_for(&fresh.admin_id, &["*"]).await.token
    };
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("random bytes", random_bytes),
        ("wrong prefix", real.replacen("tsk_", "ghp_", 1)),
        ("bad checksum", tamper(&real)),
        ("unknown id", unknown),
        ("truncated", real[..real.len() - 5].to_owned()),
        ("over 4 KiB", format!("{real}{}", "a".repeat(5000))),
        ("1 MiB", "tsk_".repeat(256 * 1024)),
        ("bearer only", "Bearer ".to_owned()),
    ];
    for (what, token) in cases {
        let r = t.check(&token, &["read:x"]).await;
        assert_unauthenticated(&r);
        let intro = t.introspect(&token).await;
        assert_eq!(
            intro,
            pb::IntrospectResponse::default(),
            "{what}: inactive and nothing else"
        );
    }
    assert_allow(&t.check(&real, &["read:x"]).await);
}

#[tokio::test]
async fn malformed_fields_name_the_field() {
    let t = spawn_app().await;
    let key = &t.admin_key;
    let mut admin = t.admin.clone();
    let mut tokens = t.tokens.clone();

    let bad_scope = pb::AuthorizeRequest {
        token: key.clone(),
        required_scopes: strings(&["read:x", "Read:X"]),
        ..Default::default()
    };
    assert_invalid(
        tokens.authorize(authed(key, bad_scope)).await,
        "required_scopes[1]",
    );
    let empty = pb::AuthorizeRequest {
        token: key.clone(),
        ..Default::default()
    };
    assert_invalid(
        tokens.authorize(authed(key, empty)).await,
        "required_scopes",
    );
    let many: Vec<String> = (0..65).map(|i| format!("read:p{i}")).collect();
    let too_many = pb::AuthorizeRequest {
        token: key.clone(),
        required_scopes: many,
        ..Default::default()
    };
    assert_invalid(
        tokens.authorize(authed(key, too_many)).await,
        "required_scopes",
    );

    assert_invalid(t.issue(key, api_key(&[], "")).await, "api_key.scopes");
    assert_invalid(
        t.issue(key, api_key(&["read::x"], "")).await,
        "api_key.scopes[0]",
    );
    assert_invalid(
        t.issue(key, api_key(&["a:b:c:d:e:f:g:h:i"], "")).await,
        "api_key.scopes[0]",
    );
    assert_invalid(
        t.issue(key, api_key(&[&"a".repeat(257)], "")).await,
        "api_key.scopes[0]",
    );
    let negative_ttl = pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
        name: "k".into(),
        scopes: strings(&["read:x"]),
        ttl: Some(prost_types::Duration {
            seconds: -5,
            nanos: 0,
        }),
        ..Default::default()
    });
    assert_invalid(t.issue(key, negative_ttl).await, "api_key.ttl");
    let no_name = pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
        scopes: strings(&["read:x"]),
        ..Default::default()
    });
    assert_invalid(t.issue(key, no_name).await, "api_key.name");
    assert_invalid(t.pat(key, "no-such-role").await, "pat.role");
    assert_invalid(
        tokens
            .issue(authed(key, pb::IssueRequest { grant: None }))
            .await,
        "grant",
    );
    assert_invalid(
        tokens
            .revoke(authed(key, pb::RevokeRequest { target: None }))
            .await,
        "target",
    );

    let bad_role = pb::CreateRoleRequest {
        name: "Bad Name".into(),
        permissions: vec![],
        description: String::new(),
    };
    assert_invalid(admin.create_role(authed(key, bad_role)).await, "name");
    let bad_perm = pb::CreateRoleRequest {
        name: "ok".into(),
        permissions: strings(&["read:*", "x y"]),
        description: String::new(),
    };
    assert_invalid(
        admin.create_role(authed(key, bad_perm)).await,
        "permissions[1]",
    );
    let dup_perm = pb::CreateRoleRequest {
        name: "ok".into(),
        permissions: strings(&["read:x", "read:x"]),
        description: String::new(),
    };
    assert_invalid(
        admin.create_role(authed(key, dup_perm)).await,
        "permissions[1]",
    );
    let unknown_role = pb::CreateUserRequest {
        name: "nina".into(),
        roles: strings(&["admin", "ghost"]),
    };
    assert_invalid(
        admin.create_user(authed(key, unknown_role)).await,
        "roles[1]",
    );
    let dup_role = pb::CreateUserRequest {
        name: "nina".into(),
        roles: strings(&["admin", "admin"]),
    };
    assert_invalid(admin.create_user(authed(key, dup_role)).await, "roles[1]");
    let bad_user = pb::CreateUserRequest {
        name: "".into(),
        roles: vec![],
    };
    assert_invalid(admin.create_user(authed(key, bad_user)).await, "name");

    // Unknown roles are named by their position in the request, whatever the order.
    let unsorted = pb::CreateUserRequest {
        name: "nina".into(),
        roles: strings(&["zzz", "admin"]),
    };
    assert_invalid(admin.create_user(authed(key, unsorted)).await, "roles[0]");
    let set_unknown = pb::SetUserRolesRequest {
        id: t.admin_id.clone(),
        roles: strings(&["admin", "ghost"]),
    };
    assert_invalid(
        admin.set_user_roles(authed(key, set_unknown)).await,
        "roles[1]",
    );
    let missing_role = pb::SetRolePermissionsRequest {
        name: "ghost".into(),
        permissions: strings(&["read:x"]),
    };
    assert_code(
        admin.set_role_permissions(authed(key, missing_role)).await,
        Code::NotFound,
    );
    let bad_page = pb::ListTokensRequest {
        page_token: "not-a-cursor".into(),
        ..Default::default()
    };
    assert_invalid(admin.list_tokens(authed(key, bad_page)).await, "page_token");
    let bad_match = pb::AuthorizeRequest {
        token: key.clone(),
        required_scopes: strings(&["read:x"]),
        r#match: 7,
        mutating: false,
    };
    assert_invalid(tokens.authorize(authed(key, bad_match)).await, "match");
    let empty_id = pb::GetUserRequest { id: String::new() };
    assert_invalid(admin.get_user(authed(key, empty_id)).await, "id");
    // A whole token pasted as a token id is refused without being echoed, and not revoked.
    let pasted = pb::RevokeRequest {
        target: Some(pb::revoke_request::Target::TokenId(key.clone())),
    };
    let status = assert_code(
        tokens.revoke(authed(key, pasted)).await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("token_id") && !status.message().contains(key.as_str()));
    assert!(t.introspect(key).await.active);

    // None of it changed anything.
    let roles = admin
        .list_roles(authed(key, pb::ListRolesRequest::default()))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(roles.roles.len(), 1);
    let users = admin
        .list_users(authed(key, pb::ListUsersRequest::default()))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(users.users.len(), 1);
    let listed = admin
        .list_tokens(authed(key, pb::ListTokensRequest::default()))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.tokens.len(), 1, "only the bootstrap key");
}

#[tokio::test]
async fn requests_over_64_kib_are_refused() {
    let t = spawn_app().await;
    let key = &t.admin_key;
    let big = pb::CreateRoleRequest {
        name: "big".into(),
        permissions: vec![],
        description: "x".repeat(70 * 1024),
    };
    assert_code(
        t.admin.clone().create_role(authed(key, big)).await,
        Code::OutOfRange,
    );
    let scopes: Vec<String> = (0..3000)
        .map(|i| format!("read:contacts:{i:020}"))
        .collect();
    let big = pb::AuthorizeRequest {
        token: key.clone(),
        required_scopes: scopes,
        ..Default::default()
    };
    assert_code(
        t.tokens.clone().authorize(authed(key, big)).await,
        Code::OutOfRange,
    );
    let role = t
        .admin
        .clone()
        .get_role(authed(key, pb::GetRoleRequest { name: "big".into() }))
        .await;
    assert_code(role, Code::NotFound);
}

/// A message declaring more than its method carries is refused from its 5-byte prefix,
/// without the rest being sent; so is a unary call that keeps sending after its message.
#[tokio::test]
async fn a_message_longer_than_its_method_carries_is_refused_unread() {
    let t = spawn_app().await;
    let cases: [(&'static str, u32, usize); 5] = [
        // Issue carries no token to check: 64 KiB.
        ("/tessera.v1.TokenService/Issue", 70_000, 10),
        ("/tessera.v1.AdminService/CreateRole", 70_000, 10),
        ("/tessera.v1.AdminService/ListTokens", 70_000, 10),
        // A check carries a token of up to a mebibyte and 64 KiB besides.
        ("/tessera.v1.TokenService/Authorize", 2_000_000, 10),
        // An empty message, then 100 KB more on a unary call.
        ("/tessera.v1.TokenService/Issue", 0, 100_000),
    ];
    for (method, declared, sent) in cases {
        let status =
            crate::raw::half_sent_call(t.channel.clone(), &t.admin_key, method, declared, sent)
                .await
                .expect("task");
        assert_eq!(
            status.code(),
            Code::OutOfRange,
            "{method} declaring {declared}, sending {sent}: {status:?}"
        );
    }
    // The connection and the caller are fine.
    let answer = t
        .tokens
        .clone()
        .authorize(authed(
            &t.admin_key,
            pb::AuthorizeRequest {
                token: t.admin_key.clone(),
                required_scopes: strings(&["read:x"]),
                ..Default::default()
            },
        ))
        .await
        .expect("authorize");
    assert_allow(answer.get_ref());
}
