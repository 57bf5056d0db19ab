//! The benchmark scenarios, set up through the public API with an admin key.

use std::sync::Arc;

use tonic::Request;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::BenchError;
use super::load::{self, Samples};
use super::options::{BenchOptions, PRODUCT, WIDE};
use super::wide::{self, WideToken};
use crate::domain::token_format::{self, TokenKind};
use crate::proto::v1 as pb;
use crate::proto::v1::admin_service_client::AdminServiceClient;
use crate::proto::v1::token_service_client::TokenServiceClient;

/// What the scenarios share: the caller's header and the tokens they check.
pub(super) struct Fixture {
    auth: MetadataValue<tonic::metadata::Ascii>,
    pub(super) pat: String,
    garbage: String,
    unknown: Vec<String>,
    /// Whom the issue scenario mints for, in turn.
    issue_subjects: Vec<String>,
    /// A user holding 40 roles of 250 permissions (10,000), and one holding half as many.
    wide: Option<(WideToken, WideToken)>,
    /// The role the churn scenario edits.
    churn_role: Option<String>,
    /// The key that issues the 128 × 128 product.
    product_key: Option<MetadataValue<tonic::metadata::Ascii>>,
    /// A user's session and garbage JWTs (see `sessions`).
    pub(super) sessions: Option<super::sessions::SessionFixture>,
    /// An app connected to the user (see `oauth`).
    pub(super) oauth: Option<super::oauth::OAuthFixture>,
    /// Envoy's Check of the PAT, encoded (see `envoy`).
    pub(super) envoy_check: Option<bytes::Bytes>,
}

pub(super) fn request<T>(auth: &MetadataValue<tonic::metadata::Ascii>, message: T) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut().insert("authorization", auth.clone());
    req
}

/// The `authorization` value for a token.
pub(super) fn bearer(token: &str) -> Result<MetadataValue<tonic::metadata::Ascii>, BenchError> {
    format!("Bearer {token}")
        .parse()
        .map_err(|_| BenchError::Setup("a token is not a valid header value".to_owned()))
}

impl Fixture {
    /// The caller's `authorization` value.
    pub(super) fn auth(&self) -> &MetadataValue<tonic::metadata::Ascii> {
        &self.auth
    }
}

fn with_auth<T>(fx: &Fixture, message: T) -> Request<T> {
    request(&fx.auth, message)
}

