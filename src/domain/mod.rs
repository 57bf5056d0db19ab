//! The permission algebra, tokens and use cases. Nothing here knows about gRPC or SQL.

pub mod app;
pub mod audit;
pub mod clock;
pub mod credentials;
pub mod error;
pub mod model;
pub mod oauth_client;
pub mod oauth_grant;
pub mod permission;
pub mod permission_set;
pub mod ports;
pub mod text;
pub mod usage;
pub mod validate;

// Where they lived before `credentials` gathered every kind of secret.
pub use credentials::{secret_hash, token_format};
