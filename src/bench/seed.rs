//! Bulk seeding through the store: a store of N tokens in seconds, not N RPCs.

use std::io::Write;
use std::path::Path;

use super::BenchError;
use crate::domain::app::App;
use crate::domain::permission_set::PermissionSet;

/// Rows per transaction: large enough to amortise the commit, small enough to keep memory flat.
const BATCH: usize = 10_000;

/// Bootstraps the store, adds a role and a user, and `tokens` API keys for that user.
/// Returns the admin key; writes the seeded keys' secrets to `secrets_out` when given
/// (they exist nowhere else).
pub async fn seed(
    app: &App,
    tokens: usize,
    secrets_out: Option<&Path>,
) -> Result<String, BenchError> {
    let admin = app.bootstrap().await?;
    let caller = app.authenticate(Some(&admin.key)).await?;
    let role_name = "bench-seed".to_owned();
    let permissions = [
        "contacts:*".to_owned(),
        "deals:read".to_owned(),
        "webhook:*".to_owned(),
    ];
    if let Err(e) = app
        .create_role(
            &caller,
            role_name.clone(),
            &permissions,
            "seeded for benchmarks".to_owned(),
        )
        .await
    {
        if !matches!(e, crate::domain::error::Error::AlreadyExists(_)) {
            return Err(e.into());
        }
    }
    let user_name = format!(
        "bench-seed-{}",
        crate::domain::token_format::random_base62(8)?
    );
    let user = app.create_user(&caller, user_name, &[role_name]).await?;
    let scopes = PermissionSet::parse(&["contacts:read", "deals:read"])
        .map_err(|_| BenchError::Setup("seed scopes".to_owned()))?;
    let mut file = match secrets_out {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| BenchError::Setup(format!("{}: {e}", path.display())))?,
        )),
        None => None,
    };
    let mut left = tokens;
    while left > 0 {
        let n = left.min(BATCH);
        let secrets = app.seed_api_keys(&user.id, &scopes, n).await?;
        if let Some(f) = file.as_mut() {
            for s in &secrets {
                writeln!(f, "{s}").map_err(|e| BenchError::Setup(e.to_string()))?;
            }
        }
        left -= n;
    }
    if let Some(mut f) = file {
        f.flush().map_err(|e| BenchError::Setup(e.to_string()))?;
    }
    Ok(admin.key)
}
