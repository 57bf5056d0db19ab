//! Changes after issue show in the very next check: role edits, user role changes, disable,
//! expiry; data survives a restart; listings carry metadata only.

use std::time::Duration;

use tessera::proto::v1 as pb;

use crate::helpers::*;

#[tokio::test]
async fn role_edit_and_user_role_change_show_in_next_check() {
    let t = spawn_app().await;
    t.create_role("dev", &["read:*", "write:code"]).await;
    t.create_role("ops", &["deploy:*"]).await;
    let user = t.create_user("hal", &["dev"]).await;
    let key = t.key_for(&user.id, &["*"]).await;
    let pat = t.pat(&key.token, "dev").await.expect("pat");
    assert_allow(&t.check(&pat.token, &["write:code"]).await);

    t.set_role("dev", &["read:*"]).await;
    assert_denied(&t.check(&pat.token, &["write:code"]).await);
    assert_eq!(t.introspect(&pat.token).await.scopes, vec!["read:*"]);

    assert_denied(&t.check(&key.token, &["deploy:prod"]).await);
    let changed = t
        .admin
        .clone()
        .set_user_roles(authed(
            &t.admin_key,
            pb::SetUserRolesRequest {
                id: user.id.clone(),
                roles: strings(&["ops"]),
            },
        ))
        .await
        .expect("set roles")
        .into_inner();
    assert_eq!(changed.roles, vec!["ops"]);
    assert_allow(&t.check(&key.token, &["deploy:prod"]).await);
    // The PAT's role (dev) is no longer the user's: it grants nothing now.
    assert_denied(&t.check(&pat.token, &["read:x"]).await);
    assert!(t.introspect(&pat.token).await.scopes.is_empty());
}

#[tokio::test]
async fn disable_makes_every_token_inactive_until_enabled() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("ivy", &["r"]).await;
    let key = t.key_for(&user.id, &["read:*"]).await;
    let pat = t.pat(&key.token, "r").await.expect("pat");
    let disabled = t
        .admin
        .clone()
        .disable_user(authed(
            &t.admin_key,
            pb::DisableUserRequest {
                id: user.id.clone(),
            },
        ))
        .await
        .expect("disable")
        .into_inner();
    assert!(disabled.disabled);
    for token in [&key.token, &pat.token] {
        assert_unauthenticated(&t.check(token, &["read:x"]).await);
        let intro = t.introspect(token).await;
        assert_eq!(
            intro,
            pb::IntrospectResponse::default(),
            "inactive says nothing more"
        );
    }
    // A disabled user's key is no credential either.
    let listed = t
        .admin
        .clone()
        .list_tokens(authed(&key.token, pb::ListTokensRequest::default()))
        .await;
    assert_code(listed, tonic::Code::Unauthenticated);

    t.admin
        .clone()
        .enable_user(authed(
            &t.admin_key,
            pb::EnableUserRequest {
                id: user.id.clone(),
            },
        ))
        .await
        .expect("enable");
    assert_allow(&t.check(&key.token, &["read:x"]).await);
    assert_allow(&t.check(&pat.token, &["read:x"]).await);
}

#[tokio::test]
async fn expired_tokens_are_inactive() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("jan", &["r"]).await;
    let key = t
        .issue(
            &t.admin_key,
            api_key_with(&["read:*"], &user.id, Some(60), false),
        )
        .await
        .expect("issue");
    let expires = key.expires_at.expect("expiry set");
    let ok = t.check(&key.token, &["read:x"]).await;
    assert_allow(&ok);
    assert_eq!(ok.expires_at, Some(expires));
    t.clock.advance(Duration::from_secs(59));
    assert_allow(&t.check(&key.token, &["read:x"]).await);
    t.clock.advance(Duration::from_secs(1));
    assert_unauthenticated(&t.check(&key.token, &["read:x"]).await);
    assert_eq!(
        t.introspect(&key.token).await,
        pb::IntrospectResponse::default()
    );
}

#[tokio::test]
async fn pats_expire_are_read_only_and_never_outlive_their_creator() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*", "write:*"]).await;
    let user = t.create_user("ola", &["r"]).await;
    // A key that lives one hour.
    let key = t
        .issue(
            &t.admin_key,
            api_key_with(&["*"], &user.id, Some(3600), false),
        )
        .await
        .expect("issue key");
    let pat = |ttl: Option<i64>, read_only: bool| {
        pb::issue_request::Grant::Pat(pb::PatGrant {
            name: "p".into(),
            role: "r".into(),
            read_only,
            ttl: ttl.map(|seconds| prost_types::Duration { seconds, nanos: 0 }),
        })
    };
    let short = t
        .issue(&key.token, pat(Some(60), true))
        .await
        .expect("short pat");
    let forever = t
        .issue(&key.token, pat(None, false))
        .await
        .expect("uncapped ask");
    // Asking for no expiry (or longer) still ends with the creating key.
    assert_eq!(forever.expires_at, key.expires_at);
    let intro = t.introspect(&short.token).await;
    assert!(intro.active && intro.read_only);
    assert_eq!(intro.expires_at, short.expires_at);
    let ro = t
        .authorize_req(pb::AuthorizeRequest {
            token: short.token.clone(),
            required_scopes: strings(&["write:x"]),
            r#match: pb::Match::All.into(),
            mutating: true,
        })
        .await;
    assert_denied(&ro);
    assert!(ro.reason.contains("read-only"));
    let ok = t.check(&short.token, &["write:x"]).await;
    assert_allow(&ok);
    assert_eq!(ok.expires_at, short.expires_at);

    t.clock.advance(Duration::from_secs(60));
    assert_unauthenticated(&t.check(&short.token, &["read:x"]).await);
    assert_allow(&t.check(&forever.token, &["read:x"]).await);
    t.clock.advance(Duration::from_secs(3540));
    assert_unauthenticated(&t.check(&forever.token, &["read:x"]).await);
    assert_unauthenticated(&t.check(&key.token, &["read:x"]).await);
}

