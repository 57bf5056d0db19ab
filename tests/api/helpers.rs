//! `spawn_app()`: a real tessera server on 127.0.0.1:0 over its own fresh database (SQLite
//! or Postgres, see `db`), with a manual clock so expiry is tested without sleeping.

use std::sync::Arc;

use tessera::domain::app::oauth::OAuthConfig;
use tessera::domain::app::{App, CacheConfig, Limits, LoginConfig, PatIssuers};
use tessera::domain::credentials::server_keys::ServerKeys;
use tessera::store::{Backend, ChangeFeed, StoreSettings};

pub use crate::requests::*;

use crate::counting_store::CountingStore;
use crate::db::TestDb;
use tessera::domain::clock::ManualClock;
use tessera::domain::secret_hash::SecretHasher;
use tessera::proto::v1 as pb;
use tessera::proto::v1::admin_service_client::AdminServiceClient;
use tessera::proto::v1::token_service_client::TokenServiceClient;
use tessera::server::{self, ServeOptions};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The server secret of test servers.
pub const TEST_SECRET: &[u8; 32] = b"tessera test secret, 32 bytes.!!";

/// How a test server starts, where the defaults do not fit.
#[derive(Clone)]
pub struct Setup {
    pub cache: CacheConfig,
    pub serve: ServeOptions,
    /// Reach the database through this URL instead of its own (a proxy in front of it).
    pub via: Option<String>,
    pub settings: StoreSettings,
    pub limits: Limits,
    pub logins: LoginConfig,
    /// The server secret; `None` leaves logins off (FAILED_PRECONDITION).
    pub secret: Option<Vec<u8>>,
    pub oauth: OAuthConfig,
    /// The product's consent page, for `/oauth/authorize`.
    pub consent_url: Option<String>,
    /// The built-in pages, used without a consent page.
    pub ui: tessera::http::UiOptions,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            cache: CacheConfig::default(),
            serve: ServeOptions::default(),
            via: None,
            settings: crate::db::settings(),
            limits: Limits::default(),
            // The tests written before logins mint PATs with API keys; the PAT rule is
            // tested under each setting in `logins`.
            logins: LoginConfig {
                pat_issuers: PatIssuers::Any,
                ..LoginConfig::default()
            },
            secret: Some(TEST_SECRET.to_vec()),
            oauth: OAuthConfig::default(),
            consent_url: None,
            ui: tessera::http::UiOptions {
                title: "Acme".into(),
                accent_color: "#0a7d5a".into(),
                secure_cookies: false,
            },
        }
    }
}

pub struct TestApp {
    /// The real store, counting the reads on the check path.
    pub store: Arc<CountingStore>,
    pub cache: CacheConfig,
    pub setup: Setup,
    pub admin_key: String,
    pub admin_id: String,
    pub clock: Arc<ManualClock>,
    pub app: Arc<App>,
    pub tokens: TokenServiceClient<Channel>,
    pub admin: AdminServiceClient<Channel>,
    pub channel: Channel,
    /// Where the server listens.
    pub addr: std::net::SocketAddr,
    /// Where the OAuth HTTP endpoints listen.
    pub http_addr: std::net::SocketAddr,
    pub backend: Backend,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    /// On Postgres, changes made elsewhere reach the cache as they do in `serve`.
    feed: ChangeFeed,
    // Kept last so the database outlives the server.
    pub db: Arc<TestDb>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(CacheConfig::default()).await
}

pub async fn spawn_app_with(cache: CacheConfig) -> TestApp {
    spawn_app_on(
        Arc::new(TestDb::fresh().await),
        Setup {
            cache,
            ..Setup::default()
        },
    )
    .await
}

/// A server on a database the caller made (to put a proxy in front of it, say).
pub async fn spawn_app_on(db: Arc<TestDb>, setup: Setup) -> TestApp {
    start(db, None, setup).await
}

