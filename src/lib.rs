//! tessera: a gRPC token service that issues, introspects, revokes and authorizes bearer
//! tokens (static API keys and role-bound Personal Access Tokens).
//!
//! # Layout
//! - [`domain`]: the permission algebra, the token format and hashing, and the use cases.
//!   No gRPC or SQL here.
//! - [`store`]: the [`store::Store`] trait and its SQLite backend; statements are written once
//!   with sea-query.
//! - [`grpc`]: thin service implementations, proto ↔ domain conversion, and the one mapping
//!   from domain errors to `tonic::Status`.
//! - [`server`]: health, reflection and services on a listener the caller bound.
//! - [`config`] and [`telemetry`]: settings, logging and OTLP export.
//! - [`bench`]: the load generator behind `tessera bench` and `scripts/bench.sh`.

pub mod bench;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod proto;
pub mod server;
pub mod store;
pub mod telemetry;