/// Creates a role with wildcards, a user holding it, an API key for that user and a PAT the
/// user mints for itself — the shape gateways check most.
pub(super) async fn setup(
    channel: Channel,
    admin_key: &str,
    o: &BenchOptions,
) -> Result<Fixture, BenchError> {
    let auth = bearer(admin_key)?;
    let suffix = token_format::random_base62(8)?.to_lowercase();
    let role = format!("bench-{suffix}");
    let mut admin = AdminServiceClient::new(channel.clone());
    let (tokens_channel, channel_for_churn) = (channel.clone(), channel.clone());
    let tokens_channel_for_sessions = channel.clone();
    let tokens_channel_for_oauth = channel.clone();
    let mut tokens = TokenServiceClient::new(channel);
    admin
        .create_role(request(
            &auth,
            pb::CreateRoleRequest {
                name: role.clone(),
                permissions: [
                    "contacts:*",
                    "deals:read",
                    "webhook:manage:*",
                    "reports:*:view",
                ]
                .map(String::from)
                .to_vec(),
                description: "benchmark".to_owned(),
            },
        ))
        .await?;
    let user = admin
        .create_user(request(
            &auth,
            pb::CreateUserRequest {
                name: format!("bench-{suffix}"),
                roles: vec![role.clone()],
            },
        ))
        .await?
        .into_inner();
    let key = tokens
        .issue(request(
            &auth,
            pb::IssueRequest {
                grant: Some(pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
                    name: "bench".to_owned(),
                    scopes: vec!["*".to_owned()],
                    subject: user.id.clone(),
                    ..Default::default()
                })),
            },
        ))
        .await?
        .into_inner();
    let issue_subjects = if o.selected(&["issue"]) {
        let ch = tokens_channel.clone();
        super::subjects::issue_subjects(ch, &auth, &role, &format!("issued-{suffix}")).await?
    } else {
        Vec::new()
    };
    let as_user = request(
        &bearer(&key.token)?,
        pb::IssueRequest {
            grant: Some(pb::issue_request::Grant::Pat(pb::PatGrant {
                name: "bench".to_owned(),
                role,
                ..Default::default()
            })),
        },
    );
    let pat = tokens.issue(as_user).await?.into_inner().token;
    let garbage = {
        let (head, last) = pat.split_at(pat.len() - 1);
        format!("{head}{}", if last == "x" { "y" } else { "x" })
    };
    let unknown = (0..1000)
        .map(|_| token_format::generate(TokenKind::Pat).map(|t| t.secret))
        .collect::<Result<Vec<_>, _>>()?;
    let wide = if o.selected(&WIDE) {
        let ch = tokens_channel;
        Some((
            wide::wide_user(ch.clone(), &auth, &format!("wide{suffix}"), 40, 250).await?,
            wide::wide_user(ch, &auth, &format!("half{suffix}"), 20, 250).await?,
        ))
    } else {
        None
    };
    let churn_role = if o.selected(&["authorize_warm_churn"]) {
        Some(wide::churn_setup(channel_for_churn.clone(), &auth, &format!("churn{suffix}")).await?)
    } else {
        None
    };
    let product_key = if o.selected(&PRODUCT) {
        let key = wide::product_setup(channel_for_churn, &auth, &format!("prod{suffix}")).await?;
        Some(bearer(&key)?)
    } else {
        None
    };
    let sessions = if o.selected(&super::sessions::SESSION_SCENARIOS) {
        let ch = tokens_channel_for_sessions;
        Some(super::sessions::setup(ch, &auth, &user.id, &format!("bench-{suffix}")).await?)
    } else {
        None
    };
    let oauth = match (&o.http_addr, o.selected(&super::oauth::OAUTH_SCENARIOS)) {
        (Some(http), true) => {
            let ch = tokens_channel_for_oauth;
            Some(super::oauth::setup(ch, &auth, bearer(&key.token)?, o, http).await?)
        }
        _ => None,
    };
    Ok(Fixture {
        auth,
        sessions,
        oauth,
        envoy_check: Some(super::envoy::encoded_check(&pat)),
        pat,
        garbage,
        unknown,
        issue_subjects,
        wide,
        churn_role,
        product_key,
    })
}

pub(super) const REQUIRED: [&str; 3] = ["contacts:read", "deals:read", "webhook:manage:team"];

fn authorize_request(token: &str) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        token: token.to_owned(),
        required_scopes: REQUIRED.map(String::from).to_vec(),
        r#match: pb::Match::All.into(),
        mutating: false,
    }
}

pub(super) async fn authorize(
    fx: &Fixture,
    ch: Channel,
    token: &str,
    expect: pb::Decision,
) -> bool {
    authorize_for(fx, ch, authorize_request(token), expect).await
}

async fn authorize_for(
    fx: &Fixture,
    ch: Channel,
    req: pb::AuthorizeRequest,
    expect: pb::Decision,
) -> bool {
    let mut client = TokenServiceClient::new(ch);
    match client.authorize(with_auth(fx, req)).await {
        Ok(r) => r.into_inner().decision == i32::from(expect),
        Err(_) => false,
    }
}

/// The empty call: whether the server answers SERVING.
async fn healthy(ch: Channel) -> bool {
    let req = HealthCheckRequest {
        service: String::new(),
    };
    matches!(HealthClient::new(ch).check(req).await,
        Ok(r) if r.get_ref().status() == ServingStatus::Serving)
}

