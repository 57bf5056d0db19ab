//! Generated protobuf and gRPC code for `tessera.v1`, and the descriptor set for reflection.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// `tessera.v1`: the wire contract callers depend on.
pub mod v1 {
    tonic::include_proto!("tessera.v1");
}

/// Envoy's ext_authz v3 API (`envoy.service.auth.v3.Authorization`) and the packages it
/// imports, generated from `proto/vendor`.
#[allow(
    clippy::doc_lazy_continuation,
    clippy::large_enum_variant,
    rustdoc::all
)]
pub mod envoy_api {
    include!(concat!(env!("OUT_DIR"), "/envoy_api.rs"));
}

/// An HTTP request as Envoy describes it carries its headers, a bearer token among them:
/// its `Debug` names the method and path and the headers' names only.
impl std::fmt::Debug for envoy_api::envoy::service::auth::v3::attribute_context::HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.headers.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            // Without its query: a token may travel as `?access_token=` (RFC 6750 §2.3).
            .field("path", &self.path.split('?').next().unwrap_or_default())
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

/// Its encoded `FileDescriptorSet`, served by reflection beside tessera's.
pub const ENVOY_FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("envoy_descriptor");

/// The encoded `FileDescriptorSet` of every tessera proto file (and its imports),
/// served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tessera_descriptor");

/// Redacting `Debug` for the messages that carry a token secret (their derived `Debug` is
/// switched off in build.rs).
mod redacted_debug {
    use std::fmt;

    use super::v1::{
        ApproveAuthorizationResponse, AuthorizationCodeGrant, AuthorizeRequest,
        ChangePasswordRequest, ClientCredentialsGrant, CreateClientResponse, EnrollTotpResponse,
        IntrospectRequest, IssueRequest, IssueResponse, PasswordGrant, RefreshTokenGrant,
        RevokeRequest, RotateClientSecretResponse, SetUserPasswordRequest, issue_request,
        revoke_request,
    };

    const REDACTED: &str = "<redacted>";

