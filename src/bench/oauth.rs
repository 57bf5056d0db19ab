//! The OAuth scenarios: client-credentials and refresh grants over the HTTP endpoints
//! (tokens per second), warm checks of an app's access token, and approve + exchange end
//! to end (gRPC approval, HTTP exchange).

use std::sync::Arc;

use tokio::sync::Mutex;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use super::BenchError;
use super::http::HttpPool;
use super::load::{self, Samples};
use super::options::BenchOptions;
use super::scenarios::{Fixture, authorize, request};
use crate::proto::v1 as pb;
use crate::proto::v1::admin_service_client::AdminServiceClient;
use crate::proto::v1::o_auth_service_client::OAuthServiceClient;

pub const OAUTH_SCENARIOS: [&str; 4] = [
    "oauth_client_credentials",
    "oauth_refresh",
    "authorize_oauth_warm",
    "oauth_approve_exchange",
];

const REDIRECT: &str = "https://bench.example.com/callback";

pub struct OAuthFixture {
    http: HttpPool,
    client_id: String,
    secret: String,
    /// The user's credential, approving as the consent page would.
    approver: MetadataValue<Ascii>,
    /// An access token of the user, for the warm check.
    access: String,
    /// One refresh token per in-flight refresh: each call takes one and puts back its
    /// successor.
    refresh: Mutex<Vec<String>>,
}

impl std::fmt::Debug for OAuthFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthFixture")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Approves the app for the user and exchanges the code: the token endpoint's answer.
async fn approve_exchange(ch: Channel, fx: &OAuthFixture) -> Result<serde_json::Value, BenchError> {
    let approved = OAuthServiceClient::new(ch)
        .approve_authorization(request(
            &fx.approver,
            pb::ApproveAuthorizationRequest {
                client_id: fx.client_id.clone(),
                redirect_uri: REDIRECT.to_owned(),
                response_type: "code".to_owned(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", approved.code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (status, json) = fx
        .http
        .post_form("/oauth/token", (&fx.client_id, &fx.secret), &form)
        .await?;
    if status != 200 {
        return Err(BenchError::Setup(format!(
            "exchange answered {status}: {json}"
        )));
    }
    Ok(json)
}

fn text(json: &serde_json::Value, field: &str) -> Result<String, BenchError> {
    json[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| BenchError::Setup(format!("no {field} in the token answer")))
}

/// Registers a confidential app and connects the user to it, once per in-flight refresh.
pub(super) async fn setup(
    channel: Channel,
    admin: &MetadataValue<Ascii>,
    approver: MetadataValue<Ascii>,
    o: &BenchOptions,
    http_addr: &str,
) -> Result<OAuthFixture, BenchError> {
    let made = AdminServiceClient::new(channel.clone())
        .create_client(request(
            admin,
            pb::CreateClientRequest {
                name: "bench app".to_owned(),
                r#type: pb::ClientType::Confidential.into(),
                redirect_uris: vec![REDIRECT.to_owned()],
                scopes: ["contacts:*", "deals:*", "webhook:*", "reports:*"]
                    .map(String::from)
                    .to_vec(),
                grant_types: ["authorization_code", "refresh_token", "client_credentials"]
                    .map(String::from)
                    .to_vec(),
            },
        ))
        .await?
        .into_inner();
    let client = made
        .client
        .ok_or_else(|| BenchError::Setup("CreateClient answered no client".to_owned()))?;
    let mut fx = OAuthFixture {
        http: HttpPool::new(http_addr),
        client_id: client.client_id,
        secret: made.client_secret,
        approver,
        access: String::new(),
        refresh: Mutex::new(Vec::new()),
    };
    let first = approve_exchange(channel.clone(), &fx).await?;
    fx.access = text(&first, "access_token")?;
    let in_flight = o.concurrency.iter().copied().max().unwrap_or(16) + 4;
    let mut refresh = vec![text(&first, "refresh_token")?];
    while refresh.len() < in_flight {
        refresh.push(text(
            &approve_exchange(channel.clone(), &fx).await?,
            "refresh_token",
        )?);
    }
    fx.refresh = Mutex::new(refresh);
    Ok(fx)
}

async fn client_credentials(fx: &OAuthFixture) -> bool {
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "contacts:read"),
    ];
    matches!(
        fx.http.post_form("/oauth/token", (&fx.client_id, &fx.secret), &form).await,
        Ok((200, json)) if json["access_token"].is_string()
    )
}

async fn refresh(fx: &OAuthFixture) -> bool {
    let Some(old) = fx.refresh.lock().await.pop() else {
        return false;
    };
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", old.as_str()),
    ];
    match fx
        .http
        .post_form("/oauth/token", (&fx.client_id, &fx.secret), &form)
        .await
    {
        Ok((200, json)) => match json["refresh_token"].as_str() {
            Some(new) => {
                fx.refresh.lock().await.push(new.to_owned());
                true
            }
            None => false,
        },
        _ => {
            // Keep the pool full, so that one failure does not starve a worker.
            fx.refresh.lock().await.push(old);
            false
        }
    }
}

pub(super) async fn run(
    name: &str,
    fx: Arc<Fixture>,
    chans: &[Channel],
    c: usize,
    o: &BenchOptions,
) -> Samples {
    let (w, d) = (o.warmup, o.slice());
    if fx.oauth.is_none() {
        return Samples::default();
    }
    let name = name.to_owned();
    load::run(chans, c, w, d, move |ch, _| {
        let (fx, name) = (fx.clone(), name.clone());
        async move {
            let Some(oauth) = fx.oauth.as_ref() else {
                return false;
            };
            match name.as_str() {
                "oauth_client_credentials" => client_credentials(oauth).await,
                "oauth_refresh" => refresh(oauth).await,
                "authorize_oauth_warm" => {
                    authorize(&fx, ch, &oauth.access, pb::Decision::Allow).await
                }
                _ => approve_exchange(ch, oauth).await.is_ok(),
            }
        }
    })
    .await
}
