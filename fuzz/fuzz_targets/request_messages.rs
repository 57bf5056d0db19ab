//! Every request message, as bytes off the wire: decoded by prost and, when it decodes,
//! handed to the real service (its conversion to domain input and the use case) over an
//! in-memory SQLite store, as the admin. Whatever the bytes, never a panic and never
//! INTERNAL or UNKNOWN: bad input is the caller's error (INVALID_ARGUMENT, NOT_FOUND, ...).
//!
//! The first byte picks the RPC; the rest is its message.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use prost::Message;
use tessera::domain::app::{App, LoginConfig};
use tessera::domain::clock::SystemClock;
use tessera::domain::credentials::server_keys::ServerKeys;
use tessera::domain::secret_hash::SecretHasher;
use tessera::grpc::{AccountApi, AdminApi, OAuthApi, TokenApi};
use tessera::proto::v1 as pb;
use tessera::proto::v1::account_service_server::AccountService;
use tessera::proto::v1::admin_service_server::AdminService;
use tessera::proto::v1::o_auth_service_server::OAuthService;
use tessera::proto::v1::token_service_server::TokenService;
use tessera::store::sqlite::SqliteStore;

struct Fixture {
    rt: tokio::runtime::Runtime,
    tokens: TokenApi,
    admin: AdminApi,
    account: AccountApi,
    oauth: OAuthApi,
    bearer: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (app, key) = rt.block_on(async {
            let store = SqliteStore::connect("sqlite::memory:")
                .await
                .expect("store");
            store.migrate().await.expect("migrate");
            let keys = ServerKeys::new(&[9u8; 32]).expect("secret");
            let app = App::new(
                Arc::new(store),
                SecretHasher::new(None),
                Arc::new(SystemClock),
            )
            .with_logins(LoginConfig::default(), Some(keys));
            app.ensure_signing_key().await.expect("signing key");
            let key = app.bootstrap().await.expect("bootstrap").key;
            (Arc::new(app), key)
        });
        Fixture {
            tokens: TokenApi::new(app.clone()),
            admin: AdminApi::new(app.clone()),
            account: AccountApi::new(app.clone()),
            oauth: OAuthApi::new(app),
            bearer: format!("Bearer {key}"),
            rt,
        }
    })
}

fn request<T>(f: &Fixture, message: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    if let Ok(value) = f.bearer.parse() {
        req.metadata_mut().insert("authorization", value);
    }
    req
}

/// The RPCs, each as (service field, method, request type), dispatched by index.
macro_rules! rpcs {
    ($f:ident, $pick:ident, $bytes:ident; $($svc:ident . $method:ident ($ty:ty)),+ $(,)?) => {{
        let all: &[&str] = &[$(stringify!($method)),+];
        let mut i = usize::from($pick) % all.len();
        $(
            if i == 0 {
                let Ok(message) = <$ty>::decode($bytes) else { return };
                let res = $f.rt.block_on($f.$svc.$method(request($f, message)));
                if let Err(status) = res {
                    assert!(
                        !matches!(status.code(), tonic::Code::Internal | tonic::Code::Unknown),
                        "{}: {:?} {}", stringify!($method), status.code(), status.message()
                    );
                }
                return;
            }
            i -= 1;
        )+
        let _ = i;
    }};
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let f = fixture();
    rpcs!(f, pick, bytes;
        tokens.issue(pb::IssueRequest),
        tokens.introspect(pb::IntrospectRequest),
        tokens.revoke(pb::RevokeRequest),
        tokens.rotate(pb::RotateRequest),
        tokens.authorize(pb::AuthorizeRequest),
        tokens.get_jwks(pb::GetJwksRequest),
        admin.create_role(pb::CreateRoleRequest),
        admin.set_role_permissions(pb::SetRolePermissionsRequest),
        admin.get_role(pb::GetRoleRequest),
        admin.list_roles(pb::ListRolesRequest),
        admin.delete_role(pb::DeleteRoleRequest),
        admin.create_user(pb::CreateUserRequest),
        admin.set_user_roles(pb::SetUserRolesRequest),
        admin.disable_user(pb::DisableUserRequest),
        admin.enable_user(pb::EnableUserRequest),
        admin.get_user(pb::GetUserRequest),
        admin.list_users(pb::ListUsersRequest),
        admin.list_tokens(pb::ListTokensRequest),
        admin.set_user_password(pb::SetUserPasswordRequest),
        admin.reset_user_totp(pb::ResetUserTotpRequest),
        admin.rotate_signing_key(pb::RotateSigningKeyRequest),
        admin.create_client(pb::CreateClientRequest),
        admin.get_client(pb::GetClientRequest),
        admin.list_clients(pb::ListClientsRequest),
        admin.list_grants(pb::ListGrantsRequest),
        admin.update_client(pb::UpdateClientRequest),
        admin.rotate_client_secret(pb::RotateClientSecretRequest),
        admin.disable_client(pb::DisableClientRequest),
        admin.enable_client(pb::EnableClientRequest),
        admin.delete_client(pb::DeleteClientRequest),
        admin.list_audit_events(pb::ListAuditEventsRequest),
        account.change_password(pb::ChangePasswordRequest),
        account.enroll_totp(pb::EnrollTotpRequest),
        account.confirm_totp(pb::ConfirmTotpRequest),
        account.remove_totp(pb::RemoveTotpRequest),
        oauth.approve_authorization(pb::ApproveAuthorizationRequest),
        oauth.deny_authorization(pb::DenyAuthorizationRequest),
    );
});
