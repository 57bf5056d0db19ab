//! The secrets `serve` and `bootstrap` read from the environment or from files, and the ones
//! a single-file SQLite store keeps beside its database (mode 0600).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tessera::config::{HashArgs, LoginArgs, SECRET_KEY_ENV, TOKEN_HMAC_KEY_ENV};
use tessera::domain::credentials::server_keys::ServerKeys;

/// The HMAC server key, from `TESSERA_TOKEN_HMAC_KEY` or the key file; never both.
pub fn hmac_key(hashing: &HashArgs) -> anyhow::Result<Option<Vec<u8>>> {
    let from_env = std::env::var_os(TOKEN_HMAC_KEY_ENV).filter(|v| !v.is_empty());
    let key = match (from_env, &hashing.token_hmac_key_file) {
        (Some(_), Some(_)) => {
            bail!("set {TOKEN_HMAC_KEY_ENV} or --token-hmac-key-file, not both")
        }
        (Some(v), None) => v.into_encoded_bytes(),
        (None, Some(path)) => read_key_file(path, "HMAC key")?,
        (None, None) => return Ok(None),
    };
    Ok(Some(key))
}

/// Warns when any user of the machine may read or write `path` (a secret, or the database
/// that holds every hash), naming the file and its mode, never its content. Group bits are
/// left alone: a mounted Kubernetes Secret is group-readable for the pod's own fsGroup.
pub fn warn_if_exposed(path: &Path, what: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o007 != 0 {
                tracing::warn!(path = %path.display(), what, mode = %format!("{mode:03o}"),
                    "a file holding secrets is open to other users; make it owner-only (chmod 600)");
            }
        }
    }
}

/// A secret from a file; a trailing newline from `echo` or an editor is not part of it.
pub fn read_key_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    warn_if_exposed(path, what);
    let mut bytes = std::fs::read(path)
        .with_context(|| format!("reading the {what} file {}", path.display()))?;
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    if bytes.is_empty() {
        bail!("the {what} file {} is empty", path.display());
    }
    Ok(bytes)
}

/// The server secret: `TESSERA_SECRET_KEY` or `--secret-key-file`, never both. Without
/// either, a single-file SQLite store keeps one beside the database, made on first start;
/// on Postgres there is none, and logins answer FAILED_PRECONDITION.
pub fn server_keys(args: &LoginArgs, sqlite: Option<&Path>) -> anyhow::Result<Option<ServerKeys>> {
    let from_env = std::env::var_os(SECRET_KEY_ENV).filter(|v| !v.is_empty());
    let secret = match (from_env, &args.secret_key_file) {
        (Some(_), Some(_)) => bail!("set {SECRET_KEY_ENV} or --secret-key-file, not both"),
        (Some(v), None) => v.into_encoded_bytes(),
        (None, Some(path)) => read_key_file(path, "server secret")?,
        (None, None) => match sqlite {
            Some(db) => {
                let path = beside(Some(db), ".secret-key");
                if !path.exists() {
                    let secret = tessera::domain::token_format::random_base62(43)?;
                    write_secret_file(&path, &secret)
                        .context("saving a new server secret beside the database")?;
                    tracing::warn!(path = %path.display(),
                        "no server secret set: generated one into this file (mode 0600); back it up with the database");
                }
                read_key_file(&path, "server secret")?
            }
            None => {
                tracing::warn!(
                    "no server secret set ({SECRET_KEY_ENV} or --secret-key-file): logins and TOTP answer FAILED_PRECONDITION"
                );
                return Ok(None);
            }
        },
    };
    Ok(Some(ServerKeys::new(&secret).context("the server secret")?))
}

/// A file beside the database file, named after it: `<database><suffix>`.
pub fn beside(db: Option<&Path>, suffix: &str) -> PathBuf {
    let mut name = db
        .and_then(Path::file_name)
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "tessera".into());
    name.push(suffix);
    db.and_then(Path::parent)
        .map(|dir| dir.join(&name))
        .unwrap_or_else(|| PathBuf::from(&name))
}

/// Writes the secret readable by the owner only (0600). A file left from an earlier, deleted
/// database is stale (its key matches nothing here) and is replaced, never appended to.
pub fn write_secret_file(path: &Path, key: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if path.exists() {
        tracing::warn!(path = %path.display(), "replacing a stale admin key file");
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{key}").with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
