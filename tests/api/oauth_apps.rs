//! Apps for the OAuth tests: registered through AdminService, driven over the HTTP
//! endpoints by the `oauth2` crate (a client library nobody here wrote), approved through
//! OAuthService with a signed-in user's session, as a product's consent page would.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, IntrospectionUrl, RedirectUrl,
    RevocationUrl, TokenUrl,
};
use tessera::proto::v1 as pb;
use tessera::proto::v1::o_auth_service_client::OAuthServiceClient;

use crate::helpers::*;

const ALL_GRANTS: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// The redirect URI every test app registers.
pub const REDIRECT: &str = "https://app.example.com/callback";

/// A client with every endpoint set, as an app would configure it.
pub type App = BasicClient<EndpointSet, EndpointNotSet, EndpointSet, EndpointSet, EndpointSet>;

/// A registered app: its id and, for a confidential one, its secret.
pub struct Registered {
    pub id: String,
    pub secret: String,
}

impl TestApp {
    pub async fn register_app(
        &self,
        kind: pb::ClientType,
        scopes: &[&str],
        grants: &[&str],
    ) -> Registered {
        let redirects = [REDIRECT, "http://127.0.0.1/loopback"];
        self.register(pb::CreateClientRequest {
            name: "test app".into(),
            r#type: kind.into(),
            redirect_uris: strings(&redirects),
            scopes: strings(scopes),
            grant_types: strings(grants),
        })
        .await
    }

    /// A public client named `name` with one redirect URI.
    pub async fn public_app(
        &self,
        name: &str,
        redirect: &str,
        scopes: &[&str],
        grants: &[&str],
    ) -> Registered {
        self.register(pb::CreateClientRequest {
            name: name.into(),
            r#type: pb::ClientType::Public.into(),
            redirect_uris: strings(&[redirect]),
            scopes: strings(scopes),
            grant_types: strings(grants),
        })
        .await
    }

    async fn register(&self, req: pb::CreateClientRequest) -> Registered {
        let made = self
            .admin
            .clone()
            .create_client(authed(&self.admin_key, req))
            .await
            .expect("create client")
            .into_inner();
        Registered {
            id: made.client.expect("client").client_id,
            secret: made.client_secret,
        }
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http_addr)
    }

    /// The app as the `oauth2` crate sees it; Basic authentication unless `post`.
    pub fn oauth_app(&self, app: &Registered, post: bool) -> App {
        let mut client = BasicClient::new(ClientId::new(app.id.clone()))
            .set_auth_uri(AuthUrl::new(self.http_url("/oauth/authorize")).expect("url"))
            .set_token_uri(TokenUrl::new(self.http_url("/oauth/token")).expect("url"))
            .set_revocation_url(RevocationUrl::new(self.http_url("/oauth/revoke")).expect("url"))
            .set_introspection_url(
                IntrospectionUrl::new(self.http_url("/oauth/introspect")).expect("url"),
            )
            .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("url"));
        if !app.secret.is_empty() {
            client = client.set_client_secret(ClientSecret::new(app.secret.clone()));
        }
        if post {
            client = client.set_auth_type(oauth2::AuthType::RequestBody);
        }
        client
    }

    /// A signed-in user holding `roles`: its session JWT.
    pub async fn session_for(&self, name: &str, roles: &[&str]) -> String {
        self.user_with_password(name, roles).await;
        self.login(name, crate::accounts::PASSWORD, "")
            .await
            .expect("login")
            .token
    }

    pub fn oauth_service(&self) -> OAuthServiceClient<tonic::transport::Channel> {
        OAuthServiceClient::new(self.channel.clone())
    }

    /// What a consent page does on "Allow": the parameters of the authorization request
    /// (as `/oauth/authorize` forwarded them), approved with the user's session.
    pub async fn approve(
        &self,
        session: &str,
        query: &url::Url,
    ) -> Result<pb::ApproveAuthorizationResponse, tonic::Status> {
        let param = |name: &str| {
            query
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let scopes = param("scope")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        self.oauth_service()
            .approve_authorization(authed(
                session,
                pb::ApproveAuthorizationRequest {
                    client_id: param("client_id"),
                    redirect_uri: param("redirect_uri"),
                    response_type: param("response_type"),
                    scopes,
                    state: param("state"),
                    code_challenge: param("code_challenge"),
                    code_challenge_method: param("code_challenge_method"),
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }
}

/// An HTTP client that never follows redirects (SSRF, and the tests read `Location`).
pub fn http() -> oauth2::reqwest::Client {
    oauth2::reqwest::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// A query parameter of a URL.
pub fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// POSTs a form to an endpoint: the status and the JSON answer.
pub async fn post_form(
    url: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value, Option<String>) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.expect("http answers");
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let bytes = res.bytes().await.expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json, challenge)
}

/// The code of an approval by `session` of `client_id`, for REDIRECT, without PKCE.
pub async fn approved_code(t: &TestApp, session: &str, client_id: &str) -> String {
    t.oauth_service()
        .approve_authorization(authed(
            session,
            pb::ApproveAuthorizationRequest {
                client_id: client_id.to_owned(),
                redirect_uri: REDIRECT.into(),
                response_type: "code".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("approve")
        .into_inner()
        .code
}

/// A confidential app approved by `ann` (editor): the app and the token endpoint's answer.
pub async fn connected(
    t: &TestApp,
    session: &str,
    scopes: &[&str],
) -> (Registered, serde_json::Value) {
    let app = t
        .register_app(pb::ClientType::Confidential, scopes, &ALL_GRANTS)
        .await;
    let code = approved_code(t, session, &app.id).await;
    let (status, json, _) = post_form(
        &t.http_url("/oauth/token"),
        Some((&app.id, &app.secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{json}");
    (app, json)
}

pub async fn ann(t: &TestApp) -> String {
    t.create_role("editor", &["read:contacts", "write:contacts"])
        .await;
    t.session_for("ann", &["editor"]).await
}
