//! `tessera health`: the gRPC health check, for probes and scripts (what grpc_health_probe
//! does, over TLS and mutual TLS too): exit 0 when SERVING, 1 when not.

use std::process::ExitCode;

use clap::Args;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::connect::{ClientArgs, Conn};
use super::error::{CliResult, EXIT_DENIED};
use super::output::{self, object};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  tessera health --service tessera.v1.TokenService\n  tessera health --server https://127.0.0.1:50051 --ca-file /etc/tessera/tls/ca.crt --tls-server-name tessera"
)]
pub struct HealthArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    /// The service to ask about; empty: the server as a whole.
    #[arg(long, default_value = "")]
    pub service: String,
}

pub async fn run(args: HealthArgs) -> CliResult<ExitCode> {
    let conn = Conn::anonymous(&args.conn).await?;
    let status = HealthClient::new(conn.channel())
        .check(HealthCheckRequest {
            service: args.service,
        })
        .await?
        .into_inner()
        .status();
    let v = object(vec![("status", status.as_str_name().into())]);
    output::one(conn.output, &[("STATUS", "status")], &v);
    Ok(match status {
        ServingStatus::Serving => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_DENIED),
    })
}
