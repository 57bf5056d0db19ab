//! The users the issue scenario mints for: many, so that each stays far below
//! `--max-tokens-per-user` through a whole run and Issue is measured with the quota in
//! force, counting a realistic number of active tokens per user.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use super::BenchError;
use super::scenarios::request;
use crate::proto::v1 as pb;
use crate::proto::v1::admin_service_client::AdminServiceClient;

/// Users the issue scenario spreads over.
pub const ISSUE_SUBJECTS: usize = 256;

/// Creates [`ISSUE_SUBJECTS`] users holding `role`, named `<prefix>-<n>`; their ids.
pub async fn issue_subjects(
    channel: Channel,
    auth: &MetadataValue<Ascii>,
    role: &str,
    prefix: &str,
) -> Result<Vec<String>, BenchError> {
    let mut admin = AdminServiceClient::new(channel);
    let mut ids = Vec::with_capacity(ISSUE_SUBJECTS);
    for n in 0..ISSUE_SUBJECTS {
        let user = admin
            .create_user(request(
                auth,
                pb::CreateUserRequest {
                    name: format!("{prefix}-{n}"),
                    roles: vec![role.to_owned()],
                },
            ))
            .await?
            .into_inner();
        ids.push(user.id);
    }
    Ok(ids)
}
