//! The session `tessera login` keeps: one JSON file, mode 0600, in a 0700 directory under the
//! user's config directory (`$TESSERA_CONFIG_DIR`, else `$XDG_CONFIG_HOME/tessera`, else
//! `~/.config/tessera`). It holds the session token (the credential itself, as a browser's
//! cookie jar would), which server it is for and until when; never the password or a code.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::{CliError, CliResult};

#[derive(Clone, Serialize, Deserialize)]
pub struct Saved {
    /// The `--server` it was made on: it is sent to that server only.
    pub server: String,
    pub user: String,
    pub token: String,
    /// Unix seconds; 0 when the server named no expiry.
    pub expires_at: i64,
}

impl std::fmt::Debug for Saved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saved")
            .field("server", &self.server)
            .field("user", &self.user)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

pub fn config_dir() -> CliResult<PathBuf> {
    let from = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = from("TESSERA_CONFIG_DIR") {
        return Ok(dir);
    }
    if let Some(dir) = from("XDG_CONFIG_HOME") {
        return Ok(dir.join("tessera"));
    }
    match from("HOME") {
        Some(home) => Ok(home.join(".config").join("tessera")),
        None => Err(CliError::Local(
            "no config directory: set TESSERA_CONFIG_DIR or HOME".into(),
        )),
    }
}

pub fn path() -> CliResult<PathBuf> {
    Ok(config_dir()?.join("session.json"))
}

/// Written to a new 0600 file beside the old one (named at random, so two logins at once
/// never write into each other's) and renamed over it, so a reader never sees half a file
/// and the secret is never readable by others, not even for a moment.
pub fn save(saved: &Saved) -> CliResult<PathBuf> {
    let dir = config_dir()?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(&dir)
        .map_err(CliError::io(format!("creating {}", dir.display())))?;
    let target = dir.join("session.json");
    let suffix = crate::domain::credentials::token_format::random_base62(12)
        .map_err(|e| CliError::Local(format!("no randomness for a file name: {e}")))?;
    let temp = dir.join(format!(".session.json.{suffix}"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let text = serde_json::to_string_pretty(saved)
        .map_err(|e| CliError::Local(format!("encoding the session: {e}")))?;
    let mut file = options
        .open(&temp)
        .map_err(CliError::io(format!("creating {}", temp.display())))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(CliError::io(format!("writing {}", temp.display())))?;
    if let Err(e) = std::fs::rename(&temp, &target) {
        let _ = std::fs::remove_file(&temp);
        return Err(CliError::io(format!("replacing {}", target.display()))(e));
    }
    Ok(target)
}

/// The saved session; refused when others may read the file (as ssh refuses such a key):
/// its token may already be someone else's.
pub fn load() -> CliResult<Option<Saved>> {
    let path = path()?;
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(&path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(CliError::Local(format!(
                "{} is readable by others (mode {mode:o}): delete it and log in again",
                path.display()
            )));
        }
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            CliError::Local(format!(
                "{} is not a tessera session ({e}); run `tessera logout`",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::io(format!("reading {}", path.display()))(e)),
    }
}

/// True when there was a session to remove.
pub fn remove() -> CliResult<bool> {
    let path = path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(CliError::io(format!("removing {}", path.display()))(e)),
    }
}
