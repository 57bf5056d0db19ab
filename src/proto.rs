//! Generated protobuf and gRPC code for `tessera.v1`, and the descriptor set for reflection.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// `tessera.v1`: the wire contract callers depend on.
pub mod v1 {
    tonic::include_proto!("tessera.v1");
}

/// The encoded `FileDescriptorSet` of every tessera proto file (and its imports),
/// served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tessera_descriptor");
