//! The one settings type that chooses and configures a backend, and the URL redaction its
//! logs use.

use std::time::Duration;

/// Where data lives and how the store reaches it. Every backend reads what applies to it.
#[derive(Clone)]
pub struct StoreSettings {
    /// `sqlite://PATH` or `postgres://…`; may hold a password, so `Debug` redacts it.
    pub database_url: String,
    /// Most open connections per process.
    pub pool_size: u32,
    /// Postgres: the server-side statement timeout and the longest wait for a connection;
    /// the client-side deadline of every call is this plus a margin.
    pub statement_timeout: Duration,
    /// Postgres: how often the change revision is polled, the fallback that catches change
    /// notices a replica missed.
    pub change_poll_interval: Duration,
}

impl StoreSettings {
    /// The defaults `serve` uses, for the database at `url`.
    pub fn new(url: impl Into<String>) -> StoreSettings {
        StoreSettings {
            database_url: url.into(),
            pool_size: 4,
            statement_timeout: Duration::from_secs(5),
            change_poll_interval: Duration::from_secs(1),
        }
    }

    /// The URL with any password masked, for logs and errors.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.database_url)
    }
}

impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSettings")
            .field("database_url", &self.redacted_url())
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("change_poll_interval", &self.change_poll_interval)
            .finish()
    }
}

/// A database URL with any password masked: the user-info password, and a `password`
/// query parameter. Parsed with the `url` crate (WHATWG rules), so a password holding `@`,
/// `:` or `/` is masked whole. Text that does not parse as a URL is masked entirely: it may
/// be a mistyped URL that still holds a password.
pub fn redact_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return "<unparseable database URL>".to_owned();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let has_password_param = url
        .query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case("password"));
    if has_password_param {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("sqlite://tessera.db"), "sqlite://tessera.db");
        let at_in_password = redact_url("postgres://u:p%40ss@h:5432/db?sslmode=require");
        assert_eq!(at_in_password, "postgres://u:***@h:5432/db?sslmode=require");
        let param = redact_url("postgres://h/db?user=u&password=s&sslmode=require");
        assert_eq!(param, "postgres://h/db?user=u&password=***&sslmode=require");
        for raw in ["postgres://u:p@ss@h/db", "postgres://u:a/b@h/db"] {
            let shown = redact_url(raw);
            assert!(
                !shown.contains("ss@h") && !shown.contains("a/b"),
                "{raw} -> {shown}"
            );
        }
        assert_eq!(redact_url("not a url secret"), "<unparseable database URL>");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let settings = StoreSettings::new("postgres://u:hunter2@h/db");
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
