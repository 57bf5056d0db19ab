//! Checks on request fields. Each error names the field, so callers can fix what they sent.

use std::time::Duration;

use super::error::{Error, Result};
use super::permission::{self, Pattern};
use super::permission_set::PermissionSet;

/// Most required scopes one Authorize may ask about.
pub const MAX_REQUIRED_SCOPES: usize = 64;
/// Most permissions a role or an API key may list.
pub const MAX_PERMISSIONS: usize = 256;
/// Most roles a user may hold. With [`MAX_PERMISSIONS`] each, a user's union stays within
/// [`crate::domain::permission_set::MAX_PATTERNS`].
pub const MAX_ROLES_PER_USER: usize = 64;
const _: () =
    assert!(MAX_ROLES_PER_USER * MAX_PERMISSIONS <= crate::domain::permission_set::MAX_PATTERNS);
/// Shortest lifetime a token may be given: a token that expires before it can be used is
/// a mistake, not a credential.
pub const MIN_TTL: Duration = Duration::from_secs(1);
/// Longest lifetime a token may be given: ten years.
pub const MAX_TTL: Duration = Duration::from_secs(10 * 366 * 24 * 3600);
pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Role names: `[a-z0-9][a-z0-9_.-]*`, at most 64 bytes (the permission segment alphabet).
pub fn role_name(field: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "a role name is 1 to 64 bytes of `[a-z0-9][a-z0-9_.-]*`",
        ))
    }
}

/// User names: 1 to 128 bytes of `[A-Za-z0-9_.@+-]`, starting with a letter or digit
/// (so e-mail addresses fit).
pub fn user_name(field: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'+' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "a user name is 1 to 128 bytes of `[A-Za-z0-9_.@+-]`, starting with a letter or digit",
        ))
    }
}

/// Token names are labels: 1 to 128 bytes in NFC, not blank, with none of the characters
/// `text` refuses. Returns the name as stored.
pub fn token_name(field: &str, name: &str) -> Result<String> {
    let name = super::text::clean(field, name, 128, "a token name")?;
    if name.trim().is_empty() {
        return Err(Error::invalid(field, "a token name must not be blank"));
    }
    Ok(name)
}

/// Descriptions: free text up to 1024 bytes in NFC, with none of the characters `text`
/// refuses. Returns the description as stored.
pub fn description(field: &str, text: &str) -> Result<String> {
    super::text::clean(field, text, 1024, "a description")
}

/// A list of names: each valid, none repeated.
pub fn role_names(field: &str, names: &[String]) -> Result<Vec<String>> {
    if names.len() > MAX_ROLES_PER_USER {
        return Err(Error::invalid(
            field,
            format!("a user holds at most {MAX_ROLES_PER_USER} roles (MAX_ROLES_PER_USER)"),
        ));
    }
    let mut seen: Vec<String> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let item = format!("{field}[{i}]");
        role_name(&item, name)?;
        if seen.contains(name) {
            return Err(Error::invalid(item, format!("duplicate role {name:?}")));
        }
        seen.push(name.clone());
    }
    seen.sort();
    Ok(seen)
}

/// Granted permissions (roles, API key scopes): valid syntax, no duplicates.
pub fn grants(field: &str, items: &[String], allow_empty: bool) -> Result<PermissionSet> {
    if items.is_empty() && !allow_empty {
        return Err(Error::invalid(field, "must list at least one permission"));
    }
    if items.len() > MAX_PERMISSIONS {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_PERMISSIONS} permissions (MAX_PERMISSIONS)"),
        ));
    }
    let mut patterns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let pattern = Pattern::parse(item)
            .map_err(|e| Error::invalid(format!("{field}[{i}]"), e.to_string()))?;
        if items[..i].contains(item) {
            return Err(Error::invalid(
                format!("{field}[{i}]"),
                format!("duplicate permission {item:?}"),
            ));
        }
        patterns.push(pattern);
    }
    Ok(PermissionSet::from_patterns(&patterns))
}

/// Required permissions of an Authorize: 1 to 64, valid syntax (`*` is a literal here).
pub fn required(field: &str, items: &[String]) -> Result<()> {
    if items.is_empty() {
        return Err(Error::invalid(field, "must list at least one permission"));
    }
    if items.len() > MAX_REQUIRED_SCOPES {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_REQUIRED_SCOPES} permissions"),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        permission::validate_required(item)
            .map_err(|e| Error::invalid(format!("{field}[{i}]"), e.to_string()))?;
    }
    Ok(())
}

/// A token lifetime: positive and at most [`MAX_TTL`].
pub fn ttl(field: &str, ttl: Option<Duration>) -> Result<Option<Duration>> {
    match ttl {
        None => Ok(None),
        Some(d) if d < MIN_TTL => Err(Error::invalid(field, "at least 1 second")),
        Some(d) if d > MAX_TTL => Err(Error::invalid(field, "at most ten years")),
        Some(d) => Ok(Some(d)),
    }
}

/// A public token id: base62, at most 64 characters. The value is never echoed, since a
/// caller may have pasted a whole token here by mistake.
pub fn token_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if super::token_format::parse_presented(id).is_some() {
        return Err(Error::invalid(
            field,
            "this is a token, not a token id: send it in the `token` field",
        ));
    }
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::invalid(
            field,
            "a token id is up to 64 base62 characters",
        ));
    }
    Ok(())
}

/// Page size: 0 means the default; larger than the maximum is clamped.
pub fn page_size(size: u32) -> u32 {
    match size {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(role_name("name", "admin").is_ok());
        assert!(role_name("name", "Admin").is_err());
        assert!(role_name("name", "").is_err());
        assert!(user_name("name", "alice@example.com").is_ok());
        assert!(user_name("name", "-alice").is_err());
        assert!(user_name("name", "al ice").is_err());
        assert!(token_name("name", "ci deploy key").is_ok());
        assert!(token_name("name", " ").is_err());
        assert!(token_name("name", "a\nb").is_err());
    }

    #[test]
    fn errors_name_the_field() {
        let err = grants("scopes", &["read:x".into(), "BAD".into()], false).expect_err("bad");
        assert!(err.to_string().starts_with("scopes[1]:"), "{err}");
        let err = role_names("roles", &["a".into(), "a".into()]).expect_err("dup");
        assert!(err.to_string().contains("roles[1]"), "{err}");
        let many: Vec<String> = (0..65).map(|i| format!("p{i}")).collect();
        assert!(required("required_scopes", &many).is_err());
        assert!(required("required_scopes", &[]).is_err());
        assert!(ttl("ttl", Some(Duration::ZERO)).is_err());
    }
}
