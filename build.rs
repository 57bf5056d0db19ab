//! Compiles `proto/` with protox (pure Rust), so a fresh machine needs no system `protoc`,
//! and writes the encoded descriptor sets that server reflection serves: tessera's own, and
//! Envoy's ext_authz v3 API (from `proto/vendor`, see its README).

use std::path::PathBuf;

const SECRET_BEARING: [&str; 17] = [
    ".tessera.v1.IssueRequest",
    ".tessera.v1.IssueRequest.grant",
    ".tessera.v1.PasswordGrant",
    ".tessera.v1.SetUserPasswordRequest",
    ".tessera.v1.ChangePasswordRequest",
    ".tessera.v1.EnrollTotpResponse",
    ".tessera.v1.IssueResponse",
    ".tessera.v1.IntrospectRequest",
    ".tessera.v1.AuthorizeRequest",
    ".tessera.v1.RevokeRequest",
    ".tessera.v1.RevokeRequest.target",
    ".tessera.v1.CreateClientResponse",
    ".tessera.v1.RotateClientSecretResponse",
    ".tessera.v1.AuthorizationCodeGrant",
    ".tessera.v1.RefreshTokenGrant",
    ".tessera.v1.ClientCredentialsGrant",
    ".tessera.v1.ApproveAuthorizationResponse",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files([
        "tessera/v1/tokens.proto",
        "tessera/v1/admin.proto",
        "tessera/v1/account.proto",
        "tessera/v1/oauth.proto",
    ])?;
    std::fs::write(
        out_dir.join("tessera_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    tonic_prost_build::configure()
        // Messages that carry a token secret get a redacting Debug (in src/proto.rs), so no
        // `{:?}` anywhere can print one.
        .skip_debug(SECRET_BEARING)
        // Malformed request bodies answer INVALID_ARGUMENT (see `proto::codec`).
        .codec_path("crate::proto::codec::StrictCodec")
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;

    let mut envoy = protox::Compiler::new(["proto/vendor"])?;
    envoy.include_imports(true).include_source_info(true);
    envoy.open_files(["envoy/service/auth/v3/external_auth.proto"])?;
    std::fs::write(
        out_dir.join("envoy_descriptor.bin"),
        envoy.encode_file_descriptor_set(),
    )?;
    tonic_prost_build::configure()
        // Envoy's packages as one module tree (`proto::envoy_api`), its request's headers
        // (a bearer token among them) never printed.
        .include_file("envoy_api.rs")
        .skip_debug([".envoy.service.auth.v3.AttributeContext.HttpRequest"])
        .build_client(true)
        .build_server(true)
        .compile_fds(envoy.file_descriptor_set())?;
    Ok(())
}
