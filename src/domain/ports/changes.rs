//! Where a store reports changes committed elsewhere (another replica, a direct edit), so a
//! cache in front of it can drop what they make stale.

pub trait ChangeSink: Send + Sync {
    /// One token's record changed or was deleted.
    fn token_changed(&self, id: &str);
    /// Something wider changed (a role, a user's roles or state), or changes may have been
    /// missed: nothing cached can be trusted.
    fn everything_changed(&self);
}
