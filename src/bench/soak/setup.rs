//! The soak's fixture: a role, 64 users (one with a password, for sessions), a confidential
//! client for client-credentials grants, 200 warm keys, 16 sessions and 16 OAuth tokens.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use super::{PASSWORD, Pools, Shared, SoakOptions, USERS};
use crate::bench::BenchError;
use crate::bench::scenarios::{bearer, request};
use crate::domain::token_format::random_base62;
use crate::proto::v1 as pb;
use crate::proto::v1::admin_service_client::AdminServiceClient;
use tonic::transport::Channel;

pub(super) async fn setup(
    opts: &SoakOptions,
    replicas: Vec<Channel>,
) -> Result<Shared, BenchError> {
    let admin = bearer(&opts.admin_key)?;
    let ch = replicas[0].clone();
    let mut admins = AdminServiceClient::new(ch.clone());
    let suffix = random_base62(6)?.to_ascii_lowercase();
    let role = format!("soak-{suffix}");
    admins
        .create_role(request(
            &admin,
            pb::CreateRoleRequest {
                name: role.clone(),
                permissions: vec!["read:*".into()],
                ..Default::default()
            },
        ))
        .await?;
    let name = format!("soak-{suffix}");
    let user = admins
        .create_user(request(
            &admin,
            pb::CreateUserRequest {
                name: name.clone(),
                roles: vec![role.clone()],
            },
        ))
        .await?
        .into_inner();
    admins
        .set_user_password(request(
            &admin,
            pb::SetUserPasswordRequest {
                id: user.id.clone(),
                password: PASSWORD.into(),
            },
        ))
        .await?;
    let made = admins
        .create_client(request(
            &admin,
            pb::CreateClientRequest {
                name: "soak app".into(),
                r#type: pb::ClientType::Confidential.into(),
                scopes: vec!["read:*".into()],
                grant_types: vec!["client_credentials".into()],
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    let client_id = made.client.map(|c| c.client_id).unwrap_or_default();
    let mut user_ids = vec![user.id];
    for i in 1..USERS {
        let other = admins
            .create_user(request(
                &admin,
                pb::CreateUserRequest {
                    name: format!("{name}-{i}"),
                    roles: vec![role.clone()],
                },
            ))
            .await?
            .into_inner();
        user_ids.push(other.id);
    }
    let shared = Shared {
        replicas,
        admin,
        client: (client_id, made.client_secret),
        user_ids,
        pools: Mutex::new(Pools {
            warm: Vec::new(),
            fresh: Vec::new(),
            issued: Vec::new(),
            sessions: Vec::new(),
            oauth: Vec::new(),
            revoked: Vec::new(),
        }),
        next: AtomicU64::new(0),
        late_allows: AtomicU64::new(0),
        errors: Mutex::new(Vec::new()),
    };
    let (mut warm, mut sessions, mut oauth) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..200 {
        warm.push(shared.issue(ch.clone(), shared.key_grant(i)).await?.token);
    }
    for _ in 0..16 {
        let login = pb::issue_request::Grant::Password(pb::PasswordGrant {
            username: name.clone(),
            password: PASSWORD.into(),
            ..Default::default()
        });
        sessions.push(shared.issue(ch.clone(), login).await?.token);
        oauth.push(shared.issue(ch.clone(), shared.oauth_grant()).await?.token);
    }
    {
        let mut p = shared.pools.lock().unwrap_or_else(|e| e.into_inner());
        (p.warm, p.sessions, p.oauth) = (warm, sessions, oauth);
    }
    Ok(shared)
}
