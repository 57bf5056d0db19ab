//! Generated protobuf and gRPC code for `tessera.v1`, and the descriptor set for reflection.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// `tessera.v1`: the wire contract callers depend on.
pub mod v1 {
    tonic::include_proto!("tessera.v1");
}

/// The encoded `FileDescriptorSet` of every tessera proto file (and its imports),
/// served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tessera_descriptor");

/// Redacting `Debug` for the messages that carry a token secret (their derived `Debug` is
/// switched off in build.rs).
mod redacted_debug {
    use std::fmt;

    use super::v1::{
        AuthorizeRequest, IntrospectRequest, IssueResponse, RevokeRequest, revoke_request,
    };

    const REDACTED: &str = "<redacted>";

    impl fmt::Debug for IssueResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("IssueResponse")
                .field("token", &REDACTED)
                .field("token_id", &self.token_id)
                .field("kind", &self.kind)
                .field("scopes", &self.scopes)
                .field("stripped_scopes", &self.stripped_scopes)
                .field("expires_at", &self.expires_at)
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
            ];
            for text in texts {
                assert!(!text.contains(secret), "{text}");
            }
        }
    }
}