#[tokio::test]
async fn deleting_a_role_revokes_its_pats_for_good() {
    let t = spawn_app().await;
    t.create_role("base", &["read:*"]).await;
    t.create_role("temp", &["read:*"]).await;
    // A PAT binds only a role its user holds (or may read), so Pia holds `temp` while she
    // mints it and gives it up before it is deleted. (Before the rule against a role
    // oracle, she bound a role she never held.)
    let user = t.create_user("pia", &["base", "temp"]).await;
    let key = t.key_for(&user.id, &["*"]).await;
    let pat = t.pat(&key.token, "temp").await.expect("pat");
    assert_allow(&t.check(&pat.token, &["read:x"]).await);
    t.admin
        .clone()
        .set_user_roles(authed(
            &t.admin_key,
            pb::SetUserRolesRequest {
                id: user.id.clone(),
                roles: strings(&["base"]),
            },
        ))
        .await
        .expect("give up temp");
    assert_allow(&t.check(&pat.token, &["read:x"]).await);
    t.admin
        .clone()
        .delete_role(authed(
            &t.admin_key,
            pb::DeleteRoleRequest {
                name: "temp".into(),
            },
        ))
        .await
        .expect("delete unheld role");
    assert_unauthenticated(&t.check(&pat.token, &["read:x"]).await);
    // A new role under the old name does not bring the PAT back.
    t.create_role("temp", &["read:*"]).await;
    assert_unauthenticated(&t.check(&pat.token, &["read:x"]).await);
    assert_allow(&t.check(&key.token, &["read:x"]).await);
}

#[tokio::test]
async fn data_survives_a_restart() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("kim", &["r"]).await;
    let key = t.key_for(&user.id, &["read:*"]).await;
    let revoked = t.key_for(&user.id, &["read:*"]).await;
    t.revoke(
        &t.admin_key,
        pb::revoke_request::Target::TokenId(revoked.token_id.clone()),
    )
    .await
    .expect("revoke");
    assert_allow(&t.check(&key.token, &["read:x"]).await);

    let t = t.restart().await;
    assert_allow(&t.check(&key.token, &["read:x"]).await);
    assert_unauthenticated(&t.check(&revoked.token, &["read:x"]).await);
    let role = t
        .admin
        .clone()
        .get_role(authed(
            &t.admin_key,
            pb::GetRoleRequest { name: "r".into() },
        ))
        .await
        .expect("role persisted")
        .into_inner();
    assert_eq!(role.permissions, vec!["read:*"]);
    // last_used_at was written behind, at the first server's shutdown.
    let listed = t.tokens_of(&t.admin_key, &user.id).await;
    let used = listed
        .iter()
        .find(|i| i.token_id == key.token_id)
        .expect("listed");
    assert!(used.last_used_at.is_some());
}

#[tokio::test]
async fn listings_carry_metadata_never_secrets() {
    let t = spawn_app().await;
    t.create_role("r", &["read:*"]).await;
    // Listing one's own tokens takes tessera:tokens:self.
    t.create_role("self-service", &["tessera:tokens:self"])
        .await;
    let user = t.create_user("lee", &["r", "self-service"]).await;
    let key = t
        .key_for(&user.id, &["read:*", "tessera:tokens:self"])
        .await;
    let pat = t.pat(&key.token, "r").await.expect("pat");
    t.check(&pat.token, &["read:x"]).await;
    let listed = t.tokens_of(&key.token, "").await;
    assert_eq!(listed.len(), 2);
    let text = format!("{listed:?}");
    for secret in [&key.token, &pat.token] {
        assert!(!text.contains(secret.as_str()));
        // Not even the secret part after the public id.
        assert!(!text.contains(&secret[30..60]));
    }
    let info = listed
        .iter()
        .find(|i| i.token_id == pat.token_id)
        .expect("pat listed");
    assert_eq!(info.kind, "pat");
    assert_eq!(info.role, "r");
    // Which credential minted which: the PAT by the key, the key by the admin's key.
    assert_eq!(info.parent_token_id, key.token_id);
    let by_admin = listed
        .iter()
        .find(|i| i.token_id == key.token_id)
        .expect("key listed");
    assert_eq!(
        by_admin.parent_token_id,
        t.introspect(&t.admin_key).await.token_id
    );
    assert_eq!(info.scopes, vec!["read:*"]);
    assert!(info.issued_at.is_some());
    assert!(info.last_used_at.is_some(), "a check shows as a use");
    assert!(info.revoked_at.is_none());
}

#[tokio::test]
async fn pagination_walks_every_item_once() {
    let t = spawn_app().await;
    for i in 0..5 {
        t.create_role(&format!("role{i}"), &["read:x"]).await;
    }
    let mut names = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = t
            .admin
            .clone()
            .list_roles(authed(
                &t.admin_key,
                pb::ListRolesRequest {
                    page_size: 2,
                    page_token: page_token.clone(),
                },
            ))
            .await
            .expect("list roles")
            .into_inner();
        assert!(page.roles.len() <= 2);
        names.extend(page.roles.into_iter().map(|r| r.name));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        names,
        vec!["admin", "role0", "role1", "role2", "role3", "role4"]
    );
}