/// Runs one slice of one named scenario at one concurrency.
pub(super) async fn scenario(
    name: &str,
    fx: Arc<Fixture>,
    chans: &[Channel],
    cold: &[Channel],
    c: usize,
    o: &BenchOptions,
) -> Samples {
    let (w, d) = (o.warmup, o.slice());
    match name {
        "health" => {
            load::run(chans, c, w, d, |ch, _| healthy(ch)).await
        }
        "authorize_warm" | "authorize_cold" => {
            let target = if name == "authorize_cold" { cold } else { chans };
            load::run(target, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move { authorize(&fx, ch, &fx.pat, pb::Decision::Allow).await }
            })
            .await
        }
        "authorize_wide_warm" | "authorize_wide_cold" | "authorize_half_wide_cold" => {
            let target = if name == "authorize_wide_warm" { chans } else { cold };
            let half_wide = name == "authorize_half_wide_cold";
            load::run(target, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move {
                    let Some((wide, half)) = &fx.wide else { return false };
                    let t = if half_wide { half } else { wide };
                    let req = pb::AuthorizeRequest {
                        token: t.pat.clone(),
                        required_scopes: vec![t.required.clone()],
                        r#match: pb::Match::All.into(),
                        mutating: false,
                    };
                    authorize_for(&fx, ch, req, pb::Decision::Allow).await
                }
            })
            .await
        }
        "introspect_wide_cold" => {
            load::run(cold, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move {
                    let Some((wide, _)) = &fx.wide else { return false };
                    let req = with_auth(&fx, pb::IntrospectRequest { token: wide.pat.clone() });
                    matches!(TokenServiceClient::new(ch).introspect(req).await, Ok(r) if r.get_ref().active)
                }
            })
            .await
        }
        "authorize_warm_churn" => {
            let Some(role) = fx.churn_role.clone() else {
                return Samples::default();
            };
            let _churn = wide::churn(chans[0].clone(), Arc::new(fx.auth.clone()), role);
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move { authorize(&fx, ch, &fx.pat, pb::Decision::Allow).await }
            })
            .await
        }
        "issue_product" => {
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move {
                    let Some(key) = &fx.product_key else { return false };
                    wide::issue_product(ch, key).await
                }
            })
            .await
        }
        "health_under_products" => {
            let Some(key) = fx.product_key.clone() else {
                return Samples::default();
            };
            let _busy = wide::products(chans, Arc::new(key), 4);
            load::run(chans, c, w, d, |ch, _| healthy(ch)).await
        }
        n if super::oauth::OAUTH_SCENARIOS.contains(&n) => {
            super::oauth::run(n, fx, chans, c, o).await
        }
        n if super::sessions::SESSION_SCENARIOS.contains(&n) => {
            super::sessions::run(n, fx, chans, c, o).await
        }
        "envoy_check_warm" => {
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move { super::envoy::check_warm(&fx, ch).await }
            })
            .await
        }
        "authorize_garbage" => {
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move { authorize(&fx, ch, &fx.garbage, pb::Decision::Unauthenticated).await }
            })
            .await
        }
        "authorize_unknown" => {
            load::run(chans, c, w, d, move |ch, i| {
                let fx = fx.clone();
                async move {
                    let token = &fx.unknown[(i % fx.unknown.len() as u64) as usize];
                    authorize(&fx, ch, token, pb::Decision::Unauthenticated).await
                }
            })
            .await
        }
        "introspect_warm" => {
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move {
                    let req = with_auth(&fx, pb::IntrospectRequest { token: fx.pat.clone() });
                    matches!(TokenServiceClient::new(ch).introspect(req).await, Ok(r) if r.get_ref().active)
                }
            })
            .await
        }
        _ => {
            load::run(chans, c, w, d, move |ch, i| {
                let fx = fx.clone();
                async move {
                    let n = fx.issue_subjects.len().max(1) as u64;
                    let subject = fx.issue_subjects.get((i % n) as usize).cloned().unwrap_or_default();
                    let req = with_auth(&fx, pb::IssueRequest {
                        grant: Some(pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
                            name: "bench issue".to_owned(),
                            scopes: vec!["contacts:read".to_owned()],
                            subject,
                            ..Default::default()
                        })),
                    });
                    matches!(TokenServiceClient::new(ch).issue(req).await, Ok(r) if !r.get_ref().token.is_empty())
                }
            })
            .await
        }
    }
}
