//! Where a store reports changes committed elsewhere (another replica, a direct edit), so a
//! cache in front of it can drop what they make stale.

pub trait ChangeSink: Send + Sync {
    /// One token's record changed or was deleted.
    fn token_changed(&self, id: &str);
    /// A role's permissions changed, or the role was deleted.
    fn role_changed(&self, name: &str);
    /// A user's roles or state changed, or the user was deleted.
    fn user_changed(&self, id: &str);
    /// An OAuth client's scopes or state changed, or the client was deleted.
    fn client_changed(&self, id: &str);
    /// Something wider changed (many rows at once, a table truncated), or changes may have
    /// been missed: nothing cached can be trusted.
    fn everything_changed(&self);
}
