//! Scenarios for users holding many permissions, and for role churn.
//!
//! A wide user holds `roles` roles of `per_role` permissions each and checks with a PAT bound
//! to one of them, minted through an API key scoped `*` (so the PAT's cap is everything the
//! user holds): the shape of an enterprise user, where every cold check meets the bound role
//! with the whole union. Churn edits a role held by one user in a hundred, 20 times a
//! second, while another user's cached token is checked.

use std::sync::Arc;
use std::time::Duration;

use tonic::transport::Channel;

use super::BenchError;
use super::scenarios::{bearer, request};
use crate::proto::v1 as pb;
use crate::proto::v1::admin_service_client::AdminServiceClient;
use crate::proto::v1::token_service_client::TokenServiceClient;

/// A wide user's PAT, and a permission its bound role grants.
#[derive(Debug, Clone)]
pub struct WideToken {
    pub pat: String,
    pub required: String,
}

/// The `p`th permission of role `r`: literal and wildcard endings in turn, none within
/// another, so the union keeps every one of them.
fn permission(tag: &str, r: usize, p: usize) -> String {
    if p % 2 == 0 {
        format!("{tag}{r}:res{p}:read")
    } else {
        format!("{tag}{r}:res{p}:*")
    }
}

/// Creates the roles, the user and its PAT through the API.
pub async fn wide_user(
    channel: Channel,
    admin: &MetadataAuth,
    tag: &str,
    roles: usize,
    per_role: usize,
) -> Result<WideToken, BenchError> {
    let mut admin_api = AdminServiceClient::new(channel.clone());
    let mut tokens = TokenServiceClient::new(channel);
    let mut names = Vec::with_capacity(roles);
    for r in 0..roles {
        let name = format!("{tag}-{r}");
        let permissions = (0..per_role).map(|p| permission(tag, r, p)).collect();
        admin_api
            .create_role(request(
                admin,
                pb::CreateRoleRequest {
                    name: name.clone(),
                    permissions,
                    description: "benchmark: wide user".to_owned(),
                },
            ))
            .await?;
        names.push(name);
    }
    let user = admin_api
        .create_user(request(
            admin,
            pb::CreateUserRequest {
                name: tag.to_owned(),
                roles: names.clone(),
            },
        ))
        .await?
        .into_inner();
    let key = tokens
        .issue(request(
            admin,
            pb::IssueRequest {
                grant: Some(pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
                    name: "bench wide".to_owned(),
                    scopes: vec!["*".to_owned()],
                    subject: user.id,
                    ..Default::default()
                })),
            },
        ))
        .await?
        .into_inner();
    let pat = tokens
        .issue(request(
            &bearer(&key.token)?,
            pb::IssueRequest {
                grant: Some(pb::issue_request::Grant::Pat(pb::PatGrant {
                    name: "bench wide".to_owned(),
                    role: names[0].clone(),
                    ..Default::default()
                })),
            },
        ))
        .await?
        .into_inner()
        .token;
    Ok(WideToken {
        pat,
        required: permission(tag, 0, per_role - 2),
    })
}

pub type MetadataAuth = tonic::metadata::MetadataValue<tonic::metadata::Ascii>;

/// Users in the churn population; one of them holds the churned role.
const CHURN_USERS: usize = 100;

/// Creates the churned role and its one holder among [`CHURN_USERS`] users.
pub async fn churn_setup(
    channel: Channel,
    admin: &MetadataAuth,
    tag: &str,
) -> Result<String, BenchError> {
    let mut api = AdminServiceClient::new(channel);
    let role = format!("{tag}-churn");
    api.create_role(request(
        admin,
        pb::CreateRoleRequest {
            name: role.clone(),
            permissions: vec!["churn:a".to_owned()],
            description: "benchmark: churned 20 times a second".to_owned(),
        },
    ))
    .await?;
    for u in 0..CHURN_USERS {
        let roles = if u == 0 {
            vec![role.clone()]
        } else {
            Vec::new()
        };
        api.create_user(request(
            admin,
            pb::CreateUserRequest {
                name: format!("{tag}-churn-{u}"),
                roles,
            },
        ))
        .await?;
    }
    Ok(role)
}