    impl fmt::Debug for CreateClientResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("CreateClientResponse")
                .field("client", &self.client)
                .field("client_secret", &REDACTED)
                .field("stripped_scopes", &self.stripped_scopes)
                .finish()
        }
    }

    impl fmt::Debug for RotateClientSecretResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RotateClientSecretResponse")
                .field("client", &self.client)
                .field("client_secret", &REDACTED)
                .finish()
        }
    }

    impl fmt::Debug for IssueResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("IssueResponse")
                .field("token", &REDACTED)
                .field("token_id", &self.token_id)
                .field("kind", &self.kind)
                .field("scopes", &self.scopes)
                .field("stripped_scopes", &self.stripped_scopes)
                .field("expires_at", &self.expires_at)
                .field("refresh_token", &REDACTED)
                .field("refresh_expires_at", &self.refresh_expires_at)
                .finish()
        }
    }

    impl fmt::Debug for AuthorizationCodeGrant {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("AuthorizationCodeGrant")
                .field("code", &REDACTED)
                .field("redirect_uri", &self.redirect_uri)
                .field("client_id", &self.client_id)
                .field("client_secret", &REDACTED)
                .field("code_verifier", &REDACTED)
                .finish()
        }
    }

    impl fmt::Debug for RefreshTokenGrant {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RefreshTokenGrant")
                .field("refresh_token", &REDACTED)
                .field("client_id", &self.client_id)
                .field("client_secret", &REDACTED)
                .field("scopes", &self.scopes)
                .finish()
        }
    }

    impl fmt::Debug for ClientCredentialsGrant {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("ClientCredentialsGrant")
                .field("client_id", &self.client_id)
                .field("client_secret", &REDACTED)
                .field("scopes", &self.scopes)
                .finish()
        }
    }

    impl fmt::Debug for ApproveAuthorizationResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("ApproveAuthorizationResponse")
                .field("redirect_url", &REDACTED)
                .field("code", &REDACTED)
                .field("expires_at", &self.expires_at)
                .field("scopes", &self.scopes)
                .field("error", &self.error)
                .finish()
        }
    }

    impl fmt::Debug for IssueRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("IssueRequest")
                .field("grant", &self.grant)
                .finish()
        }
    }

    impl fmt::Debug for issue_request::Grant {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                issue_request::Grant::ApiKey(g) => f.debug_tuple("ApiKey").field(g).finish(),
                issue_request::Grant::Pat(g) => f.debug_tuple("Pat").field(g).finish(),
                issue_request::Grant::Password(g) => f.debug_tuple("Password").field(g).finish(),
                issue_request::Grant::AuthorizationCode(g) => {
                    f.debug_tuple("AuthorizationCode").field(g).finish()
                }
                issue_request::Grant::RefreshToken(g) => {
                    f.debug_tuple("RefreshToken").field(g).finish()
                }
                issue_request::Grant::ClientCredentials(g) => {
                    f.debug_tuple("ClientCredentials").field(g).finish()
                }
            }
        }
    }

    impl fmt::Debug for PasswordGrant {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("PasswordGrant")
                .field("username", &self.username)
                .field("password", &REDACTED)
                .field("totp_code", &REDACTED)
                .field("ttl", &self.ttl)
                .finish()
        }
    }

    impl fmt::Debug for SetUserPasswordRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SetUserPasswordRequest")
                .field("id", &self.id)
                .field("password", &REDACTED)
                .finish()
        }
    }

    impl fmt::Debug for ChangePasswordRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("ChangePasswordRequest")
                .field("current_password", &REDACTED)
                .field("new_password", &REDACTED)
                .finish()
        }
    }

    impl fmt::Debug for EnrollTotpResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("EnrollTotpResponse")
                .field("secret", &REDACTED)
                .field("otpauth_uri", &REDACTED)
                .finish()
        }
    }

    impl fmt::Debug for IntrospectRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("IntrospectRequest")
                .field("token", &REDACTED)
                .finish()
        }
    }

    impl fmt::Debug for AuthorizeRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("AuthorizeRequest")
                .field("token", &REDACTED)
                .field("required_scopes", &self.required_scopes)
                .field("match", &self.r#match)
                .field("mutating", &self.mutating)
                .finish()
        }
    }

    impl fmt::Debug for RevokeRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RevokeRequest")
                .field("target", &self.target)
                .finish()
        }
    }

    impl fmt::Debug for revoke_request::Target {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                revoke_request::Target::Token(_) => f.write_str("Token(<redacted>)"),
                // A caller may paste a whole token where an id belongs: redact that too.
                revoke_request::Target::TokenId(_) => f.write_str("TokenId(<redacted>)"),
                revoke_request::Target::Subject(s) => f.debug_tuple("Subject").field(s).finish(),
                revoke_request::Target::ClientId(c) => f.debug_tuple("ClientId").field(c).finish(),
                revoke_request::Target::Grant(g) => f.debug_tuple("Grant").field(g).finish(),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn secrets_never_reach_debug_output() {
            let secret = "tsk_secretsecretsecret";
            let texts = [
                format!(
                    "{:?}",
                    IssueResponse {
                        token: secret.into(),
                        ..Default::default()
                    }
                ),
                format!(
                    "{:?}",
                    IntrospectRequest {
                        token: secret.into()
                    }
                ),
                format!(
                    "{:?}",
                    AuthorizeRequest {
                        token: secret.into(),
                        ..Default::default()
                    }
                ),
                format!(
                    "{:?}",
                    RevokeRequest {
                        target: Some(revoke_request::Target::Token(secret.into()))
                    }
                ),
                format!(
                    "{:?}",
                    RevokeRequest {
                        target: Some(revoke_request::Target::TokenId(secret.into()))
                    }
                ),
                format!(
                    "{:?}",
                    IssueRequest {
                        grant: Some(issue_request::Grant::Password(PasswordGrant {
                            username: "alice".into(),
                            password: secret.into(),
                            totp_code: secret.into(),
                            ttl: None,
                        }))
                    }
                ),
                format!(
                    "{:?}",
                    SetUserPasswordRequest {
                        id: "usr_1".into(),
                        password: secret.into(),
                    }
                ),
                format!(
                    "{:?}",
                    ChangePasswordRequest {
                        current_password: secret.into(),
                        new_password: secret.into(),
                    }
                ),
                format!(
                    "{:?}",
                    EnrollTotpResponse {
                        secret: secret.into(),
                        otpauth_uri: secret.into(),
                    }
                ),
            ];
            for text in texts {
                assert!(!text.contains(secret), "{text}");
            }
        }
    }
}

/// The codec of every tessera service: prost's, except that a request body that does not
/// decode is the caller's fault, so it answers INVALID_ARGUMENT instead of the INTERNAL
/// tonic-prost gives (which would page an operator for a client's bug, and says "retry
/// elsewhere" to clients that treat INTERNAL as ours). Chosen in build.rs (`codec_path`).
pub mod codec {
    use tonic::Status;
    use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
    use tonic_prost::{ProstCodec, ProstDecoder};

    #[derive(Debug, Clone)]
    pub struct StrictCodec<T, U>(ProstCodec<T, U>);

    impl<T, U> Default for StrictCodec<T, U> {
        fn default() -> Self {
            StrictCodec(ProstCodec::new())
        }
    }

    impl<T, U> Codec for StrictCodec<T, U>
    where
        T: prost::Message + Send + 'static,
        U: prost::Message + Default + Send + 'static,
    {
        type Encode = T;
        type Decode = U;
        type Encoder = <ProstCodec<T, U> as Codec>::Encoder;
        type Decoder = StrictDecoder<U>;

        fn encoder(&mut self) -> Self::Encoder {
            self.0.encoder()
        }

        fn decoder(&mut self) -> Self::Decoder {
            StrictDecoder(self.0.decoder())
        }
    }

    #[derive(Debug, Clone, Default)]
    pub struct StrictDecoder<U>(ProstDecoder<U>);

    impl<U: prost::Message + Default> Decoder for StrictDecoder<U> {
        type Item = U;
        type Error = Status;

        fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
            self.0.decode(buf).map_err(|e| {
                Status::invalid_argument(format!("malformed request message: {}", e.message()))
            })
        }

        fn buffer_settings(&self) -> BufferSettings {
            self.0.buffer_settings()
        }
    }
}
