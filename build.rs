//! Compiles `proto/` with protox (pure Rust), so a fresh machine needs no system `protoc`,
//! and writes the encoded descriptor set that server reflection serves.

use std::path::PathBuf;

const SECRET_BEARING: [&str; 5] = [
    ".tessera.v1.IssueResponse",
    ".tessera.v1.IntrospectRequest",
    ".tessera.v1.AuthorizeRequest",
    ".tessera.v1.RevokeRequest",
    ".tessera.v1.RevokeRequest.target",
];

/// Set to a Postgres server URL, it turns on the Postgres half of the integration suite
/// (`tests/postgres`), which gives each test its own database on that server.
const POSTGRES_TESTS_ENV: &str = "TESSERA_TEST_POSTGRES_URL";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-env-changed={POSTGRES_TESTS_ENV}");
    println!("cargo::rustc-check-cfg=cfg(tessera_postgres_tests)");
    if std::env::var_os(POSTGRES_TESTS_ENV).is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=tessera_postgres_tests");
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(["tessera/v1/tokens.proto", "tessera/v1/admin.proto"])?;
    std::fs::write(
        out_dir.join("tessera_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    tonic_prost_build::configure()
        // Messages that carry a token secret get a redacting Debug (in src/proto.rs), so no
        // `{:?}` anywhere can print one.
        .skip_debug(SECRET_BEARING)
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
