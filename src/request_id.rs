//! The `x-request-id` header, as both listeners read and answer it (the gRPC layer in
//! `grpc::caller_first`, the HTTP endpoints in `http`). A leaf: it knows no other module.
//! The id itself is chosen in `domain::audit::RequestContext`.

use tonic::codegen::http::HeaderValue;

/// The header a caller may set to tie tessera's audit events to its own logs; answered on
/// every call, with the id generated when the caller sent none.
pub const REQUEST_ID: &str = "x-request-id";

/// The request id as a response header. Marked sensitive, not because it is secret but so
/// that HPACK never indexes it: every answer carries a new id, and indexing each one would
/// churn the connection's header table and evict the entries every answer reuses
/// (`content-type`, `grpc-status`), making each answer's headers larger.
pub fn request_id_header(id: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(id).ok()?;
    value.set_sensitive(true);
    Some(value)
}
