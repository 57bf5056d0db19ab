//! The permission algebra, tokens and use cases. Nothing here knows about gRPC or SQL.

pub mod app;
pub mod clock;
pub mod error;
pub mod model;
pub mod permission;
pub mod permission_set;
pub mod ports;
pub mod secret_hash;
pub mod text;
pub mod token_format;
pub mod usage;
pub mod validate;
