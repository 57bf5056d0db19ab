//! tessera: a gRPC token service that issues, introspects, revokes and authorizes bearer
//! tokens (static API keys and role-bound Personal Access Tokens).
//!
//! # Layout
//! - [`domain`]: the permission algebra (sets in a trie, with a memo of what was read:
//!   [`domain::permission_set`]), the token format and hashing, the use cases, and
//!   the ports they need ([`domain::ports`]: one store trait per entity, `StoreError`, the
//!   change sink). No gRPC or SQL here, and nothing from `store`, `grpc` or `config`.
//! - [`store`]: the ports in SQL, once for SQLite and Postgres ([`store::sql`]: a generic
//!   store over a small backend trait); statements are written once with sea-query.
//! - [`grpc`]: thin service implementations, proto ↔ domain conversion, and the one mapping
//!   from domain errors to `tonic::Status`.
//! - [`http`]: the OAuth 2 endpoints (token, revoke, introspect, authorize, discovery) on
//!   their own listener, over the same use cases.
//! - [`server`]: health, reflection and services on a listener the caller bound.
//! - [`config`] and [`telemetry`]: settings, logging and OTLP export; [`metrics`]: the
//!   Prometheus series every layer records into (a leaf: it knows no other module);
//!   [`request_id`]: the `x-request-id` header both listeners answer (a leaf too).
//! - [`bench`]: the load generator behind `tessera bench` and `scripts/bench.sh`.
//! - [`cli`]: the operator CLI (`tessera role|user|token|client|key|check|login|logout`), a
//!   gRPC client of a running server.

pub mod bench;
pub mod cli;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod proto;
pub mod request_id;
pub mod server;
pub mod store;
pub mod telemetry;