async fn start(db: Arc<TestDb>, admin: Option<(String, String)>, setup: Setup) -> TestApp {
    let cache = setup.cache.clone();
    let url = setup.via.clone().unwrap_or_else(|| db.url.clone());
    let backend = crate::db::open_with(&url, &setup.settings).await;
    let store = Arc::new(CountingStore::new(backend.store()));
    let clock = ManualClock::new();
    let app = Arc::new(
        App::with_cache(
            store.clone(),
            SecretHasher::new(None),
            clock.clone(),
            &cache,
        )
        .with_limits(setup.limits.clone())
        .with_logins(
            setup.logins.clone(),
            setup
                .secret
                .as_deref()
                .map(|s| ServerKeys::new(s).expect("test secret")),
        )
        .with_oauth(setup.oauth.clone()),
    );
    let feed = backend.follow_changes(app.clone(), app.metrics().clone());
    let (admin_key, admin_id) = match admin {
        Some(a) => a,
        None => {
            let b = app.bootstrap().await.expect("bootstrap");
            (b.key, b.user_id)
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let http_addr = http_listener.local_addr().expect("local addr");
    let http = server::HttpListener {
        listener: http_listener,
        options: tessera::http::HttpOptions {
            issuer: format!("http://{http_addr}"),
            consent_url: setup.consent_url.clone(),
            session_audience: "tessera".into(),
            request_timeout: setup.serve.request_timeout,
            ui: setup.ui.clone(),
        },
    };
    let (tx, rx) = oneshot::channel::<()>();
    let serving = app.clone();
    let serve_options = setup.serve.clone();
    let handle = tokio::spawn(async move {
        server::run(listener, Some(http), serving, serve_options, async {
            let _ = rx.await;
        })
        .await
        .expect("server runs");
    });
    // The listener is already bound: connecting needs no wait.
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    TestApp {
        admin_key,
        admin_id,
        store,
        cache,
        setup,
        clock,
        app,
        tokens: TokenServiceClient::new(channel.clone()),
        admin: AdminServiceClient::new(channel.clone()),
        channel,
        addr,
        http_addr,
        backend,
        shutdown: Some(tx),
        handle: Some(handle),
        feed,
        db,
    }
}

impl TestApp {
    /// Stops the server (draining calls) and starts a new one on the same database.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let admin = (self.admin_key.clone(), self.admin_id.clone());
        self.backend.close().await;
        start(self.db.clone(), Some(admin), self.setup.clone()).await
    }

    /// On Postgres, waits until the change feed listens and has applied every change made so
    /// far (its own included), so no late flush can disturb a count of store reads.
    pub async fn settle(&self) {
        self.feed.settled().await.expect("change feed settles");
    }

    /// Starts the server's shutdown (as SIGTERM would) without waiting for it.
    pub fn begin_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task ends cleanly");
        }
    }

    pub async fn create_role(&self, name: &str, permissions: &[&str]) -> pb::Role {
        self.try_create_role(name, permissions)
            .await
            .expect("create role")
    }

    /// CreateRole as the admin, with its status when it fails.
    pub async fn try_create_role(
        &self,
        name: &str,
        permissions: &[&str],
    ) -> Result<pb::Role, tonic::Status> {
        self.admin
            .clone()
            .create_role(authed(
                &self.admin_key,
                pb::CreateRoleRequest {
                    name: name.into(),
                    permissions: strings(permissions),
                    description: String::new(),
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn set_role(&self, name: &str, permissions: &[&str]) {
        self.admin
            .clone()
            .set_role_permissions(authed(
                &self.admin_key,
                pb::SetRolePermissionsRequest {
                    name: name.into(),
                    permissions: strings(permissions),
                },
            ))
            .await
            .expect("set role permissions");
    }

    pub async fn create_user(&self, name: &str, roles: &[&str]) -> pb::User {
        self.admin
            .clone()
            .create_user(authed(
                &self.admin_key,
                pb::CreateUserRequest {
                    name: name.into(),
                    roles: strings(roles),
                },
            ))
            .await
            .expect("create user")
            .into_inner()
    }

    /// Issues an API key as `caller` (the admin by default via `key_for`).
    pub async fn issue(
        &self,
        caller: &str,
        grant: pb::issue_request::Grant,
    ) -> Result<pb::IssueResponse, tonic::Status> {
        self.tokens
            .clone()
            .issue(authed(caller, pb::IssueRequest { grant: Some(grant) }))
            .await
            .map(tonic::Response::into_inner)
    }

    /// An API key acting as `user_id`, issued by the admin, with the given scopes.
    pub async fn key_for(&self, user_id: &str, scopes: &[&str]) -> pb::IssueResponse {
        self.issue(&self.admin_key, api_key(scopes, user_id))
            .await
            .expect("issue api key")
    }

    /// A PAT bound to `role`, issued by `caller` for itself.
    pub async fn pat(&self, caller: &str, role: &str) -> Result<pb::IssueResponse, tonic::Status> {
        self.issue(
            caller,
            pb::issue_request::Grant::Pat(pb::PatGrant {
                name: "test pat".into(),
                role: role.into(),
                read_only: false,
                ttl: None,
            }),
        )
        .await
    }

    /// ListTokens of `subject` (empty: the caller's own) as `caller`.
    pub async fn tokens_of(&self, caller: &str, subject: &str) -> Vec<pb::TokenInfo> {
        self.admin
            .clone()
            .list_tokens(authed(
                caller,
                pb::ListTokensRequest {
                    subject: subject.into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list tokens")
            .into_inner()
            .tokens
    }

    pub async fn authorize_req(&self, req: pb::AuthorizeRequest) -> pb::AuthorizeResponse {
        self.tokens
            .clone()
            .authorize(authed(&self.admin_key, req))
            .await
            .expect("authorize answers")
            .into_inner()
    }

    /// MATCH_ALL, non-mutating check of `token` for `scopes`.
    pub async fn check(&self, token: &str, scopes: &[&str]) -> pb::AuthorizeResponse {
        self.authorize_req(pb::AuthorizeRequest {
            token: token.into(),
            required_scopes: strings(scopes),
            r#match: pb::Match::All.into(),
            mutating: false,
        })
        .await
    }

    pub async fn introspect(&self, token: &str) -> pb::IntrospectResponse {
        self.tokens
            .clone()
            .introspect(authed(
                &self.admin_key,
                pb::IntrospectRequest {
                    token: token.into(),
                },
            ))
            .await
            .expect("introspect answers")
            .into_inner()
    }

    pub async fn revoke(
        &self,
        caller: &str,
        target: pb::revoke_request::Target,
    ) -> Result<u32, tonic::Status> {
        self.tokens
            .clone()
            .revoke(authed(
                caller,
                pb::RevokeRequest {
                    target: Some(target),
                },
            ))
            .await
            .map(|r| r.into_inner().revoked)
    }
}

/// Waits, on the health service's own Watch stream (no polling), for `want`.
pub async fn health_becomes(
    t: &TestApp,
    want: tonic_health::pb::health_check_response::ServingStatus,
) {
    let mut stream = tonic_health::pb::health_client::HealthClient::new(t.channel.clone())
        .watch(tonic_health::pb::HealthCheckRequest {
            service: "tessera.v1.TokenService".into(),
        })
        .await
        .expect("watch")
        .into_inner();
    let wait = async {
        while let Some(update) = stream.message().await.expect("health update") {
            if update.status == want as i32 {
                return;
            }
        }
        panic!("health stream ended before {want:?}");
    };
    tokio::time::timeout(std::time::Duration::from_secs(15), wait)
        .await
        .unwrap_or_else(|_| panic!("health never became {want:?}"));
}