/// Edits `role` 20 times a second until the returned handle is dropped.
pub fn churn(channel: Channel, admin: Arc<MetadataAuth>, role: String) -> Background {
    let task = tokio::spawn(async move {
        let mut api = AdminServiceClient::new(channel);
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        for i in 0u64.. {
            tick.tick().await;
            let permissions = vec![format!("churn:{}", if i % 2 == 0 { "a" } else { "b" })];
            let _ = api
                .set_role_permissions(request(
                    &admin,
                    pb::SetRolePermissionsRequest {
                        name: role.clone(),
                        permissions,
                    },
                ))
                .await;
        }
    });
    Background(task)
}

/// A background load (churn, products), stopped when dropped.
pub struct Background(tokio::task::JoinHandle<()>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The crafted product of the permission-scale issue: a key scoped `read:aI:*` for 128 I,
/// through which a key scoped `read:*:bJ` for 128 J is issued (16,384 permissions). Returns
/// the first key.
pub async fn product_setup(
    channel: Channel,
    admin: &MetadataAuth,
    tag: &str,
) -> Result<String, BenchError> {
    let mut api = AdminServiceClient::new(channel.clone());
    let mut tokens = TokenServiceClient::new(channel);
    let role = format!("{tag}-reader");
    api.create_role(request(
        admin,
        pb::CreateRoleRequest {
            name: role.clone(),
            permissions: vec!["read:*".to_owned()],
            description: "benchmark: products".to_owned(),
        },
    ))
    .await?;
    let user = api
        .create_user(request(
            admin,
            pb::CreateUserRequest {
                name: format!("{tag}-product"),
                roles: vec![role],
            },
        ))
        .await?
        .into_inner();
    let key = tokens
        .issue(request(
            admin,
            own_key(&["read:*".to_owned()], &user.id, None),
        ))
        .await?
        .into_inner();
    let rows: Vec<String> = (0..128).map(|i| format!("read:a{i}:*")).collect();
    Ok(tokens
        .issue(request(&bearer(&key.token)?, own_key(&rows, "", None)))
        .await?
        .into_inner()
        .token)
}

/// A key for `subject` (empty: the caller's own), living `ttl_seconds` or for ever.
fn own_key(scopes: &[String], subject: &str, ttl_seconds: Option<i64>) -> pb::IssueRequest {
    pb::IssueRequest {
        grant: Some(pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
            name: "bench product".to_owned(),
            scopes: scopes.to_vec(),
            subject: subject.to_owned(),
            ttl: ttl_seconds.map(|seconds| prost_types::Duration { seconds, nanos: 0 }),
            ..Default::default()
        })),
    }
}

/// Issues the 16,384-permission product through `rows_key`; whether it was computed.
pub async fn issue_product(channel: Channel, rows_key: &MetadataAuth) -> bool {
    let cols: Vec<String> = (0..128).map(|j| format!("read:*:b{j}")).collect();
    // A 1 s lifetime (the shortest allowed): the product scenarios mint hundreds a second
    // for one user, and keys that outlived their use would fill its
    // `--max-tokens-per-user` quota within a run, making every later Issue an error.
    let product = own_key(&cols, "", Some(1));
    let done = TokenServiceClient::new(channel)
        .issue(request(rows_key, product))
        .await;
    matches!(done, Ok(r) if r.get_ref().scopes.len() == 16_384)
}

/// Issues products on `lanes` connections at once until dropped.
pub fn products(
    channels: &[Channel],
    rows_key: Arc<MetadataAuth>,
    lanes: usize,
) -> Vec<Background> {
    (0..lanes)
        .map(|i| {
            let (ch, key) = (channels[i % channels.len()].clone(), rows_key.clone());
            Background(tokio::spawn(async move {
                loop {
                    issue_product(ch.clone(), &key).await;
                }
            }))
        })
        .collect()
}
